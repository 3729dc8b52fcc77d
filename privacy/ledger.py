"""The ledger of completed privacy requests: append-only, each entry chained to the one before by hash.

The store refuses to update or delete ledger rows (triggers, migration 0006); the chain makes any
edit made around them visible: `verify_chain` recomputes every hash.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlmodel import Session, col, select

from schema.store import LedgerEntry

GENESIS = "0" * 64


def _entry_hash(entry: LedgerEntry) -> str:
    """The hash over an entry's contents and its predecessor's hash."""
    fields = [entry.previous_hash, entry.request_id, entry.kind, entry.subject_hash, entry.recorded_at.isoformat()]
    return hashlib.sha256(json.dumps([*fields, entry.receipt]).encode()).hexdigest()


def append(
    session: Session, *, request_id: str, kind: str, subject_hash: str, receipt: str, now: datetime
) -> LedgerEntry:
    """Add one receipt at the end of the chain (in the caller's transaction)."""
    last = session.exec(select(LedgerEntry).order_by(col(LedgerEntry.seq).desc())).first()
    previous = last.entry_hash if last is not None else GENESIS
    entry = LedgerEntry(
        request_id=request_id, kind=kind, subject_hash=subject_hash, recorded_at=now, receipt=receipt,
        previous_hash=previous, entry_hash="",
    )  # fmt: skip
    entry.entry_hash = _entry_hash(entry)
    session.add(entry)
    return entry


def verify_chain(session: Session) -> bool:
    """True when every entry's hash matches its contents and the entry before it."""
    previous = GENESIS
    for entry in session.exec(select(LedgerEntry).order_by(col(LedgerEntry.seq))):
        if entry.previous_hash != previous or entry.entry_hash != _entry_hash(entry):
            return False
        previous = entry.entry_hash
    return True
