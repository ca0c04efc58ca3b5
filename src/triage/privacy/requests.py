"""A person's access and deletion requests: everything stored about them, and forgetting it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from triage.privacy.anonymise import SCRUBBERS
from triage.store import Erased, Erasure, Store


def export_user(store: Store, user_key: str) -> dict[str, Any]:
    """Every row that names ``user_key``, as one JSON-ready document (sessions hold their
    state and transcript, so a reader sees each conversation whole)."""
    user = store.get_user(user_key)
    sessions = [{**asdict(session), "transcript": [asdict(t) for t in store.transcript(session.id)]}
                for session in store.sessions_of(user_key)]
    return {
        "user_key": user_key,
        "user": asdict(user) if user else None,
        "sessions": sessions,
        "events": [asdict(e) for e in store.events_of(user_key)],
        "outbox": [asdict(o) for o in store.outbox_of(user_key)],
        "tickets": [asdict(t) for t in store.tickets_of(user_key)],
        "inbox": [asdict(i) for i in store.inbox_of(user_key)],
    }


def forget_user(store: Store, user_key: str, now: float, dry_run: bool = False) -> Erased:
    return store.erase(Erasure.of_user(user_key), SCRUBBERS, now, dry_run)
