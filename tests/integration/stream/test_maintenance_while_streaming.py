"""Compaction and snapshot expiry on the stream's tables, alone and while a worker writes (real Tansu broker)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import polars as pl

from core.config import Settings
from ingest.offsets import committed
from ingest.stream import consume_events, stream_worker
from lakehouse.compaction import compact
from lakehouse.lake import Lake
from lakehouse.maintenance import expire_and_sweep
from lakehouse.query import read_polars
from schema import lake as tables
from tests.streams import assert_exactly_once, conformed_events, drain, event, kafka_settings, produce
from tests.support import duckdb_with_iceberg


def data_files(lake: Lake, definition: tables.TableDef) -> int:
    table = lake.table(definition)
    table.refresh()
    return len(table.inspect.files())


def test_compaction_merges_the_micro_batch_files_and_changes_no_row(lake: Lake, kafka_bootstrap: str, topic: str):
    produce(kafka_bootstrap, topic, [event(n) for n in range(300)])
    drain(lake, kafka_settings(kafka_bootstrap, topic, max_batch_messages=50), idle=0.5)  # six micro-batches
    before = conformed_events(lake).sort("event_id")
    files_before = data_files(lake, tables.EVENTS)
    assert files_before >= 6

    result = compact(lake.table(tables.EVENTS))

    assert result.files_removed == files_before and result.files_added == 1 and result.rows == 300
    assert data_files(lake, tables.EVENTS) == 1
    after = conformed_events(lake).sort("event_id")
    assert after.equals(before)
    with duckdb_with_iceberg() as con:
        count = con.execute("SELECT count(*) FROM iceberg_scan(?)", [lake.table(tables.EVENTS).metadata_location])
        assert count.fetchone() == (300,)


def test_expiring_every_old_snapshot_keeps_the_offsets_and_the_rows(lake: Lake, kafka_bootstrap: str, topic: str):
    kafka = kafka_settings(kafka_bootstrap, topic)
    produce(kafka_bootstrap, topic, [event(n) for n in range(120)])
    drain(lake, kafka, idle=0.5)
    raw = lake.table(tables.RAW_EVENTS)
    compact(raw, min_files=1)  # the newest snapshot now carries no offsets of its own
    offsets_before = committed(raw)

    result = expire_and_sweep(raw, older_than=datetime.now(UTC) + timedelta(seconds=1), min_age_seconds=0)

    raw.refresh()
    assert result.snapshots_expired >= 2 and result.files_deleted >= 1
    assert committed(raw) == offsets_before, "expiry lost the stream's position"
    resumed = drain(lake, kafka_settings(kafka_bootstrap, topic, group_id="after-expiry"), idle=0.5)
    assert sum(b.read for b in resumed.batches) == 0, "the worker re-read what the table already held"
    assert read_polars(raw).height == 120


def test_compaction_and_expiry_while_a_worker_writes_lose_and_duplicate_nothing(
    settings: Settings, lake: Lake, kafka_bootstrap: str, topic: str
):
    kafka = kafka_settings(kafka_bootstrap, topic, max_batch_seconds=0.3)
    events = [event(n) for n in range(2400)]
    worker_lake = Lake.open(settings.catalog)
    worker = stream_worker(worker_lake, kafka)
    stop = threading.Event()
    thread = threading.Thread(target=consume_events, args=(worker, kafka), kwargs={"stop": stop}, daemon=True)
    thread.start()
    compactions = 0
    try:
        for chunk in range(8):
            produce(kafka_bootstrap, topic, events[chunk * 300 : chunk * 300 + 300])
            time.sleep(0.5)
            for definition in (tables.RAW_EVENTS, tables.EVENTS):
                compactions += compact(lake.table(definition)).partitions
                expire_and_sweep(lake.table(definition), older_than=datetime.now(UTC), retain_last=3)
        deadline = time.monotonic() + 60
        while read_polars(lake.table(tables.RAW_EVENTS)).height < 2400 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(60)
        worker_lake.close()

    assert compactions > 0, "no compaction ran while the worker wrote"
    assert len(worker.batches) >= 4
    assert_exactly_once(lake, {e["event_id"] for e in events}, 2400)
    ids = conformed_events(lake).select(pl.col("event_id").n_unique()).item()
    assert ids == 2400
