"""The suppression list at ingestion: is this record an erased data subject's?

Values are normalised as identity resolution normalises them, then hashed with the salt the
erasure used, and looked up in the store's suppressions (re-read every `refresh_seconds`, so an
erasure reaches running workers within that time).
"""

from __future__ import annotations

import threading
import time

import polars as pl
from sqlalchemy import Engine
from sqlmodel import Session, select

from identity.normalize import IDENTIFIER_KINDS, normalize_identifier
from privacy.hashing import identifier_hash
from schema.store import Suppression


class StoreSuppressor:
    """An `ingest.suppression.Suppressor` backed by the operational store."""

    def __init__(self, engine: Engine, key: bytes, *, default_region: str = "US", refresh_seconds: float = 30.0):
        self._engine = engine
        self._key = key
        self._region = default_region
        self._refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._hashes: set[tuple[str, str]] = set()
        self._read_at = float("-inf")

    def active(self) -> bool:
        """True when any erasure suppressed identifiers."""
        return bool(self._current())

    def hits(self, candidates: pl.DataFrame) -> set[int]:
        """Rows of `candidates` (row, kind, raw value) whose normalised value an erasure suppressed."""
        suppressed = self._current()
        if not suppressed:
            return set()
        found: set[int] = set()
        pairs = candidates.filter(pl.col("kind").is_in(IDENTIFIER_KINDS)).select("kind", "value").unique()
        for kind, value in pairs.iter_rows():
            normalised = normalize_identifier(kind, value, default_region=self._region)
            if normalised is not None and (kind, identifier_hash(self._key, kind, normalised)) in suppressed:
                found |= set(candidates.filter((pl.col("kind") == kind) & (pl.col("value") == value))["row"])
        return found

    def _current(self) -> set[tuple[str, str]]:
        with self._lock:
            if time.monotonic() - self._read_at >= self._refresh_seconds:
                with Session(self._engine) as session:
                    self._hashes = {(k, h) for k, h in session.exec(select(Suppression.kind, Suppression.value_hash))}
                self._read_at = time.monotonic()
            return self._hashes
