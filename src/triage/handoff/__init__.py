"""Handing a session to human agents: business hours and queue policy, pure."""
