"""triage.yaml: defaults, queues and business hours, and problems at file:line."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

from triage.settings import (DEMO_SENDER_KEY, Settings, is_loopback, load_settings, parse_hours, parse_settings,
                             sender_key_warnings)
from triage.yamlmarks import parse_yaml

FIXTURES = Path(__file__).parent / "fixtures"


def parsed(text: str) -> tuple[Settings, list[str]]:
    data, problems = parse_yaml(text, "triage.yaml")
    settings, more = parse_settings(data, Path("."), "triage.yaml")
    return settings, [str(p) for p in problems + more]


def test_a_site_without_triage_yaml_gets_every_default(tmp_path):
    settings, problems = load_settings(tmp_path)
    assert problems == []
    assert settings.channel.name == "고객센터" and settings.timezone == "Asia/Seoul"
    assert settings.queues == {} and settings.path("flows") == tmp_path / "flows"


def test_queue_hours_expand_to_every_weekday_with_unlisted_days_closed():
    settings = load_settings(FIXTURES / "validate_ok")[0]
    general = settings.queues["general"]
    assert general.hours[0] == ((time(9), time(18)),)
    assert general.hours[5] == () and general.hours[6] == ()
    assert general.line == 4


def test_spans_closed_days_and_midnight():
    assert parse_hours("09:00-12:00, 13:00-18:00") == ((time(9), time(12)), (time(13), time(18)))
    assert parse_hours("closed") == () and parse_hours("휴무") == ()
    assert parse_hours("00:00-24:00") == ((time(0), time(23, 59, 59)),)
    assert parse_hours("9시-18시") is None and parse_hours("25:00-26:00") is None


def test_every_mistake_in_triage_yaml_is_reported_on_its_line():
    settings, problems = load_settings(FIXTURES / "broken_settings")
    file = str(FIXTURES / "broken_settings" / "triage.yaml")
    assert sorted((p.line, p.message) for p in problems) == [
        (1, 'unknown setting "chanel" (did you mean "channel"?)'),
        (3, 'unknown time zone "Asia/Busan"'),
        (8, 'unknown day "satday" (did you mean "saturday"?)'),
        (9, 'hours "9시부터" must look like "09:00-18:00" or "closed"'),
        (10, 'closed day "내일" must be a date like 2026-12-31'),
        (11, 'holidays must be "kr" or "none"'),
        (13, '"hours" must map days to times, like weekdays: "09:00-18:00"'),
        (14, '"skills" must be a list of words like [주문, 배송]'),
        (16, '"port" must be a whole number'),
    ]
    assert {p.path for p in problems} == {file}
    assert settings.timezone == "Asia/Seoul" and settings.server.port == 8080
    assert settings.queues["general"].closed_days == (date(2026, 12, 31),)


def test_a_single_skill_may_be_written_without_a_list():
    settings, problems = parsed("queues:\n  general:\n    skills: 주문\n")
    assert problems == [] and settings.queues["general"].skills == ("주문",)


def test_closed_days_written_as_one_string_is_a_problem_not_ten_characters():
    settings, problems = parsed('queues:\n  general:\n    closed_days: "2026-12-31"\n')
    assert problems == ['triage.yaml:3: "closed_days" must be a list of dates like ["2026-12-31"]']
    assert settings.queues["general"].closed_days == ()


def test_settings_that_are_not_a_mapping_are_one_problem():
    settings, problems = parsed("- channel\n- queues\n")
    assert problems == ["triage.yaml:1: triage.yaml must be a mapping of settings"]
    assert settings.queues == {}


def test_the_webhooks_may_live_under_a_secret_path_behind_trusted_proxies():
    settings, problems = parsed("server:\n  path_prefix: /hooks/9f2c-4e1a_x.y~z\n"
                                "  trusted_proxies: [10.0.0.5, 172.16.0.0/12, '::1']\n")
    assert problems == []
    assert settings.server.path_prefix == "/hooks/9f2c-4e1a_x.y~z"
    assert settings.server.trusted_proxies == ("10.0.0.5/32", "172.16.0.0/12", "::1/128")


def test_by_default_the_webhooks_are_at_the_root_and_no_proxy_is_believed(tmp_path):
    server = load_settings(tmp_path)[0].server
    assert (server.path_prefix, server.trusted_proxies) == ("", ())


def test_a_bad_path_prefix_or_network_is_a_problem_on_its_line():
    for prefix in ("hooks", "/hooks/", "/", "/ho oks", "/hooks?x=1", "/훅", "//hooks"):
        settings, problems = parsed(f"server:\n  port: 8080\n  path_prefix: '{prefix}'\n")
        assert settings.server.path_prefix == "", prefix
        assert len(problems) == 1 and problems[0].startswith("triage.yaml:3:") and "path_prefix" in problems[0]
    _, problems = parsed("server:\n  allow_ips:\n    - 10.1.2.0/24\n    - kakao\n  trusted_proxies: [10.0.0.300]\n")
    assert [p.split(" ", 1)[0] for p in problems] == ["triage.yaml:4:", "triage.yaml:5:"]
    assert '"kakao" in allow_ips is not an IP address' in problems[0]


def test_kakao_retry_for_is_seconds_and_defaults_to_the_30_days_a_session_lives():
    settings, problems = parsed("kakao:\n  retry_for: 3600\n")
    assert problems == [] and settings.kakao.retry_for == 3600.0
    assert parsed("")[0].kakao.retry_for == 30 * 86400


def test_a_retry_for_of_zero_or_less_is_a_problem_and_the_default_stays():
    settings, problems = parsed("kakao:\n  retry_for: 0\n")
    assert problems == ['triage.yaml:2: "retry_for" must be a number of seconds above 0']
    assert settings.kakao.retry_for == 30 * 86400


def test_the_retired_max_attempts_is_an_error_that_names_retry_for():
    _, problems = parsed("kakao:\n  timeout: 5\n  max_attempts: 8\n")
    assert len(problems) == 1
    assert problems[0].startswith('triage.yaml:3: "max_attempts" is no longer a setting: ')
    assert '"retry_for"' in problems[0]


def test_each_numeric_setting_takes_the_ends_of_its_range():
    settings, problems = parsed("server:\n  port: 65535\n  max_body: 8192\nkakao:\n  timeout: 0.5\n"
                                "timers:\n  bot_warn: 0\n  bot_end: 0\nprivacy:\n  retention_days: 0\n"
                                "queues:\n  general:\n    max_wait: 0\nfaq:\n  answer: 100\n  suggest: 0\n  margin: 0\n")
    assert problems == []
    assert (settings.server.port, settings.server.max_body, settings.kakao.timeout) == (65535, 8192, 0.5)
    assert (settings.faq.answer, settings.faq.suggest, settings.faq.margin) == (100.0, 0.0, 0.0)


def test_a_setting_outside_its_range_keeps_its_default_so_the_rest_is_checked_against_a_runnable_site():
    settings, problems = parsed("server:\n  port: 0\n  max_body: 8191\nkakao:\n  timeout: 0\n")
    assert sorted(problems) == [
        'triage.yaml:2: "port" must be a whole number from 1 to 65535',
        'triage.yaml:3: "max_body" must be a whole number of bytes, 8192 or more (8 KB: room for a 1,000-character message)',
        'triage.yaml:5: "timeout" must be a number of seconds above 0',
    ]
    assert (settings.server.port, settings.server.max_body, settings.kakao.timeout) == (8080, 64 * 1024, 5.0)


def test_kakao_base_url_is_an_absolute_http_address_the_api_paths_can_follow():
    for url in ("http://127.0.0.1:8090", "https://bizmessage.example.com/api/"):
        assert parsed(f"kakao:\n  base_url: '{url}'\n")[1] == [], url
    refused = {
        "localhost:8090": 'must be an absolute http:// or https:// address like http://127.0.0.1:8090 '
                          '(did you mean "http://localhost:8090"?)',
        "ftp://kakao.example.com": "must be an absolute http:// or https:// address like http://127.0.0.1:8090",
        "https://kakao.example.com/api?key=1": "must not have a ?query or #fragment: the API paths are appended to it",
        "https://kakao.example.com/#top": "must not have a ?query or #fragment: the API paths are appended to it",
        "http://127.0.0.1:70000": "has a port outside 1-65535",
    }
    for url, message in refused.items():
        settings, problems = parsed(f"kakao:\n  timeout: 5\n  base_url: '{url}'\n")
        assert problems == [f'triage.yaml:3: "base_url" {message}'], url
        assert settings.kakao.base_url == "http://127.0.0.1:8090"


def test_the_example_sender_key_is_a_warning_at_its_line_and_a_missing_one_at_the_channel_line():
    written = parsed(f"timezone: Asia/Seoul\nchannel:\n  name: 상점\n  sender_key: {DEMO_SENDER_KEY}\n")[0]
    missing = parsed("timezone: Asia/Seoul\nchannel:\n  name: 상점\n")[0]
    own = parsed("channel:\n  sender_key: 9f2c4e1a7b3d5a10c41e9b722f8c1e9a7b3d5a10\n")[0]

    assert [(p.line, p.severity) for p in sender_key_warnings(written)] == [(4, "warning")]
    assert "is the example key" in sender_key_warnings(written)[0].message
    assert [(p.line, p.severity) for p in sender_key_warnings(missing)] == [(2, "warning")]
    assert "is missing" in sender_key_warnings(missing)[0].message
    assert sender_key_warnings(own) == []


def test_only_this_machine_counts_as_loopback():
    assert all(map(is_loopback, ("http://127.0.0.1:8090", "http://localhost:8090", "http://[::1]:8090")))
    assert not any(map(is_loopback, ("https://bizmessage.example.com", "http://10.0.0.5:8090", "http://0.0.0.0")))
