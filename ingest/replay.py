"""Replaying quarantined records after a fix: load them with today's code, mark those that now load.

Two kinds of record can be replayed. A raw-table refusal (a value that did not type) is typed again
from its stored payload and landed; a refusal of the conformed model (a document a mapper could
not read, an event that failed its schema) is conformed again from the raw row it came from. A
replay runs under the original batch id, so a record refused again keeps its quarantine row
instead of gaining a second one. Refusals made by the source reader itself (a malformed CSV line,
a document without `updated_at`) are fixed at the source and read again by the next run.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl
import pyarrow as pa

from ingest.conform import advance, apply_writes
from ingest.entities import ALL_ENTITIES, Entity
from ingest.landing import POSITION, land_text
from ingest.model import BatchContext, ConformEnv
from ingest.quarantine import from_conforming, write
from lakehouse import merge
from lakehouse.lake import Lake
from lakehouse.query import read_polars
from schema import lake as tables
from schema.ops import QUARANTINE_OPEN, QUARANTINE_REPLAYED

logger = logging.getLogger(__name__)

# Refusals made while reading the source, before there is a row to type.
READER_REFUSALS = ("malformed_row", "missing_field", "invalid_json")


@dataclass
class ReplayReport:
    """What a replay did."""

    replayed: int = 0
    still_refused: int = 0
    not_replayable: int = 0
    by_entity: dict[str, int] = field(default_factory=dict)


def open_records(lake: Lake, *, entity: str | None = None, reason: str | None = None) -> pl.DataFrame:
    """Open quarantine records, optionally of one entity and/or reason code."""
    frame = read_polars(lake.table(tables.QUARANTINE)).filter(pl.col("status") == QUARANTINE_OPEN)
    if entity:
        frame = frame.filter(pl.col("entity") == entity)
    if reason:
        frame = frame.filter(pl.col("reason_code") == reason)
    return frame


def replay(lake: Lake, env: ConformEnv, *, entity: str | None = None, reason: str | None = None) -> ReplayReport:
    """Replay the open records that match; see the module docstring."""
    report = ReplayReport()
    records = open_records(lake, entity=entity, reason=reason)
    for (name, batch_id), group in records.group_by("entity", "batch_id"):
        owner = _owner(str(name))
        loaded: list[str] | None = None
        if owner is not None and str(name) == owner.raw.full_name:
            loaded = _replay_typing(lake, owner, group, str(batch_id), env)
        elif owner is not None:
            loaded = _replay_conforming(lake, owner, group, env)
        if loaded is None:
            report.not_replayable += len(group)
            continue
        _mark_replayed(lake, loaded, env.now)
        report.replayed += len(loaded)
        report.still_refused += len(group) - len(loaded)
        report.by_entity[str(name)] = report.by_entity.get(str(name), 0) + len(loaded)
    logger.info("replay: %s", report)
    return report


def _owner(full_name: str) -> Entity | None:
    """The entity whose raw or primary conformed table is `full_name` (quarantine records name one)."""
    for candidate in ALL_ENTITIES:
        if full_name in (candidate.raw.full_name, candidate.primary.full_name):
            return candidate
    return None


def _replay_typing(lake: Lake, entity: Entity, group: pl.DataFrame, batch_id: str, env: ConformEnv) -> list[str] | None:
    """Type the stored payloads again and land those that fit; returns the ids now loaded.

    None when the records are not rows at all (a malformed line, an undated document): those are
    fixed at the source and read again by the next run.
    """
    try:
        payloads = [json.loads(p) for p in group["payload"].to_list()]
    except json.JSONDecodeError:
        return None
    if not all(isinstance(p, dict) for p in payloads) or group["reason_code"].is_in(READER_REFUSALS).any():
        return None
    columns = sorted({key for payload in payloads for key in payload})
    text = {c: pa.array([None if p.get(c) is None else str(p[c]) for p in payloads], pa.string()) for c in columns}
    text[POSITION] = pa.array(group["source_position"].to_list(), pa.string())
    ctx = BatchContext(source=str(group["source"][0]), batch_id=batch_id, ingested_at=env.now)
    counts = land_text(lake, entity, pa.table(text), ctx, watermark=None)
    advance(lake, entity, env)
    refused_again = set(counts.quarantine_ids)
    return [q for q in group["quarantine_id"].to_list() if q not in refused_again]


def _replay_conforming(lake: Lake, entity: Entity, group: pl.DataFrame, env: ConformEnv) -> list[str]:
    """Conform the raw rows behind the records again and merge those that now conform."""
    raw = read_polars(lake.table(entity.raw))
    wanted = group.select(pl.col("batch_id").alias("_batch_id"), pl.col("source_position").alias("_watermark"))
    rows = raw.join(wanted, on=["_batch_id", "_watermark"], how="semi")
    if rows.is_empty():
        return []
    conformed = entity.conform(rows.to_arrow(), env)
    records = from_conforming(conformed.rejections, entity.raw.full_name, entity.primary.full_name)
    write(lake, records, at=env.now)
    apply_writes(lake, entity, lake.table(entity.raw), conformed.writes, {})
    refused = {r.quarantine_id for r in records}
    return [q for q in group["quarantine_id"].to_list() if q not in refused]


def _mark_replayed(lake: Lake, ids: list[str], now: datetime) -> None:
    if ids:
        keys = pa.table({"quarantine_id": pa.array(ids, pa.string())})
        merge.mark(lake.table(tables.QUARANTINE), keys, {"status": QUARANTINE_REPLAYED, "resolved_at": now})
