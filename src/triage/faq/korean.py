"""Korean text normalisation for FAQ matching: stdlib only, pure functions.

Korean users type without spaces, swap particles and endings, make typos inside a syllable,
type only initial consonants, or forget to switch the keyboard from English. Each function
here undoes one of those habits so the matcher compares what the user meant, not what the
keyboard produced.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Mapping, Sequence

_SYLLABLE_BASE = 0xAC00
_SYLLABLE_LAST = 0xD7A3
_FINALS_PER_INITIAL = 588
_FINALS = 28

INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
MEDIALS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
FINALS = ("", "ㄱ", "ㄲ", "ㄳ", "ㄴ", "ㄵ", "ㄶ", "ㄷ", "ㄹ", "ㄺ", "ㄻ", "ㄼ", "ㄽ", "ㄾ", "ㄿ", "ㅀ", "ㅁ",
          "ㅂ", "ㅄ", "ㅅ", "ㅆ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ")

COMPOUNDS = {
    "ㅘ": "ㅗㅏ", "ㅙ": "ㅗㅐ", "ㅚ": "ㅗㅣ", "ㅝ": "ㅜㅓ", "ㅞ": "ㅜㅔ", "ㅟ": "ㅜㅣ", "ㅢ": "ㅡㅣ",
    "ㄳ": "ㄱㅅ", "ㄵ": "ㄴㅈ", "ㄶ": "ㄴㅎ", "ㄺ": "ㄹㄱ", "ㄻ": "ㄹㅁ", "ㄼ": "ㄹㅂ", "ㄽ": "ㄹㅅ",
    "ㄾ": "ㄹㅌ", "ㄿ": "ㄹㅍ", "ㅀ": "ㄹㅎ", "ㅄ": "ㅂㅅ",
}
"""Compound jamo as the two keys a 두벌식 typist presses for them."""
_JOIN = {parts: whole for whole, parts in COMPOUNDS.items()}

KEYS = {
    "q": "ㅂ", "w": "ㅈ", "e": "ㄷ", "r": "ㄱ", "t": "ㅅ", "y": "ㅛ", "u": "ㅕ", "i": "ㅑ", "o": "ㅐ", "p": "ㅔ",
    "a": "ㅁ", "s": "ㄴ", "d": "ㅇ", "f": "ㄹ", "g": "ㅎ", "h": "ㅗ", "j": "ㅓ", "k": "ㅏ", "l": "ㅣ",
    "z": "ㅋ", "x": "ㅌ", "c": "ㅊ", "v": "ㅍ", "b": "ㅠ", "n": "ㅜ", "m": "ㅡ",
    "Q": "ㅃ", "W": "ㅉ", "E": "ㄸ", "R": "ㄲ", "T": "ㅆ", "O": "ㅒ", "P": "ㅖ",
}
"""The 두벌식 layout: Latin key -> compatibility jamo (shifted keys where they differ)."""
_KEY_OF = {jamo: key for key, jamo in KEYS.items()}
_CONSONANTS = frozenset(INITIALS) | frozenset(f for f in FINALS if f)
_VOWELS = frozenset(MEDIALS)

PARTICLES = ("에서는", "으로는", "이랑", "에서", "으로", "까지", "부터", "한테", "에게", "이나", "은", "는", "이",
             "가", "을", "를", "에", "로", "도", "만", "의", "와", "과", "랑", "나", "쯤")
ENDINGS = ("인가요", "하나요", "는데요", "었나요", "았나요", "했나요", "되나요", "되나여", "주세요", "할까요", "될까요",
           "이에요", "인데요", "입니다", "합니다", "습니다", "나요", "네요", "까요", "예요", "에요", "해요", "돼요", "되요",
           "가요", "어요", "아요", "이요", "죠", "요")
"""Question and politeness endings, longest first so 하나요 wins over 나요."""
_MIN_STEM = 2
_ENDING = re.compile(f"(?:{'|'.join(ENDINGS)})$")
_PARTICLE = re.compile(f"(?:{'|'.join(PARTICLES)})$")
_LONG_PARTICLE = re.compile(f"(?:{'|'.join(p for p in PARTICLES if len(p) > 1)})$")
"""Two-syllable particles are safe to cut after a one-syllable noun (앱에서 -> 앱); 포도 keeps its 도."""

_CONJOINING = str.maketrans(
    {**{0x1100 + i: c for i, c in enumerate(INITIALS)}, **{0x1161 + i: c for i, c in enumerate(MEDIALS)},
     **{0x11A7 + i: c for i, c in enumerate(FINALS) if c}}
)
"""NFKC turns compatibility jamo (ㅂ) into conjoining jamo (ᄇ); this turns them back."""
_PUNCTUATION = re.compile(r"[^\w\s\u3131-\u318e]|_", re.UNICODE)
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1 << 12)
def fold(text: str) -> str:
    """NFKC, case and punctuation folding: full-width letters, 'ＡＢＣ' and '？！' stop mattering."""
    text = unicodedata.normalize("NFKC", text).translate(_CONJOINING).casefold()
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text)).strip()


def compact(text: str) -> str:
    """The folded text without spaces, since Korean users space freely or not at all."""
    return fold(text).replace(" ", "")


def is_syllable(char: str) -> bool:
    return _SYLLABLE_BASE <= ord(char) <= _SYLLABLE_LAST


def _parts(char: str) -> tuple[int, int, int]:
    index = ord(char) - _SYLLABLE_BASE
    return index // _FINALS_PER_INITIAL, index % _FINALS_PER_INITIAL // _FINALS, index % _FINALS


def _syllable(initial: int, medial: int, final: int = 0) -> str:
    return chr(_SYLLABLE_BASE + initial * _FINALS_PER_INITIAL + medial * _FINALS + final)


def _drop_final_rieul(stem: str) -> str:
    """할까요 -> 하: the ㄹ of -ㄹ까요 belongs to the ending, not the stem."""
    if stem and is_syllable(stem[-1]):
        initial, medial, final = _parts(stem[-1])
        if FINALS[final] == "ㄹ":
            return stem[:-1] + _syllable(initial, medial)
    return stem


@lru_cache(maxsize=1 << 16)
def strip_suffixes(word: str) -> str:
    """One word without its trailing ending and particle, keeping stems of two syllables or more.

    Light on purpose: a wrong cut (포도 -> 포) hurts more than a missed one, which the fuzzy
    scorers absorb anyway.
    """
    ending = _ENDING.search(word, 1)
    if ending:
        word = word[: ending.start()]
        if ending.group() == "까요":
            word = _drop_final_rieul(word)
    for _ in range(2):
        particle = _PARTICLE.search(word, _MIN_STEM) or _LONG_PARTICLE.search(word, 1)
        if not particle:
            break
        word = word[: particle.start()]
    return word


def strip_particles(text: str) -> str:
    """The folded text with each word's particle and ending removed."""
    return " ".join(strip_suffixes(word) for word in fold(text).split())


def jamo(text: str) -> str:
    """Compatibility jamo, compounds split into their keys: typo distance counts keystrokes."""
    out = []
    for char in text:
        if is_syllable(char):
            initial, medial, final = _parts(char)
            out.append(INITIALS[initial] + COMPOUNDS.get(MEDIALS[medial], MEDIALS[medial])
                       + COMPOUNDS.get(FINALS[final], FINALS[final]))
        else:
            out.append(COMPOUNDS.get(char, char))
    return "".join(out)


def chosung(text: str) -> str:
    """Initial consonants of each syllable (배송조회 -> ㅂㅅㅈㅎ); other characters are dropped."""
    return "".join(map(_word_initials, fold(text).split()))


@lru_cache(maxsize=1 << 16)
def _word_initials(word: str) -> str:
    return "".join(INITIALS[_parts(c)[0]] if is_syllable(c) else c for c in word if is_syllable(c) or c in _CONSONANTS)


def is_chosung_query(text: str) -> bool:
    """True for queries typed as initial consonants only, like ㅂㅅㅈㅎ (at least two)."""
    letters = compact(text)
    return len(letters) >= 2 and all(c in _CONSONANTS for c in letters)


def to_keyboard(text: str) -> str:
    """Hangul as the Latin keys that type it on a 두벌식 keyboard (배송 -> qothd)."""
    return "".join(_KEY_OF.get(j, j) for j in jamo(text))


def from_keyboard(text: str) -> str:
    """Latin keys typed with the keyboard in English mode, read as 두벌식 Hangul (qothd -> 배송)."""
    return compose("".join(KEYS.get(c, KEYS.get(c.lower(), c)) for c in text))


def is_wrong_keyboard(text: str) -> bool:
    """True when Latin text reads as well-formed Hangul: every vowel follows a consonant.

    English words break that rule almost at once (hello -> ㅗ디ㅣㅐ), so real English is kept.
    """
    letters = compact(text)
    if len(letters) < 2 or not letters.isascii() or not any(c.isalpha() for c in letters):
        return False
    converted = compact(from_keyboard(letters))
    hangul = [c for c in converted if not c.isascii()]
    return bool(hangul) and all(is_syllable(c) for c in hangul)


def compose(jamos: str) -> str:
    """Assemble a stream of compatibility jamo into syllables, as a 두벌식 IME does."""
    out: list[str] = []
    initial = medial = final = ""

    def flush() -> None:
        nonlocal initial, medial, final
        if initial and medial:
            out.append(_syllable(INITIALS.index(initial), MEDIALS.index(medial), FINALS.index(final)))
        else:
            out.append(initial + medial)
        initial = medial = final = ""

    for char in jamos:
        if char in _VOWELS:
            if initial and not medial:
                medial = char
            elif initial and medial and not final and _JOIN.get(medial + char) in _VOWELS:
                medial = _JOIN[medial + char]
            elif initial and medial and final:
                carried = COMPOUNDS.get(final, final)
                final = carried[0] if len(carried) == 2 else ""
                next_initial = carried[-1]
                flush()
                initial, medial = next_initial, char
            else:
                flush()
                medial = char
                flush()
        elif char in _CONSONANTS:
            if initial and medial and not final and char in FINALS:
                final = char
            elif initial and medial and final and _JOIN.get(final + char) in FINALS:
                final = _JOIN[final + char]
            else:
                if initial or medial:
                    flush()
                if char in INITIALS:
                    initial = char
                else:
                    out.append(char)
        else:
            if initial or medial:
                flush()
            out.append(char)
    if initial or medial:
        flush()
    return "".join(out)


SynonymTable = tuple[tuple[str, str], ...]


def synonym_table(synonyms: Mapping[str, Sequence[str]]) -> SynonymTable:
    """Compact (variant, canonical) pairs, longest variant first so 반품금액 wins over 반품."""
    pairs = {(compact(v), compact(c)) for c, vs in synonyms.items() for v in vs if compact(v) and compact(c)}
    return tuple(sorted(pairs, key=lambda pair: (-len(pair[0]), pair)))


def apply_synonyms(text: str, table: SynonymTable) -> str:
    """Rewrite every variant in compact text to its canonical word (택배 -> 배송)."""
    for variant, canonical in table:
        text = text.replace(variant, canonical)
    return text


def canonical(text: str, table: SynonymTable = ()) -> str:
    """The form questions are compared in: folded, particles stripped, no spaces, synonyms applied."""
    return apply_synonyms(strip_particles(text).replace(" ", ""), table)


VERB_TAILS = ("하는거", "했는데", "하는데", "하려고", "하려면", "하려는", "되는데", "됐는데", "하는법", "해주세", "한거", "할거",
              "한지", "해야", "해서", "하고", "할래", "할게", "하는", "하면", "해주", "해줘", "되고", "되는", "되면", "주세",
              "된", "됐", "됨", "되", "돼", "할", "한", "해", "했", "하")
"""What turns a noun into a verb (반품하고, 취소돼, 입금했는데): cut so both forms meet at the noun."""
_VERB_TAIL = re.compile(f"(?:{'|'.join(VERB_TAILS)})$")

FILLERS = frozenset({
    "좀", "혹시", "제가", "저", "저는", "내", "그", "그냥", "진짜", "정말", "너무", "지금", "방금", "자꾸", "계속",
    "어떻게", "어떡", "왜", "이렇게", "얼른", "빨리", "알려", "알려주", "알고", "싶", "궁금", "문의", "질문",
    "가능", "수", "있", "거", "것", "건", "게", "방법", "법", "요", "네", "및", "다", "주", "줘", "드려", "드립",
})
"""Words that pad a question without saying what it is about; dropped on both sides."""


def strip_verb_tail(word: str) -> str:
    """반품하고 -> 반품, 안되 -> 안; a word that is all tail (해, 되는) has nothing left."""
    tail = _VERB_TAIL.search(word)
    return word[: tail.start()] if tail else word


def terms(text: str, table: SynonymTable = ()) -> tuple[str, ...]:
    """The words that say what a question is about: endings, particles, verb tails and filler gone,
    synonyms applied. Word-level matching and weighting work on these."""
    return tuple(term for term in (_term(word, table) for word in fold(text).split()) if term)


@lru_cache(maxsize=1 << 16)
def _term(word: str, table: SynonymTable) -> str:
    """One folded word as a term, or "" for filler; words repeat across phrasings, so once each."""
    word = strip_verb_tail(strip_suffixes(word))
    return apply_synonyms(word, table) if word and word not in FILLERS else ""


