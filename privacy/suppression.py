"""The suppression list at ingestion: is this record an erased data subject's?

Values are normalised as identity resolution normalises them, then hashed with the salt the
erasure used, and looked up in the store's suppressions. Each batch asks the store whether the
list changed (a count and the newest time, one indexed read) and re-reads it only then, so an
erasure reaches running workers at their next batch, not after a refresh interval.
"""

from __future__ import annotations

import threading

import polars as pl
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from identity.normalize import IDENTIFIER_KINDS, normalize_identifier, phone_region
from privacy.hashing import identifier_hash
from schema.store import Suppression


class StoreSuppressor:
    """An `ingest.suppression.Suppressor` backed by the operational store."""

    def __init__(self, engine: Engine, key: bytes, *, default_region: str = "US"):
        self._engine = engine
        self._key = key
        self._region = default_region
        self._lock = threading.Lock()
        self._hashes: set[tuple[str, str]] = set()
        self._version: tuple[object, ...] | None = None

    def active(self) -> bool:
        """True when any erasure suppressed identifiers; asked once a batch, so it is where the list is refreshed."""
        return bool(self._current(refresh=True))

    def hits(self, candidates: pl.DataFrame) -> set[int]:
        """Rows of `candidates` (row, kind, raw value, and the record's country when known) whose normalised
        value an erasure suppressed; phones are read in the record's country, as identity resolution reads them.

        Uses the list as the batch's `active` read it (one store read a batch, not two).
        """
        suppressed = self._current(refresh=self._version is None)
        if not suppressed:
            return set()
        known = candidates.filter(pl.col("kind").is_in(IDENTIFIER_KINDS))
        found: set[int] = set()
        for kind, value, country in known.select("kind", "value", "country").unique().iter_rows():
            region = phone_region(country, self._region) if kind == "phone" else self._region
            normalised = normalize_identifier(kind, value, default_region=region)
            if normalised is not None and (kind, identifier_hash(self._key, kind, normalised)) in suppressed:
                same = (pl.col("kind") == kind) & (pl.col("value") == value) & pl.col("country").eq_missing(country)
                found |= set(known.filter(same)["row"])
        return found

    def _current(self, *, refresh: bool) -> set[tuple[str, str]]:
        """The suppressed hashes; with `refresh`, re-read when the list changed since the last look."""
        if not refresh:
            return self._hashes
        with self._lock, Session(self._engine) as session:
            version = tuple(session.exec(select(func.count(), func.max(Suppression.created_at))).one())
            if version != self._version:
                self._hashes = {(k, h) for k, h in session.exec(select(Suppression.kind, Suppression.value_hash))}
                self._version = version
            return self._hashes
