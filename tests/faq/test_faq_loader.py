"""FAQ files: what loads, and every problem an editor can make, at file:line."""

from pathlib import Path

from triage.cli import main
from triage.faq.loader import load_faq

FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_small_faq_loads_entries_synonyms_links_and_buttons():
    root = FIXTURES / "faq_small"
    entries, synonyms, problems = load_faq(root / "faq", root)
    by_id = {e.id: e for e in entries}
    assert problems == []
    assert synonyms == {"배송": ("택배",), "환불": ("반품금액",), "다른쇼핑몰": ("배민", "11번가")}
    assert by_id["delivery-when"].alt == ("배송 언제 와요", "배송조회")
    assert by_id["delivery-when"].links[0].url.source == "https://shop.example.com/orders"
    assert by_id["refund-when"].buttons[0].goto == "main.agent"
    assert by_id["refund-when"].keywords == ("환불",)
    assert by_id["refund-strict"].threshold == 99.0
    assert by_id["old-event"].active is False
    assert (by_id["delivery-fee"].file, by_id["delivery-fee"].line) == ("faq/shop.yaml", 8)


def test_missing_directory_is_no_faq_and_no_problem(tmp_path):
    assert load_faq(tmp_path / "faq") == ([], {}, [])


def test_broken_faq_reports_every_problem_at_file_line():
    root = FIXTURES / "faq_broken"
    _, _, problems = load_faq(root / "faq", root)
    assert [str(p) for p in sorted(problems)] == [
        'faq/_synonyms.yaml:1: synonyms of "배송" must be a list of words',
        'faq/a.yaml:6: duplicate FAQ id "delivery-when" (also in faq/a.yaml:3)',
        'faq/a.yaml:11: the answer "a" is empty',
        'faq/a.yaml:14: unknown key "anwser" in an FAQ entry',
        'faq/a.yaml:16: warning: FAQ "same-question" asks nearly the same question as "delivery-when" '
        "(faq/a.yaml:3); merge them",
        'faq/a.yaml:21: unknown name "secret" (templates can use params, reference, user, vars, input, session, '
        "now, channel)",
        "faq/b.yaml:4: the answer is 1001 characters long; 상담톡 shows at most 1000",
        "faq/c.yaml:2: YAML syntax error: did not find expected node content",
    ]


def test_unknown_keys_get_did_you_mean(tmp_path):
    (tmp_path / "x.yaml").write_text("- {id: a, category: 배송, q: 질문, a: 답, keyword: [배송]}\n", encoding="utf-8")
    _, _, problems = load_faq(tmp_path)
    assert [p.message for p in problems] == ['unknown key "keyword" in an FAQ entry (did you mean "keywords"?)']


def test_the_example_faq_is_clean_and_big_enough():
    root = Path(__file__).parents[2]
    entries, _, problems = load_faq(root / "faq", root)
    assert problems == []
    assert len(entries) >= 60
    assert {e.category for e in entries} == {"배송", "주문", "취소/환불", "교환/반품", "회원/멤버십", "결제"}


def test_triage_validate_holds_faq_labels_and_urls_to_the_limits_flows_have(capsys):
    assert main(["validate", "--root", str(FIXTURES / "validate_urls")]) == 1
    reported = [line for line in capsys.readouterr().out.splitlines() if line.startswith("faq/")]
    assert reported == [
        'faq/links.yaml:6: "javascript:alert(1)" is not an absolute http(s) URL such as '
        "https://shop.example.com/track",
        'faq/links.yaml:8: button label "택배사 홈페이지에서 배송 조회하기" has 18 characters; '
        "keep it to 14 so it is not cut off",
        'faq/links.yaml:9: "http:///track" is not an absolute http(s) URL such as https://shop.example.com/track',
        'faq/links.yaml:15: button label "환불 상담원에게 바로 연결하기" has 16 characters; '
        "keep it to 14 so it is not cut off",
    ]
