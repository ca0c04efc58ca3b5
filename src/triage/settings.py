"""``triage.yaml``: site settings as frozen dataclasses.

Every key has a default, so a site may have no file at all. Problems name ``file:line``
like flow problems do, because editors and operators edit this file too.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass, field, replace
from datetime import date, time
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from triage.problems import Problem, did_you_mean
from triage.yamlmarks import MarkedDict, line_of, read_yaml

SETTINGS_FILE = "triage.yaml"
DEMO_SENDER_KEY = "0123456789abcdef0123456789abcdef01234567"
DEMO_AGENT_TOKENS = frozenset({"demo-token-kim-2f8c1e9a", "demo-token-lee-7b3d5a10", "demo-token-park-c41e9b72"})
"""The agent tokens of the shipped triage.yaml, printed in the README: anyone can read them."""

DAY_NAMES = {
    "mon": (0,), "tue": (1,), "wed": (2,), "thu": (3,), "fri": (4,), "sat": (5,), "sun": (6,),
    "monday": (0,), "tuesday": (1,), "wednesday": (2,), "thursday": (3,), "friday": (4,),
    "saturday": (5,), "sunday": (6,), "weekdays": (0, 1, 2, 3, 4), "weekend": (5, 6),
    "daily": (0, 1, 2, 3, 4, 5, 6),
}
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class Channel:
    name: str = "고객센터"
    sender_key: str = DEMO_SENDER_KEY


@dataclass(frozen=True)
class Paths:
    flows: str = "flows"
    faq: str = "faq"
    tests: str = "tests/conversations"


@dataclass(frozen=True)
class Privacy:
    notice: str | None = None
    retention_days: int = 365
    mask_transcripts: bool = False


@dataclass(frozen=True)
class QueueSettings:
    name: str
    hours: Mapping[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    """Weekday (Mon=0) -> open spans; an empty mapping means always open."""
    holidays: str = "kr"
    closed_days: tuple[date, ...] = ()
    skills: tuple[str, ...] = ()
    max_wait: int = 30
    messages: Mapping[str, str] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class FaqSettings:
    answer: float = 82.0
    suggest: float = 62.0
    margin: float = 4.0


KAKAO_SESSION_SECONDS = 30 * 86400
"""A 상담톡 session lives 30 days after the customer's last message (spec §5)."""


@dataclass(frozen=True)
class KakaoSettings:
    base_url: str = "http://127.0.0.1:8090"
    headers: Mapping[str, str] = field(default_factory=dict)
    paths: Mapping[str, str] = field(default_factory=lambda: dict(KAKAO_PATHS))
    timeout: float = 5.0
    retry_for: float = float(KAKAO_SESSION_SECONDS)
    """Seconds an outbound call keeps being retried: a 상담톡 session lives 30 days (spec §5), and once
    Kakao answers again for a session that has ended, "no session" closes the conversation."""


KAKAO_KEYS = ("base_url", "headers", "paths", "timeout", "retry_for")
RETIRED_KAKAO_KEYS = {
    "max_attempts": 'replies are now retried for "retry_for" seconds (default 30 days) instead of a number '
                    'of attempts, so an outage delays them and never drops them; remove "max_attempts"',
}


KAKAO_PATHS = {
    "write": "/v1/chat/write",
    "end": "/v1/chat/end",
    "end_with_bot": "/kakaoWebhook/v3/bzc/chat/endWithBot",
    "block": "/v1/profile/user/block",
    "image_upload": "/v1/image/upload",
    "file_upload": "/v1/file/upload",
}


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    secret_header: str | None = None
    secret: str | None = None
    allow_ips: tuple[str, ...] = ()
    max_body: int = 64 * 1024
    path_prefix: str = ""
    """A secret path the webhooks live under: Kakao sends no auth header (spec §2.1), so the path
    and ``allow_ips`` are what keep strangers out."""
    trusted_proxies: tuple[str, ...] = ()
    """Networks of the TLS-terminating proxies in front, whose X-Forwarded-For is believed."""


BOT_END_PLACEHOLDER = "{bot_end}"


