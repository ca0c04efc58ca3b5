"""The web console served by ``triage serve``: ``/preview`` for editors and ``/desk`` for agents.

Pages are Jinja2 templates with autoescape on, plus plain JavaScript from ``static/``; there is
no build step and nothing loads from another origin. See the README's web console section.
"""
