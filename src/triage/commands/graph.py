"""``triage graph``: the flows as a Mermaid or Graphviz drawing on stdout."""

from __future__ import annotations

import argparse
import sys

from triage.flows.graph import to_dot, to_mermaid
from triage.flows.loader import load_flows
from triage.problems import did_you_mean, errors
from triage.settings import load_settings

RENDERERS = {"mermaid": to_mermaid, "dot": to_dot}


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("graph", parents=[common], help="draw the flows as a Mermaid or Graphviz (dot) graph")
    parser.add_argument("--format", choices=tuple(RENDERERS), default="mermaid",
                        help="mermaid (default; paste into Markdown) or dot (Graphviz)")
    parser.add_argument("--flow", metavar="NAME", help="draw only this flow")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Draws whatever loads, even with validation errors: a drawing helps find them."""
    settings, problems = load_settings(args.root)
    flows, flow_problems = load_flows([settings.path("flows")], settings.entry_flow, args.root)
    problems += flow_problems
    if flows is None:
        for problem in sorted(problems):
            print(problem, file=sys.stderr)
        return 1
    if args.flow is not None and args.flow not in flows.flows:
        print(f'there is no flow "{args.flow}"{did_you_mean(args.flow, flows.flows)}; '
              f'flows: {", ".join(flows.flows)}', file=sys.stderr)
        return 1
    if errors(problems):
        print("note: the flows have errors, so this drawing may be incomplete; run triage validate", file=sys.stderr)
    sys.stdout.write(RENDERERS[args.format](flows, args.flow))
    return 0
