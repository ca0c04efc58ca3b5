"""Subcommands of the ``triage`` CLI: argument wiring and printing only, no domain logic."""
