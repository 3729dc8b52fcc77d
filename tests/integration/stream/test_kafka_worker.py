"""The stream worker against a real Kafka-protocol broker (Tansu) with the librdkafka producer:
landing, dedup, poison messages, event time, restart and resume, dead letters and metrics."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import polars as pl
from confluent_kafka import Consumer

from core.config import Settings
from ingest.metrics import StreamMetrics
from ingest.offsets import committed
from ingest.sources.broker import free_port
from lakehouse.lake import Lake
from schema import lake as tables
from tests.streams import (
    assert_exactly_once,
    conformed_events,
    drain,
    event,
    kafka_settings,
    produce,
    quarantined,
    raw_events,
)
from tests.support import duckdb_with_iceberg


def test_events_land_once_with_promoted_fields_and_rest_of_metadata(lake: Lake, kafka_bootstrap: str, topic: str):
    events = [event(n) for n in range(300)]
    produce(kafka_bootstrap, topic, events)

    worker = drain(lake, kafka_settings(kafka_bootstrap, topic))

    assert_exactly_once(lake, {e["event_id"] for e in events}, 300)
    assert sum(b.read for b in worker.batches) == 300
    assert sum(b.landed for b in worker.batches) == 300
    row = conformed_events(lake).filter(pl.col("event_id") == events[7]["event_id"]).row(0, named=True)
    assert row["page_url"] == "https://www.shopsphere.com/p/7"
    assert json.loads(row["metadata"]) == {"campaign": "autumn"}
    assert row["device_id"] == "dev-7" and row["_topic"] == topic
    recorded = committed(lake.table(tables.RAW_EVENTS))
    assert sum(recorded.values()) == 300 and {t for t, _ in recorded} == {topic}


def test_redelivered_events_are_written_once(lake: Lake, kafka_bootstrap: str, topic: str):
    """An at-least-once producer resends: within a batch, and again after the first batch committed."""
    events = [event(n) for n in range(40)]
    produce(kafka_bootstrap, topic, events + events[:10])
    drain(lake, kafka_settings(kafka_bootstrap, topic))
    produce(kafka_bootstrap, topic, events[5:25])
    drain(lake, kafka_settings(kafka_bootstrap, topic))

    assert raw_events(lake).height == 70  # every message is kept as received
    ids = conformed_events(lake)["event_id"]
    assert ids.len() == 40 and ids.n_unique() == 40


def test_poison_messages_are_quarantined_with_their_position_and_never_stall(
    lake: Lake, kafka_bootstrap: str, topic: str
):
    future = datetime.now(UTC) + timedelta(hours=2)
    poison: list[dict[str, object] | bytes] = [
        b"not json at all",
        b"\xff\xfe not utf-8",
        b"[1, 2, 3]",
        json.dumps(event(900, event_type="teleport")).encode(),
        json.dumps({k: v for k, v in event(901).items() if k != "event_ts"}).encode(),
        json.dumps(event(902, user_id="not-a-number")).encode(),
        json.dumps(event(903, event_type="add_to_cart")).encode(),  # needs a product_id
        json.dumps(event(904, padding="x" * 70_000)).encode(),
        json.dumps(event(905, at=future)).encode(),
    ]
    good = [event(n) for n in range(20)]
    produce(kafka_bootstrap, topic, [*good[:10], *poison, *good[10:]])

    worker = drain(lake, kafka_settings(kafka_bootstrap, topic))

    assert set(conformed_events(lake)["event_id"]) == {e["event_id"] for e in good}
    refused = quarantined(lake)
    assert refused.height == len(poison)
    assert sorted(refused["reason_code"].to_list()) == sorted([
        "invalid_json", "invalid_json", "invalid_type", "unknown_event_type", "missing_field", "invalid_type",
        "missing_field", "oversize", "future_timestamp",
    ])  # fmt: skip
    for position in refused["source_position"]:
        name, partition, offset = position.split("|")
        assert name == topic and int(partition) in range(4) and int(offset) >= 0
    assert sum(b.read for b in worker.batches) == len(good) + len(poison)
    assert sum(b.rejected for b in worker.batches) == len(poison)


def test_late_and_out_of_order_events_land_in_their_event_day(
    lake: Lake, settings: Settings, kafka_bootstrap: str, topic: str
):
    now = datetime.now(UTC)
    days = [now - timedelta(days=d, minutes=1) for d in (0, 3, 1, 9, 0, 3)]
    events = [event(n, at=at) for n, at in enumerate(days)]
    produce(kafka_bootstrap, topic, events)

    drain(lake, kafka_settings(kafka_bootstrap, topic))

    table = lake.table(tables.EVENTS)
    files = table.inspect.files().to_pylist()
    file_days = {f["partition"]["event_ts_day"] for f in files}
    assert file_days == {at.date() for at in days}
    with duckdb_with_iceberg() as con:
        con.execute("SET TimeZone = 'UTC'")
        per_day = con.execute(
            "SELECT CAST(event_ts AS DATE) AS day, count(*) FROM iceberg_scan(?) GROUP BY 1",
            [table.metadata_location],
        ).fetchall()
    assert dict(per_day) == Counter(at.date() for at in days)


def test_a_restart_resumes_from_the_table_not_from_kafka(lake: Lake, kafka_bootstrap: str, topic: str):
    """A new consumer group has no Kafka offsets at all: the worker still starts where the table says."""
    first = [event(n) for n in range(100)]
    produce(kafka_bootstrap, topic, first)
    drain(lake, kafka_settings(kafka_bootstrap, topic, group_id=f"a-{uuid.uuid4().hex}"))
    second = [event(n) for n in range(100, 160)]
    produce(kafka_bootstrap, topic, second)

    worker = drain(lake, kafka_settings(kafka_bootstrap, topic, group_id=f"b-{uuid.uuid4().hex}"))

    assert sum(b.read for b in worker.batches) == 60, "the restarted worker re-read committed messages"
    assert sum(b.skipped for b in worker.batches) == 0
    assert_exactly_once(lake, {e["event_id"] for e in first + second}, 160)


def test_refused_messages_also_go_to_the_dead_letter_topic(lake: Lake, kafka_bootstrap: str, topic: str):
    dead_letters = f"{topic}-dlq"
    produce(kafka_bootstrap, topic, [event(1), b"{broken", event(2)])

    drain(lake, kafka_settings(kafka_bootstrap, topic, dead_letter_topic=dead_letters))

    consumer = Consumer({
        "bootstrap.servers": kafka_bootstrap, "group.id": f"dlq-{uuid.uuid4().hex}", "auto.offset.reset": "earliest",
        "session.timeout.ms": 2000, "heartbeat.interval.ms": 500,
    })  # fmt: skip
    consumer.subscribe([dead_letters])
    try:
        records = []
        for _ in range(30):
            records += [r for r in consumer.consume(10, timeout=1.0) if r.error() is None]
            if records:
                break
    finally:
        consumer.close()
    assert [r.value() for r in records] == [b"{broken"]
    headers = dict(records[0].headers() or [])
    assert headers["c360.reason"] == b"invalid_json"
    assert headers["c360.position"].decode().startswith(f"{topic}|")


def test_metrics_report_lag_throughput_latency_and_freshness(lake: Lake, kafka_bootstrap: str, topic: str):
    produce(kafka_bootstrap, topic, [event(n) for n in range(50)] + [b"nope"])
    metrics = StreamMetrics()
    port = free_port()
    metrics.serve(port)

    drain(lake, kafka_settings(kafka_bootstrap, topic), metrics=metrics)

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    samples = _samples(text)
    assert samples['c360_stream_messages_total{outcome="landed"}'] == 50
    assert samples['c360_stream_messages_total{outcome="quarantined"}'] == 1
    assert samples["c360_stream_batch_seconds_count"] >= 1
    assert samples["c360_stream_freshness_seconds_count"] >= 1
    lags = {k: v for k, v in samples.items() if k.startswith("c360_stream_lag_messages{")}
    assert lags and all(v == 0 for v in lags.values())
    offsets = [v for k, v in samples.items() if k.startswith("c360_stream_committed_offset{")]
    assert sum(offsets) == 51


def _samples(text: str) -> dict[str, float]:
    """Prometheus text exposition as {name{labels}: value}, labels in their printed order."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples
