"""Engine actions rendered as 상담톡 calls: pure, so the outbox stores exactly what will be sent.

A bubble is a write body without its addressing (``message_type`` and content); ``address``
gives each bubble a user, a channel and a fresh serial. Agent messages reuse the same bubble
functions, so a bot menu and an agent's menu look alike to the customer.

Choices the protocol leaves open:

- Menus longer than a bubble allows (10 quick replies, 5 links) are split into balanced groups
  (15 buttons -> 8 + 7, not 10 + 5); the text goes on the first bubble and ``MORE_TEXT`` on
  the rest. Quick replies ride on the last link bubble, where the customer's eye ends.
- ``IM`` accepts only images already on Kakao's media hosts (spec §4.1). Uploading needs I/O
  the renderer must not do, so an image file from the content root (a value without a scheme,
  ``images/size-guide.png``) becomes an ``IM`` naming it in ``image_file``, which delivery
  uploads and swaps for ``image_url`` (``media.py``); any other image URL becomes a link
  bubble that opens it: the customer can still see the picture, and the write never fails on
  a foreign URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Collection, Sequence, TypeVar
from urllib.parse import urlsplit

from triage.flows.session import Action, EndSession, LinkOut, SendButtons, SendImage, SendLinks, SendText
from triage.flows.textsplit import split_text
from triage.kakao import protocol
from triage.kakao.protocol import LINKS_MAX, QUICK_REPLIES_MAX, TEXT_MAX
from triage.settings import KakaoSettings

MORE_TEXT = "더 보기"
CHOOSE_TEXT = "아래에서 선택해 주세요."
IMAGE_TEXT = "이미지를 눌러 확인해 주세요."
IMAGE_LABEL = "이미지 보기"
KAKAO_MEDIA_HOSTS = ("kakao.com", "kakaocdn.net")
"""Hosts (and their subdomains) whose images ``IM`` may carry, e.g. dn-m.talk.kakao.com."""
IMAGE_FILE = "image_file"
"""The key of an ``IM`` bubble that names a content-root file instead of carrying its URL."""

Bubble = dict[str, Any]
T = TypeVar("T")


@dataclass(frozen=True)
class OutboundCall:
    kind: str  # write | end | end_with_bot | block: a key of settings.KAKAO_PATHS
    body: dict


@dataclass(frozen=True)
class _LinkMenu:
    """Links followed by a text-less button row: one bubble, as the editor saw it."""

    text: str
    links: tuple[LinkOut, ...]
    labels: tuple[str, ...]


def render_actions(actions: Sequence[Action], user_key: str, sender_key: str, serials: Callable[[], str],
                   media_hosts: Collection[str] = KAKAO_MEDIA_HOSTS) -> list[OutboundCall]:
    calls: list[OutboundCall] = []
    for item in _merge_menus(actions):
        if isinstance(item, EndSession):
            calls.append(end_call(user_key, sender_key))
        else:
            calls += address(_bubbles(item, media_hosts), user_key, sender_key, serials)
    return calls


def _merge_menus(actions: Sequence[Action]) -> list[Action | _LinkMenu]:
    merged: list[Action | _LinkMenu] = []
    for action in actions:
        previous = merged[-1] if merged else None
        if isinstance(action, SendButtons) and not action.text.strip() and isinstance(previous, SendLinks):
            merged[-1] = _LinkMenu(previous.text, previous.links, action.labels)
        else:
            merged.append(action)
    return merged


def _bubbles(item: Action | _LinkMenu, media_hosts: Collection[str]) -> list[Bubble]:
    """Only sending actions make bubbles; handoff, category, tags and records stay inside."""
    if isinstance(item, SendText):
        return text_bubbles(item.text)
    if isinstance(item, SendButtons):
        return menu_bubbles(item.text, labels=item.labels)
    if isinstance(item, SendLinks):
        return menu_bubbles(item.text, links=item.links)
    if isinstance(item, _LinkMenu):
        return menu_bubbles(item.text, item.links, item.labels)
    if isinstance(item, SendImage):
        return image_bubbles(item.url, media_hosts)
    return []


def text_bubbles(text: str) -> list[Bubble]:
    return [protocol.tx(chunk) for chunk in split_text(text, TEXT_MAX)]


def menu_bubbles(text: str, links: Sequence[LinkOut] = (), labels: Sequence[str] = ()) -> list[Bubble]:
    """Leading text over 1,000 characters goes first as TX bubbles; the menu follows the last part."""
    chunks = split_text(text, TEXT_MAX) or [CHOOSE_TEXT]
    link_groups = balanced(links, LINKS_MAX) or [[]]
    reply_groups = balanced(labels, QUICK_REPLIES_MAX) or [[]]
    rows = ([(group, []) for group in link_groups[:-1]] + [(link_groups[-1], reply_groups[0])]
            + [([], group) for group in reply_groups[1:]])
    texts = [chunks[-1]] + [MORE_TEXT] * (len(rows) - 1)
    return [protocol.tx(chunk) for chunk in chunks[:-1]] + [
        protocol.li(message, [protocol.web_link(link.label, link.url) for link in row_links],
                    [protocol.quick_reply(label) for label in row_labels])
        for message, (row_links, row_labels) in zip(texts, rows)
    ]


def image_bubbles(url: str, media_hosts: Collection[str] = KAKAO_MEDIA_HOSTS) -> list[Bubble]:
    if is_local_image(url):
        return [{"message_type": "IM", IMAGE_FILE: url}]
    if is_kakao_hosted(url, media_hosts):
        return [protocol.im(url)]
    return [protocol.li(IMAGE_TEXT, [protocol.web_link(IMAGE_LABEL, url)])]


def is_local_image(image: str) -> bool:
    """Without a scheme, an image is a file in the content root; ``triage validate`` has checked it."""
    return not urlsplit(image).scheme


def is_kakao_hosted(url: str, media_hosts: Collection[str] = KAKAO_MEDIA_HOSTS) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in media_hosts)


def media_hosts_for(settings: KakaoSettings) -> tuple[str, ...]:
    """Kakao's media hosts plus the relay's own, which is where the simulator keeps uploads."""
    own = urlsplit(settings.base_url).hostname
    return KAKAO_MEDIA_HOSTS + ((own,) if own else ())


def balanced(items: Sequence[T], limit: int) -> list[list[T]]:
    """As few groups as the limit allows, sizes differing by at most one, earlier ones larger."""
    count = -(-len(items) // limit)
    size, extra = divmod(len(items), count) if count else (0, 0)
    groups, start = [], 0
    for index in range(count):
        end = start + size + (index < extra)
        groups.append(list(items[start:end]))
        start = end
    return groups


def address(bubbles: Sequence[Bubble], user_key: str, sender_key: str,
            serials: Callable[[], str]) -> list[OutboundCall]:
    return [OutboundCall("write", protocol.write_body(user_key, sender_key, serials(), bubble)) for bubble in bubbles]


def end_call(user_key: str, sender_key: str) -> OutboundCall:
    return OutboundCall("end", protocol.end_body(user_key, sender_key))


def end_with_bot_call(user_key: str, sender_key: str, bot_event: str = "") -> OutboundCall:
    return OutboundCall("end_with_bot", protocol.end_with_bot_body(user_key, sender_key, bot_event))


def block_call(user_key: str, sender_key: str) -> OutboundCall:
    return OutboundCall("block", protocol.end_body(user_key, sender_key))
