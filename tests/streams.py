"""Helpers of the stream tests: events to produce, a worker to run, and what the lakehouse holds after."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from core.config import KafkaSettings
from ingest.metrics import StreamMetrics
from ingest.sources.kafka import EventProducer, StreamMessage
from ingest.stream import StreamWorker, consume_events, stream_worker
from lakehouse.lake import Lake
from lakehouse.query import read_polars
from schema import lake as tables


def event(n: int, *, at: datetime | None = None, event_type: str = "view", **fields: Any) -> dict[str, Any]:
    """A valid event numbered `n` (its id is derived from n), on one of 50 devices."""
    stamp = (at or datetime.now(UTC) - timedelta(seconds=5)).isoformat().replace("+00:00", "Z")
    body: dict[str, Any] = {
        "event_id": str(uuid.UUID(int=n)), "event_type": event_type, "event_ts": stamp,
        "device_id": f"dev-{n % 50}", "session_id": f"s-{n % 7}",
        "metadata": {"page_url": f"https://www.shopsphere.com/p/{n}", "campaign": "autumn"},
    }  # fmt: skip
    body.update(fields)
    return body


def produce(bootstrap: str, topic: str, payloads: list[dict[str, Any] | bytes]) -> None:
    """Send each payload (an event as JSON, or raw bytes as they are), keyed by device, and wait for delivery."""
    producer = EventProducer(bootstrap)
    for payload in payloads:
        if isinstance(payload, bytes):
            producer.send(topic, payload)
        else:
            producer.send(topic, json.dumps(payload).encode(), key=str(payload.get("device_id")).encode())
    producer.flush()


def kafka_settings(bootstrap: str, topic: str, **overrides: Any) -> KafkaSettings:
    """Worker settings for tests: a short session so joins and rebalances take seconds, 1 s batches."""
    values: dict[str, Any] = {
        "bootstrap_servers": bootstrap, "events_topic": topic, "group_id": f"g-{topic}",
        "session_timeout_ms": 2000, "max_batch_seconds": 1.0,
    }  # fmt: skip
    return KafkaSettings(**(values | overrides))


def drain(lake: Lake, kafka: KafkaSettings, *, idle: float = 1.0, metrics: StreamMetrics | None = None) -> StreamWorker:
    """Run a worker until nothing arrived for `idle` seconds after its partitions were assigned."""
    return consume_events(stream_worker(lake, kafka, metrics=metrics), kafka, stop=threading.Event(), idle_seconds=idle)


def raw_events(lake: Lake) -> pl.DataFrame:
    """Every raw message landed, with its position."""
    return read_polars(lake.table(tables.RAW_EVENTS))


def conformed_events(lake: Lake) -> pl.DataFrame:
    """Every conformed event."""
    return read_polars(lake.table(tables.EVENTS))


def quarantined(lake: Lake) -> pl.DataFrame:
    """Quarantine records of the events table."""
    return read_polars(lake.table(tables.QUARANTINE)).filter(pl.col("entity") == tables.EVENTS.full_name)


def assert_exactly_once(lake: Lake, produced_ids: set[str], produced_messages: int) -> None:
    """Each produced message landed once in raw (one row per offset), each distinct event once in conformed."""
    raw = raw_events(lake)
    assert raw.height == produced_messages, f"raw holds {raw.height} rows for {produced_messages} messages"
    assert raw.select("topic", "partition", "offset").n_unique() == raw.height, "an offset landed twice"
    ids = conformed_events(lake)["event_id"]
    assert ids.len() == ids.n_unique(), "an event was written twice"
    assert set(ids.to_list()) == produced_ids


class HandedIn:
    """A message source without a broker: hands a fixed list of messages to the worker once."""

    def __init__(self, batch: list[StreamMessage]):
        self.batch = batch
        self.sought: list[Mapping[tuple[str, int], int]] = []
        self.assigned = {(m.topic, m.partition) for m in batch}

    def consume(self, max_messages: int, timeout: float) -> list[StreamMessage]:
        batch, self.batch = self.batch, []
        return batch

    def seek(self, positions: Mapping[tuple[str, int], int]) -> None:
        self.sought.append(dict(positions))

    def commit_advisory(self, positions: Mapping[tuple[str, int], int]) -> None:
        pass

    def end_offsets(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        return {}


class Scheduled(HandedIn):
    """Hands in each group of messages once its time (seconds after the first read) has come."""

    def __init__(self, deliveries: list[tuple[float, list[StreamMessage]]]):
        super().__init__([m for _, group in deliveries for m in group])
        self.deliveries = sorted(deliveries, key=lambda d: d[0])
        self._start: float | None = None

    def consume(self, max_messages: int, timeout: float) -> list[StreamMessage]:
        now = time.monotonic()
        self._start = self._start if self._start is not None else now
        elapsed = now - self._start
        if self.deliveries and self.deliveries[0][0] <= elapsed:
            return self.deliveries.pop(0)[1]
        next_due = self.deliveries[0][0] - elapsed if self.deliveries else timeout
        time.sleep(max(0.0, min(timeout, next_due)))
        return []
