"""The example FAQ measured on tests/faq/eval.yaml, through the CLI, as the issue requires.

The wrong-answer ceiling is the issue's binding 2%. The top-1 floor is a ratchet at the level
reached so far (89.7% when last raised): the issue's 92% target is NOT met yet, and this floor
only stops regressions while the matcher improves. Raise it, never lower it.
"""

import json
from pathlib import Path

from triage.cli import main

REPO = Path(__file__).parents[2]
WRONG_ANSWER_CEILING = 0.02
TOP1_FLOOR = 0.89


def test_example_faq_figures(capsys):
    assert main(["faq", "eval", str(REPO / "tests" / "faq" / "eval.yaml"), "--json", "--root", str(REPO)]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["n"] >= 400 and figures["by_kind"]["none"]["n"] >= 80
    assert figures["wrong_answer_rate"] <= WRONG_ANSWER_CEILING
    assert figures["top1_accuracy"] >= TOP1_FLOOR