@dataclass(frozen=True)
class Timers:
    """Inactivity timers in seconds while the bot owns a session (0 = off)."""

    bot_warn: int = 0
    bot_end: int = 0
    bot_warn_text: str = f"{BOT_END_PLACEHOLDER} 뒤 상담이 종료돼요. 계속하시려면 아무 말이나 입력해 주세요."
    bot_end_text: str = "응답이 없어 상담을 종료할게요. 다시 필요하시면 언제든 말씀해 주세요."

    @property
    def warning(self) -> str:
        """The warning as sent. The time left comes from ``bot_end`` itself, so a text using the
        placeholder (the default does) cannot promise three minutes when the end comes after one."""
        return self.bot_warn_text.replace(BOT_END_PLACEHOLDER, korean_duration(self.bot_end))


def korean_duration(seconds: int) -> str:
    """How a customer says a wait: 60 is "1분", 90 "1분 30초". With no end set, "잠시"
    keeps "잠시 뒤 상담이 종료돼요" true without naming a time nothing enforces."""
    if seconds <= 0:
        return "잠시"
    hours, rest = divmod(seconds, 3600)
    minutes, rest = divmod(rest, 60)
    return " ".join(f"{n}{unit}" for n, unit in ((hours, "시간"), (minutes, "분"), (rest, "초")) if n)


@dataclass(frozen=True)
class Settings:
    root: Path = Path(".")
    file: str = SETTINGS_FILE
    channel: Channel = Channel()
    timezone: str = "Asia/Seoul"
    entry_flow: str = "main"
    paths: Paths = Paths()
    privacy: Privacy = Privacy()
    queues: Mapping[str, QueueSettings] = field(default_factory=dict)
    faq: FaqSettings = FaqSettings()
    kakao: KakaoSettings = KakaoSettings()
    server: ServerSettings = ServerSettings()
    storage_path: str = "triage.db"
    timers: Timers = Timers()
    raw: Mapping[str, Any] = field(default_factory=dict)
    """The whole parsed file, for sections other modules read themselves (api, webhooks)."""
    readable: bool = True
    """False when triage.yaml exists but could not be parsed: every value above is then a default,
    not what the editor wrote, and checks that compare the site with it would mislead."""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def path(self, name: str) -> Path:
        return self.root / getattr(self.paths, name)


SECTIONS = ("channel", "timezone", "entry_flow", "paths", "privacy", "queues", "faq", "kakao",
            "server", "storage", "timers", "api", "agents", "webhooks", "handoff")


