"""Editors' templates render from the context they are given, with Jinja's own helpers at hand."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from triage.flows.templates import (
    FALLBACK_TEXT, MAX_RENDERED, TemplateProblem, Text, compile_expr, compile_text, evaluate, render,
)

NESTED_LOOPS = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"

CONTEXT = {"vars": {"items": ["양말", "모자"]}, "user": {"returning": True}, "params": {"topic": "order"}}


def test_jinja_helpers_stay_available_to_every_template() -> None:
    text = compile_text("{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% endfor %}"
                        "{{ ns.n }} {{ dict(a=1)['a'] }} {{ vars['items'] | join(',') }}")
    assert render(text, CONTEXT) == ("3 1 양말,모자", None)


def test_a_template_setting_a_name_leaves_the_next_render_untouched() -> None:
    setter, reader = compile_text("{% set input = '바뀜' %}{{ input }}"), compile_text("[{{ input }}]")
    context = {**CONTEXT, "input": "원래"}
    assert render(setter, context) == ("바뀜", None)
    assert render(reader, context) == ("[원래]", None)


def test_expressions_read_the_context_and_jinja_helpers() -> None:
    assert evaluate(compile_expr('params.topic in ["order", "delivery"] and user.returning'), CONTEXT) == (True, None)
    assert evaluate(compile_expr("range(2) | list == [0, 1]"), CONTEXT) == (True, None)
    assert evaluate(compile_expr("params.topic == 'refund'"), CONTEXT) == (False, None)


def test_names_a_template_sets_itself_are_allowed_and_any_other_unknown_name_is_refused():
    assert compile_text("{% for item in vars.items %}{{ item }}{% endfor %}{% set total = 3 %}{{ total }}")
    with pytest.raises(TemplateProblem, match='unknown name "secret"'):
        compile_text("{% for item in vars.items %}{{ item }}{% endfor %}{{ secret }}")
    with pytest.raises(TemplateProblem, match='unknown name "later"'):
        compile_text("{{ later }}{% set later = 1 %}")


def test_misspelled_filters_tests_and_fields_of_fixed_names_are_refused_with_a_suggestion():
    with pytest.raises(TemplateProblem, match=r'unknown filter "upperr" \(did you mean "upper"\?\)'):
        compile_text("{% filter upperr %}안내{% endfilter %}")
    with pytest.raises(TemplateProblem, match=r'unknown test "defind" \(did you mean "defined"\?\)'):
        compile_expr("vars.order is not defind")
    with pytest.raises(TemplateProblem, match=r'reference has no field "extar" \(did you mean "extra"\?\)'):
        compile_text("{{ reference.extar }}")
    with pytest.raises(TemplateProblem, match=r'session has no field "zzz" \(session has id, category, started_at\)'):
        compile_text("{{ session.zzz }}")


def test_open_names_methods_and_names_a_template_sets_itself_are_not_checked_as_fields():
    assert compile_text("{{ vars.anything }}{{ params.whatever }}{{ user.get('returning') }}{{ now.strftime('%H') }}"
                        "{% for channel in vars['items'] %}{{ channel.upper() }}{% endfor %}")


def test_a_template_jinja_refuses_when_compiling_renders_as_the_fallback():
    assert render(Text("{{ '안내' | upperr }}"), CONTEXT) == (
        FALLBACK_TEXT, "TemplateAssertionError: No filter named 'upperr'.")


def test_repetition_sums_and_powers_work_until_the_result_would_be_too_large():
    assert render(compile_text("{{ '-' * 5 }} {{ 2 * [0] }} {{ 2 ** 10 }} {{ 'a' + 'b' }} {{ 3 * 4 }}"), CONTEXT) == (
        "----- [0, 0] 1024 ab 12", None)
    for source, operator in (("{{ 'a' * 100000000 }}", "*"), ("{{ 10 ** 100000000 }}", "**"),
                             ("{% set ns = namespace(s='a') %}{% for _ in range(40) %}"
                              "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}", "+")):
        assert render(compile_text(source), CONTEXT) == (
            FALLBACK_TEXT, f'SecurityError: the result of "{operator}" would be too large for a text')
    assert evaluate(compile_expr("[0] * 100000000"), CONTEXT) == (
        False, 'SecurityError: the result of "*" would be too large for a text')


def test_a_text_that_keeps_growing_is_stopped_at_ten_bubbles():
    endless = compile_text("{% for _ in range(1000) %}{{ '가' * 20 }}{% endfor %}")
    assert render(endless, CONTEXT) == (FALLBACK_TEXT, f"SecurityError: the text would be longer than "
                                                       f"{MAX_RENDERED:,} characters")
    assert render(compile_text("{{ '가' * 10000 }}"), CONTEXT) == ("가" * MAX_RENDERED, None)


@pytest.mark.parametrize("source", [
    "{{ 'a' | center(10 ** 8) }}",
    "{{ 'a' | indent(10 ** 8, true) }}",
    "{{ 'a'.ljust(10 ** 8) }}",
    "{{ '1'.zfill(10 ** 8) }}",
    "{{ '{:>100000000}'.format(1) }}",
    "{{ '{:>{w}}'.format(1, w=10 ** 8) }}",
    "{{ '{n:>100000000}'.format_map({'n': 1}) }}",
    "{{ '%100000000d' | format(1) }}",
    "{{ '%*d' | format(10 ** 8, 1) }}",
    "{{ '%100000000d' % 1 }}",
])
def test_a_width_too_big_for_a_text_is_refused_before_the_text_is_built(source):
    tracemalloc.start()
    try:
        text, error = render(compile_text(source), CONTEXT)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert text == FALLBACK_TEXT and error.startswith("SecurityError:")
    assert peak < 2_000_000


def test_widths_formats_and_powers_a_message_needs_still_work():
    source = ("{{ '{:,}원'.format(125000) }} {{ '%d개' | format(12) }} {{ '%s님' % '홍길동' }} "
              "[{{ '가' | center(5) }}] {{ '7'.zfill(3) }} {{ 7 % 3 }} {{ 10 ** 8 }}")
    assert render(compile_text(source), CONTEXT) == ("125,000원 12개 홍길동님 [  가  ] 007 1 100000000", None)


def test_a_power_of_more_than_a_few_hundred_digits_is_refused():
    assert render(compile_text("{{ 10 ** 200 }}"), CONTEXT) == ("1" + "0" * 200, None)
    assert render(compile_text("{{ 10 ** 400 }}"), CONTEXT) == (
        FALLBACK_TEXT, 'SecurityError: the result of "**" would be too large for a text')


def test_a_loop_inside_a_loop_a_recursive_loop_and_a_literal_range_over_a_thousand_are_refused_at_load():
    with pytest.raises(TemplateProblem, match="a for loop inside another for loop"):
        compile_text(NESTED_LOOPS)
    with pytest.raises(TemplateProblem, match="a recursive for loop"):
        compile_text("{% for x in vars['items'] recursive %}{{ loop(x) }}{% endfor %}")
    with pytest.raises(TemplateProblem, match=r"range of 5,000 numbers \(templates count to at most 1,000\)"):
        compile_text("{% for i in range(1, 5001) %}{{ i }}{% endfor %}")
    with pytest.raises(TemplateProblem, match="range of 100,000 numbers"):
        compile_expr("range(100000) | length > 3")


def test_loops_a_message_needs_still_render():
    source = ("{% for item in vars['items'] %}{{ loop.index }}.{{ item }} {% endfor %}{{ range(1000) | sum }} "
              "{% for x in [] %}{{ x }}{% else %}없음{% endfor %}")
    assert render(compile_text(source), CONTEXT) == ("1.양말 2.모자 499500 없음", None)


@pytest.mark.parametrize(("source", "error"), [
    (NESTED_LOOPS, "range of 100,000 numbers (templates count to at most 1,000)"),
    ("{% for i in range(10 ** 8) %}{% endfor %}", "range of 100,000,000 numbers (templates count to at most 1,000)"),
    ("{% for c in '가' * 5000 %}{% endfor %}", "a for loop over 5,000 items (templates loop over at most 1,000)"),
    ("{% for c in ('가' * 5000) | map('upper') %}{% endfor %}", "a for loop over more than 1,000 items"),
    ("{% macro spin() %}{% for i in range(1000) %}{% endfor %}{% endmacro %}"
     "{% for i in range(1000) %}{{ spin() }}{% endfor %}", "the template took more than 10,000 loop turns and calls"),
    ("{% macro m0() %}{% endmacro %}" + "".join(
        f"{{% macro m{n}() %}}{{{{ m{n - 1}() }}}}{{{{ m{n - 1}() }}}}{{% endmacro %}}" for n in range(1, 40))
     + "{{ m39() }}", "the template took more than 10,000 loop turns and calls"),
    ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "macros call each other more than 50 deep"),
    ("{% macro m() %}{{ m() }}{{ m() }}{% endmacro %}{{ m() }}", "macros call each other more than 50 deep"),
])
def test_a_template_that_would_spin_stops_at_once_with_the_fallback(source, error):
    """Rendered without the load checks (as ``Text`` allows) to pin the run-time bounds on their own."""
    started = time.perf_counter()
    assert render(Text(source), CONTEXT) == (FALLBACK_TEXT, f"SecurityError: {error}")
    assert time.perf_counter() - started < 1


def test_each_render_gets_the_whole_budget_again():
    spender = compile_text("{% for i in range(1000) %}{{ vars.get('x') }}{% endfor %}")
    for _ in range(10):
        assert render(spender, CONTEXT) == ("None" * 1000, None)
