"""The example FAQ measured on tests/faq/eval.yaml, through the CLI, as the issue requires.

Both limits are the issue's binding ones: top-1 accuracy at least 92% and wrong answers at most
2%. Never lower them; a change that drops below either is a regression of the product's promise.
"""

import json
from pathlib import Path

from triage.cli import main

REPO = Path(__file__).parents[2]
WRONG_ANSWER_CEILING = 0.02
TOP1_FLOOR = 0.92


def test_example_faq_figures(capsys):
    assert main(["faq", "eval", str(REPO / "tests" / "faq" / "eval.yaml"), "--json", "--root", str(REPO)]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["n"] >= 400 and figures["by_kind"]["none"]["n"] >= 80
    assert figures["wrong_answer_rate"] <= WRONG_ANSWER_CEILING
    assert figures["top1_accuracy"] >= TOP1_FLOOR