class _Reader:
    """Reads one section with defaults, collecting problems instead of raising."""

    def __init__(self, path: str):
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, container: Any, key: Any, message: str) -> None:
        self.problems.append(Problem(self.path, line_of(container, key), message))

    def section(self, data: Mapping, key: str, allowed: tuple[str, ...]) -> Mapping:
        value = data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(data, key, f'"{key}" must be a mapping')
            return {}
        for name in value:
            if name not in allowed:
                self.problem(value, name, f'unknown key "{name}" in {key}{did_you_mean(str(name), allowed)}')
        return value

    def get(self, data: Mapping, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        value = data.get(key, default)
        if value is None:
            return default
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.problem(data, key, f'"{key}" must be a {_KIND_WORDS.get(names, names)}')
            return default
        return value

    def number(self, data: Mapping, key: str, kind: type, default: float, bounds: Bounds) -> Any:
        """A number outside its range keeps the default, so the rest of the file is still checked
        against settings the server could run with."""
        value = self.get(data, key, kind, default)
        if value not in bounds:
            self.problem(data, key, f'"{key}" must be a {_KIND_WORDS[kind.__name__]}{bounds.unit}{bounds.words}')
            return default
        return value


_KIND_WORDS = {"str": "text", "int": "whole number", "float": "number", "bool": "true/false", "list": "list"}


@dataclass(frozen=True)
class Bounds:
    """The values a numeric setting may take. Each is checked when the file is read: an out-of-range
    value passed on would surface only later, as a wrapped port or every webhook refused."""

    low: float
    high: float | None = None
    above: bool = False
    """The low end itself is excluded (a timeout of 0 means no call can succeed)."""
    unit: str = ""
    note: str = ""

    def __contains__(self, value: float) -> bool:
        """Never infinite: YAML reads ``.inf`` as a number, and no wait or size is endless."""
        return (math.isfinite(value) and (value > self.low if self.above else value >= self.low)
                and (self.high is None or value <= self.high))

    @property
    def words(self) -> str:
        if self.above:
            return f" above {self.low:g}{self.note}"
        if self.high is None:
            return f", {self.low:g} or more{self.note}"
        return f" from {self.low:g} to {self.high:g}{self.note}"


PORT = Bounds(1, 65535)
MAX_BODY_FLOOR = 8 * 1024
"""A webhook carries up to 1,000 characters of text, 6 bytes each when JSON-escaped, plus its ids."""
MAX_BODY = Bounds(MAX_BODY_FLOOR, unit=" of bytes", note=" (8 KB: room for a 1,000-character message)")
SECONDS = Bounds(0, above=True, unit=" of seconds")
TIMER = Bounds(0, unit=" of seconds", note=" (0 = off)")
DAYS = Bounds(0, unit=" of days", note=" (0 = keep everything)")
MINUTES = Bounds(0, unit=" of minutes")
SCORE = Bounds(0, 100)


def parse_hours(spec: Any) -> tuple[tuple[time, time], ...] | None:
    """``"09:00-18:00"``, ``"09:00-12:00, 13:00-18:00"`` or ``closed``; None when malformed."""
    if spec is False or (isinstance(spec, str) and spec.strip().lower() in ("closed", "휴무")):
        return ()
    if not isinstance(spec, str):
        return None
    spans = []
    for part in spec.split(","):
        m = _SPAN.match(part)
        if not m:
            return None
        h1, m1, h2, m2 = map(int, m.groups())
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
            return None
        end = time(23, 59, 59) if h2 == 24 else time(h2, m2)
        spans.append((time(min(h1, 23), m1), end))
    return tuple(spans)


def _hours(r: _Reader, spec: Mapping) -> dict[int, tuple[tuple[time, time], ...]]:
    """Weekday -> spans; days a queue lists nothing for are closed, no hours at all is always open."""
    hours_spec = spec.get("hours")
    if hours_spec is None:
        return {}
    if not isinstance(hours_spec, dict):
        r.problem(spec, "hours", '"hours" must map days to times, like weekdays: "09:00-18:00"')
        return {}
    hours: dict[int, tuple[tuple[time, time], ...]] = {}
    for day, value in hours_spec.items():
        days = DAY_NAMES.get(str(day).lower())
        spans = parse_hours(value)
        if days is None:
            r.problem(hours_spec, day, f'unknown day "{day}"{did_you_mean(str(day), DAY_NAMES)}')
        elif spans is None:
            r.problem(hours_spec, day, f'hours "{value}" must look like "09:00-18:00" or "closed"')
        else:
            hours.update({d: spans for d in days})
    return {d: hours.get(d, ()) for d in range(7)} if hours_spec else {}


def _closed_days(r: _Reader, spec: Mapping) -> tuple[date, ...]:
    raw = spec.get("closed_days")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        r.problem(spec, "closed_days", '"closed_days" must be a list of dates like ["2026-12-31"]')
        return ()
    closed = []
    for i, day in enumerate(raw):
        try:
            closed.append(day if isinstance(day, date) else date.fromisoformat(str(day)))
        except ValueError:
            r.problem(raw, i, f'closed day "{day}" must be a date like 2026-12-31')
    return tuple(closed)


def _skills(r: _Reader, spec: Mapping) -> tuple[str, ...]:
    raw = spec.get("skills")
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    if not isinstance(raw, list) or not all(isinstance(s, (str, int)) for s in raw):
        r.problem(spec, "skills", '"skills" must be a list of words like [주문, 배송]')
        return ()
    return tuple(str(s) for s in raw)


def _queues(r: _Reader, data: Mapping) -> dict[str, QueueSettings]:
    raw = data.get("queues") or {}
    if not isinstance(raw, dict):
        r.problem(data, "queues", '"queues" must be a mapping of queue names')
        return {}
    allowed = ("hours", "holidays", "closed_days", "skills", "max_wait", "messages", "label")
    queues = {}
    for name, spec in raw.items():
        spec = r.section(raw, name, allowed)
        holidays = str(spec.get("holidays", "kr")).lower()
        if holidays not in ("kr", "none"):
            r.problem(spec, "holidays", 'holidays must be "kr" or "none"')
        messages = spec.get("messages") or {}
        queues[str(name)] = QueueSettings(
            name=str(name), hours=_hours(r, spec), holidays=holidays, closed_days=_closed_days(r, spec),
            skills=_skills(r, spec), max_wait=r.number(spec, "max_wait", int, 30, MINUTES),
            messages={str(k): str(v) for k, v in messages.items()} if isinstance(messages, dict) else {},
            line=line_of(raw, name),
        )
    return queues


def _kakao(r: _Reader, data: Mapping) -> KakaoSettings:
    """A retired key is an error naming its replacement: ignoring it would quietly change behaviour."""
    kk = r.section(data, "kakao", KAKAO_KEYS + tuple(RETIRED_KAKAO_KEYS))
    for key in RETIRED_KAKAO_KEYS.keys() & kk.keys():
        r.problem(kk, key, f'"{key}" is no longer a setting: {RETIRED_KAKAO_KEYS[key]}')
    paths = dict(KAKAO_PATHS)
    paths.update({str(k): str(v) for k, v in (r.get(kk, "paths", dict, {})).items()})
    return KakaoSettings(_base_url(r, kk), {str(k): str(v) for k, v in r.get(kk, "headers", dict, {}).items()},
                         paths, r.number(kk, "timeout", float, KakaoSettings.timeout, SECONDS),
                         r.number(kk, "retry_for", float, KakaoSettings.retry_for, SECONDS))


def _base_url(r: _Reader, spec: Mapping) -> str:
    """Checked here because a URL without a scheme fails only later, as every reply's "connection failed"."""
    url = r.get(spec, "base_url", str, KakaoSettings.base_url)
    problem = _url_problem(url)
    if problem is None:
        return url
    hint = f' (did you mean "http://{url}"?)' if "://" not in url and _url_problem(f"http://{url}") is None else ""
    r.problem(spec, "base_url", f'"base_url" {problem}{hint}')
    return KakaoSettings.base_url


def _url_problem(url: str) -> str | None:
    """What keeps ``url`` from being a base the API paths can be appended to, or None."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return "has a port outside 1-65535"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute http:// or https:// address like http://127.0.0.1:8090"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return "must not have a ?query or #fragment: the API paths are appended to it"
    return None


def _faq(r: _Reader, data: Mapping) -> FaqSettings:
    """A suggest band above the answer band would hide the questions the bot is surest of."""
    fq = r.section(data, "faq", ("answer", "suggest", "margin"))
    default = FaqSettings()
    answer = r.number(fq, "answer", float, default.answer, SCORE)
    suggest = r.number(fq, "suggest", float, default.suggest, SCORE)
    if suggest > answer:
        r.problem(fq, "suggest", f'"suggest" ({suggest:g}) must not be above "answer" ({answer:g})')
        answer, suggest = default.answer, default.suggest
    return FaqSettings(answer, suggest, r.number(fq, "margin", float, default.margin, SCORE))


_PATH_PREFIX = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")


def _path_prefix(r: _Reader, spec: Mapping) -> str:
    prefix = r.get(spec, "path_prefix", str, "")
    if prefix and not _PATH_PREFIX.match(prefix):
        r.problem(spec, "path_prefix", '"path_prefix" must start with "/", not end with one, and use only '
                                       'letters, digits and - . _ ~, like /hooks/9f2c4e1a')
        return ""
    return prefix


def _networks(r: _Reader, spec: Mapping, key: str) -> tuple[str, ...]:
    """Checked here so a typo is a settings problem with a line number, not a failed start."""
    networks = []
    for i, value in enumerate(r.get(spec, key, list, [])):
        try:
            networks.append(str(ipaddress.ip_network(str(value), strict=False)))
        except ValueError:
            r.problem(spec[key], i, f'"{value}" in {key} is not an IP address or network like 10.1.2.0/24')
    return tuple(networks)


def parse_settings(data: Any, root: Path, path: str) -> tuple[Settings, list[Problem]]:
    r = _Reader(path)
    if data is None:
        data = MarkedDict()
    if not isinstance(data, dict):
        return Settings(root=root, file=path), [Problem(path, 1, "triage.yaml must be a mapping of settings")]
    for key in data:
        if key not in SECTIONS:
            r.problem(data, key, f'unknown setting "{key}"{did_you_mean(str(key), SECTIONS)}')
    ch = r.section(data, "channel", ("name", "sender_key"))
    paths = r.section(data, "paths", ("flows", "faq", "tests"))
    pv = r.section(data, "privacy", ("notice", "retention_days", "mask_transcripts"))
    sv = r.section(data, "server", ("host", "port", "secret_header", "secret", "allow_ips", "max_body",
                                    "path_prefix", "trusted_proxies"))
    st = r.section(data, "storage", ("path",))
    tm = r.section(data, "timers", ("bot_warn", "bot_end", "bot_warn_text", "bot_end_text"))
    timezone = r.get(data, "timezone", str, "Asia/Seoul")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        r.problem(data, "timezone", f'unknown time zone "{timezone}"')
        timezone = "Asia/Seoul"
    settings = Settings(
        root=root,
        file=path,
        channel=Channel(r.get(ch, "name", str, Channel.name), str(r.get(ch, "sender_key", (str, int), DEMO_SENDER_KEY))),
        timezone=timezone,
        entry_flow=r.get(data, "entry_flow", str, "main"),
        paths=Paths(r.get(paths, "flows", str, "flows"), r.get(paths, "faq", str, "faq"),
                    r.get(paths, "tests", str, "tests/conversations")),
        privacy=Privacy(r.get(pv, "notice", str, None), r.number(pv, "retention_days", int, 365, DAYS),
                        r.get(pv, "mask_transcripts", bool, False)),
        queues=_queues(r, data),
        faq=_faq(r, data),
        kakao=_kakao(r, data),
        server=ServerSettings(r.get(sv, "host", str, "127.0.0.1"), r.number(sv, "port", int, 8080, PORT),
                              r.get(sv, "secret_header", str, None), r.get(sv, "secret", str, None),
                              _networks(r, sv, "allow_ips"), r.number(sv, "max_body", int, 64 * 1024, MAX_BODY),
                              _path_prefix(r, sv), _networks(r, sv, "trusted_proxies")),
        storage_path=r.get(st, "path", str, "triage.db"),
        timers=Timers(r.number(tm, "bot_warn", int, 0, TIMER), r.number(tm, "bot_end", int, 0, TIMER),
                      r.get(tm, "bot_warn_text", str, Timers.bot_warn_text),
                      r.get(tm, "bot_end_text", str, Timers.bot_end_text)),
        raw=data,
    )
    return settings, r.problems


def sender_key_warnings(settings: Settings) -> list[Problem]:
    """The example key, written or defaulted, is a warning rather than an error: the demo, the simulator
    and the shipped example use it. Kakao refuses it for a real channel, which shows only as every
    reply failing once customers arrive."""
    if settings.channel.sender_key != DEMO_SENDER_KEY:
        return []
    channel = settings.raw.get("channel")
    if isinstance(channel, dict) and "sender_key" in channel:
        return [Problem(settings.file, line_of(channel, "sender_key"), "channel.sender_key is the example key, "
                        "which Kakao refuses for a real channel: set your channel's own", "warning")]
    return [Problem(settings.file, line_of(settings.raw, "channel"), "channel.sender_key is missing, so the "
                    "example key is used, which Kakao refuses for a real channel: set your channel's own", "warning")]


def demo_token_warnings(settings: Settings) -> list[Problem]:
    """Like the example key, a demo token is fine on this machine. Unlike it, nothing refuses one
    elsewhere: whoever read the README could work the desk, as the supervisor too."""
    agents = settings.raw.get("agents")
    if not isinstance(agents, dict):
        return []
    return [Problem(settings.file, line_of(agent, "token"), f"agents.{name}.token is a demo token published in the "
                    "README, so anyone could use the agent API with it: set a long random one", "warning")
            for name, agent in agents.items() if isinstance(agent, dict) and agent.get("token") in DEMO_AGENT_TOKENS]


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine, where only a simulator answers to the example key."""
    host = urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(root: Path) -> tuple[Settings, list[Problem]]:
    """Read ``root/triage.yaml``; a missing file means every default."""
    file = root / SETTINGS_FILE
    if not file.exists():
        return Settings(root=root, file=str(file)), []
    data, problems = read_yaml(file)
    settings, more = parse_settings(data if not problems else None, root, str(file))
    return (replace(settings, readable=False) if problems else settings), problems + more
