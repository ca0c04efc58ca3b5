"""Editors' templates render from the context they are given, with Jinja's own helpers at hand."""

from __future__ import annotations

import pytest

from triage.flows.templates import TemplateProblem, compile_expr, compile_text, evaluate, render

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