def segment(word: str, known: frozenset[str] | set[str]) -> tuple[str, ...]:
    """A run-together word split into known words (배송기간 -> 배송 기간, 출고후취소가능 -> 출고 후 취소).

    Particles and filler between the parts are dropped (배송이언제 -> 배송 언제), but known words are
    preferred to dropped ones (반품수거 -> 반품 수거, not 반품 수 거); a word that does not split
    completely is kept whole, so 로켓배송 stays one unknown word.
    """
    if word in known or len(word) < 4:
        return (word,)
    best: list[tuple[int, tuple[str, ...]] | None] = [None] * (len(word) + 1)
    best[0] = (0, ())
    for end in range(1, len(word) + 1):
        for start in range(end):
            if best[start] is None:
                continue
            dropped, parts = best[start]
            piece = word[start:end]
            if piece in known:
                found = (dropped, parts + (piece,))
            elif parts and (piece in _GAP_PARTICLES or piece in FILLERS):
                found = (dropped + len(piece), parts)
            else:
                continue
            if best[end] is None or (found[0], len(found[1])) < (best[end][0], len(best[end][1])):
                best[end] = found
    return best[-1][1] if best[-1] else (word,)


_GAP_PARTICLES = frozenset(p for p in PARTICLES if len(p) == 1)


NEGATORS = frozenset("안못")
_CONTRACTED = {"돼": "되", "해": "하", "와": "오", "봐": "보", "줘": "주"}
"""Contracted verb syllables (돼요, 해서, 와요) and their plain stems, so tenses of one verb meet."""
_LIGHT_VERBS = frozenset("하되")
"""하다 and 되다, whose forms (했는데, 돼요, 됨) are verbs from their first syllable."""
_VERB_ENDING = re.compile("(?:요|다|고|는데|은데|서|음|네|지|면|게|래|니|냐|죠|[아어와워꿔봐줘져해돼]도)$")
"""How a verb form ends (맞아요, 되고, 받았는데, 바꿔도), which a noun like 안에, 안내 or 안쪽 does not."""
_COPULA = re.compile("(?:인가요|이에요|인데요|입니다|이요|예요|에요|이죠|이다|인데)$")
"""A noun with "is" after it (안쪽이요, 안경인데요) ends like a verb but is not one."""


def negated(text: str) -> frozenset[str]:
    """The verbs the text negates, each as its negator and first stem syllable: 취소가 안 돼요 -> 안되,
    내가 취소 안 했는데 -> 안하, 못 받았어요 -> 못바, 안맞아요 -> 안마.

    Terms keep 안 but lose the verb after it, so "can't cancel" and "didn't cancel" look alike to the
    scorers; the negated verb tells them apart. Only a verb form counts: 며칠 안에, 안내, 안전하게 and
    안쪽 start with 안 but negate nothing, and reading them as negations would stop the bot answering.
    """
    words = fold(text).split()
    heads = set()
    for word, following in zip(words, words[1:] + [""]):
        verb = following if word in NEGATORS else word[1:] if word[0] in NEGATORS and _fused_verb(word[1:]) else ""
        if _verb_form(verb):
            heads.add(word[0] + _stem_syllable(verb[0]))
    return frozenset(heads)


def _verb_form(word: str) -> bool:
    """돼요, 되고, 했는데, 와, 맞아요, 받았는데: a word a negator can apply to."""
    if not word or not is_syllable(word[0]):
        return False
    if _stem_syllable(word[0]) in _LIGHT_VERBS:
        return True
    if len(word) == 1:
        return word in _CONTRACTED
    return word not in PARTICLES and not _COPULA.search(word) and bool(_VERB_ENDING.search(word))


def _fused_verb(rest: str) -> bool:
    """Whether 안 or 못 run into ``rest`` is a negated verb rather than a noun that starts with them:
    안녕하세요, 안전하게, 안심되나요 are 안녕, 안전, 안심 made verbs with 하다 or 되다."""
    return len(rest) < 2 or not is_syllable(rest[1]) or _stem_syllable(rest[1]) not in _LIGHT_VERBS


def _stem_syllable(syllable: str) -> str:
    """한/할/했 -> 하, 됐/된 -> 되, 받 -> 바: the syllable without its final, uncontracted."""
    initial, medial, _ = _parts(syllable)
    bare = _syllable(initial, medial)
    return _CONTRACTED.get(bare, bare)
