"""The stream worker: Kafka micro-batches into Iceberg, exactly once.

Each micro-batch (closed by size or by time) is appended to `raw.events` with the next offset of
every partition in the same commit's summary (`c360.kafka.offsets`); the commit is planned against
the table as it stands, so messages another member already committed are dropped, never written
twice. Start positions come from the table on every assignment, so a SIGKILL at any point re-reads
at most the uncommitted batch. The batch is then conformed into `conformed.events` (deduplicated by
`event_id`) by the same idempotent catch-up the batch workers use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from core.config import KafkaSettings
from core.errors import ConfigurationError
from ingest import offsets, quarantine
from ingest.conform import advance
from ingest.entities import EVENTS
from ingest.landing import POSITION, BatchCounts, batch_properties, with_lineage
from ingest.metrics import StreamMetrics
from ingest.model import BatchContext, ConformEnv
from ingest.sources.kafka import ConsumerOptions, EventProducer, KafkaEventSource, StreamMessage
from ingest.suppression import Suppressor, event_identifiers, without_suppressed
from lakehouse import write
from lakehouse.lake import Lake
from schema.lake import PROP_KAFKA_OFFSETS

logger = logging.getLogger(__name__)

Partition = tuple[str, int]
FRESHNESS_SAMPLE = 1000
_READ_CHUNK = 10_000  # messages asked of the consumer per read
_GLANCE_SECONDS = 0.05  # a read this short that comes back short means the worker has caught up


class MessageSource(Protocol):
    """What the worker needs of a consumer (KafkaEventSource in production)."""

    def consume(self, max_messages: int, timeout: float) -> list[StreamMessage]: ...
    def seek(self, positions: Mapping[Partition, int]) -> None: ...
    def commit_advisory(self, positions: Mapping[Partition, int]) -> None: ...
    def end_offsets(self, partitions: list[Partition]) -> dict[Partition, int]: ...
    @property
    def assigned(self) -> set[Partition]: ...


@dataclass(frozen=True)
class StreamOptions:
    """When a micro-batch closes, and how far ahead of the clock an event may be stamped.

    A batch closes at `max_batch_messages`, at `max_batch_seconds`, or as soon as the worker has
    caught up with the topic (a read came back short) once the batch is `min_batch_seconds` old:
    waiting out the full interval with nothing more to read would only add to every event's delay,
    while the floor keeps a trickle of events from becoming a commit per message.
    """

    max_batch_messages: int = 100_000
    max_batch_seconds: float = 2.0
    min_batch_seconds: float = 0.5
    future_tolerance: timedelta = timedelta(minutes=5)


@dataclass
class StreamBatch:
    """What one micro-batch did: messages read = landed + skipped (already in the table) + suppressed."""

    batch_id: str
    read: int
    landed: int = 0
    skipped: int = 0
    suppressed: int = 0  # messages of erased data subjects: their offsets pass, nothing is written
    rejected: int = 0
    seconds: float = 0.0
    positions: dict[Partition, int] = field(default_factory=dict)
    opened_at: float = 0.0  # time.monotonic() when its first message arrived
    committed_at: float = 0.0  # time.monotonic() when its rows were committed and conformed


DeadLetters = Callable[[list[quarantine.QuarantinedRecord]], None]
OnConformed = Callable[[pa.Table], None]  # the conformed event rows of a committed batch


class StreamWorker:
    """Owns the pending micro-batch; the consumer calls `positions_for` and `flush` on rebalances."""

    def __init__(
        self,
        lake: Lake,
        *,
        options: StreamOptions = StreamOptions(),  # noqa: B008 - frozen
        metrics: StreamMetrics | None = None,
        dead_letters: DeadLetters | None = None,
        on_conformed: OnConformed | None = None,
        suppressor: Suppressor | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.lake = lake
        self.options = options
        self.metrics = metrics or StreamMetrics()
        self.dead_letters = dead_letters
        self.on_conformed = on_conformed
        self.suppressor = suppressor
        self.clock = clock
        self.batches: list[StreamBatch] = []
        self._pending: list[StreamMessage] = []
        self._opened_at = 0.0
        self._source: MessageSource | None = None
        self._seen_ends: dict[Partition, int] = {}
        self._lock = threading.RLock()
        self.assigned = threading.Event()  # set once the group gave this worker partitions

    def positions_for(self, partitions: list[Partition]) -> dict[Partition, int]:
        """Start positions of newly assigned partitions: the offsets recorded in the table."""
        table = self.lake.table(EVENTS.raw)
        table.refresh()
        recorded = offsets.committed(table)
        starts = {p: recorded[p] for p in partitions if p in recorded}
        logger.info("starting %d partition(s) from the table's offsets: %s", len(partitions), offsets.render(starts))
        self.assigned.set()
        return starts

    def on_revoke(self, _partitions: list[Partition]) -> None:
        """Commit what is pending before the partitions go to another member."""
        self.flush()

    def run(self, source: MessageSource, *, stop: threading.Event, idle_seconds: float | None = None) -> None:
        """Consume and commit micro-batches until `stop` is set, or nothing arrived for `idle_seconds` once assigned."""
        self._source = source
        idle_since = time.monotonic()
        while not stop.is_set():
            asked = min(self.options.max_batch_messages - len(self._pending), _READ_CHUNK)
            messages = source.consume(asked, self._wait())
            now = time.monotonic()
            if messages or not source.assigned:
                idle_since = now
            if messages:
                with self._lock:
                    if not self._pending:
                        self._opened_at = now
                    self._pending.extend(messages)
            if self._pending and self._batch_closes(caught_up=len(messages) < asked):
                self.flush()
            if idle_seconds is not None and not self._pending and now - idle_since >= idle_seconds:
                break
        self.flush()

    def flush(self) -> StreamBatch | None:
        """Commit the pending micro-batch (rows and offsets in one Iceberg commit), then conform it."""
        with self._lock:
            messages, self._pending = self._pending, []
            if not messages:
                return None
            return self._commit(messages)

    def _age(self) -> float:
        return time.monotonic() - self._opened_at

    def _wait(self) -> float:
        """How long the next read may wait: until the batch may close, then only a glance."""
        if not self._pending:
            return min(self.options.max_batch_seconds, 0.5)
        until_floor = self.options.min_batch_seconds - self._age()
        until_ceiling = self.options.max_batch_seconds - self._age()
        return max(0.01, min(until_ceiling, max(until_floor, _GLANCE_SECONDS)))

    def _batch_closes(self, *, caught_up: bool) -> bool:
        options, age = self.options, self._age()
        if len(self._pending) >= options.max_batch_messages or age >= options.max_batch_seconds:
            return True
        return caught_up and age >= options.min_batch_seconds

    def _commit(self, messages: list[StreamMessage]) -> StreamBatch:
        started = time.monotonic()
        ctx = BatchContext(_source_name(messages), _batch_id(messages), self.clock())
        table = self.lake.table(EVENTS.raw)
        staged = with_lineage(table, message_rows(messages), ctx)
        received = offsets.next_positions(staged)
        batch = StreamBatch(ctx.batch_id, read=len(messages))
        landed: pa.Table = staged

        def plan(lookup: Callable[[str], str | None]) -> tuple[pa.Table, dict[str, str]]:
            nonlocal landed
            recorded = offsets.committed_in(lookup)
            fresh = offsets.not_yet_committed(staged, recorded)
            batch.positions = recorded | offsets.next_positions(fresh)  # past suppressed messages too
            landed, batch.suppressed = fresh, 0
            if not len(fresh):
                return landed, {}
            landed, batch.suppressed = without_suppressed(fresh, self.suppressor, event_identifiers)
            counts = BatchCounts(EVENTS.name, ctx.batch_id, len(fresh), len(landed), suppressed=batch.suppressed)
            return landed, batch_properties(ctx, counts) | {PROP_KAFKA_OFFSETS: offsets.render(batch.positions)}

        result = write.append_checked(table, plan)
        batch.landed, batch.skipped = len(landed), len(messages) - len(landed) - batch.suppressed
        if batch.skipped:
            logger.warning("%d message(s) of %s were already committed by another member", batch.skipped, ctx.batch_id)
            if self._source is not None:
                self._source.seek(received | batch.positions)
        if result.snapshot_id is not None and len(landed):
            self._conform(result.snapshot_id, landed, batch)
        batch.committed_at = time.monotonic()
        batch.opened_at, batch.seconds = self._opened_at, batch.committed_at - started
        self._observe(messages, received, batch)
        self.batches.append(batch)
        return batch

    def _conform(self, snapshot_id: int, landed: pa.Table, batch: StreamBatch) -> None:
        env = ConformEnv(now=self.clock(), catalogue=dict, future_tolerance=self.options.future_tolerance)
        report = advance(self.lake, EVENTS, env, landed=(snapshot_id, landed))
        batch.rejected = report.rows_rejected
        if report.rejected and self.dead_letters is not None:
            self.dead_letters(report.rejected)
        if report.merged and self.on_conformed is not None:
            try:
                self.on_conformed(pa.concat_tables(report.merged, promote_options="default"))
            except Exception:  # the events are committed; serving catches up at the next build
                logger.exception("updating what is served from batch %s failed", batch.batch_id)

    def _observe(self, messages: list[StreamMessage], received: dict[Partition, int], batch: StreamBatch) -> None:
        """Metrics, advisory Kafka commit and a log line for a committed batch.

        Freshness is observed on an even sample of at most FRESHNESS_SAMPLE messages per batch, so
        the histogram costs the same at 100 or 100,000 messages a batch.
        """
        committed_at = time.time()
        metrics = self.metrics
        metrics.batches.inc()
        metrics.messages.labels("landed").inc(batch.landed - batch.rejected)
        metrics.messages.labels("quarantined").inc(batch.rejected)
        metrics.messages.labels("skipped").inc(batch.skipped)
        metrics.batch_seconds.observe(time.monotonic() - self._opened_at)
        for message in messages[:: max(1, len(messages) // FRESHNESS_SAMPLE)]:
            if message.timestamp_ms is not None:
                metrics.freshness_seconds.observe(max(0.0, committed_at - message.timestamp_ms / 1000))
        for partition, end in received.items():
            self._seen_ends[partition] = max(end, self._seen_ends.get(partition, 0))
        if self._source is not None:
            self._source.commit_advisory(batch.positions)
            ends = self._source.end_offsets(list(batch.positions))
            known = {p: max(ends.get(p, 0), self._seen_ends.get(p, 0)) for p in batch.positions}
            metrics.record_lag(batch.positions, known)
        logger.info(
            "committed %s: read=%d landed=%d skipped=%d suppressed=%d quarantined=%d in %.2fs",
            batch.batch_id, batch.read, batch.landed, batch.skipped, batch.suppressed, batch.rejected, batch.seconds,
        )  # fmt: skip


def message_rows(messages: list[StreamMessage]) -> pa.Table:
    """Raw `events` rows of the messages, with each one's position (the message tuples transposed at once)."""
    topics, partitions, offsets_, keys, values, stamps = zip(*messages, strict=True) if messages else ((),) * 6
    topic = pa.array(topics, pa.string())
    partition = pa.array(partitions, pa.int32())
    offset = pa.array(offsets_, pa.int64())
    return pa.table({
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "message_key": _text(keys),
        "payload": _text(values),
        "received_at": pa.array(stamps, pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
        POSITION: pc.binary_join_element_wise(topic, partition.cast(pa.string()), offset.cast(pa.string()), "|"),
    })  # fmt: skip


def _text(values: tuple[bytes | None, ...]) -> pa.Array:
    """Message bytes as text; bytes that are not UTF-8 are replaced (the conformer then refuses the event)."""
    raw = pa.array(values, pa.binary())
    try:
        return raw.cast(pa.string())
    except pa.ArrowInvalid:
        return pa.array([None if v is None else v.decode("utf-8", errors="replace") for v in values], pa.string())


def _source_name(messages: list[StreamMessage]) -> str:
    return "kafka:" + ",".join(sorted({m.topic for m in messages}))


def _batch_id(messages: list[StreamMessage]) -> str:
    """Named after the first offset of each partition it holds, so a re-read batch is recognisable."""
    firsts: dict[Partition, int] = {}
    for m in messages:
        firsts.setdefault((m.topic, m.partition), m.offset)
    digest = hashlib.sha256(offsets.render(firsts).encode()).hexdigest()[:12]
    return f"events-{digest}"


def stream_worker(
    lake: Lake,
    kafka: KafkaSettings,
    *,
    metrics: StreamMetrics | None = None,
    on_conformed: OnConformed | None = None,
    suppressor: Suppressor | None = None,
) -> StreamWorker:
    """A worker configured from the Kafka settings (batch limits, event-time tolerance, dead letters).

    `on_conformed` receives each batch's conformed events once they are committed (the serving
    store's fresh activity); `suppressor` drops the messages of erased data subjects.
    """
    if not kafka.bootstrap_servers:
        raise ConfigurationError("C360_KAFKA__BOOTSTRAP_SERVERS is not set")
    options = StreamOptions(
        max_batch_messages=kafka.max_batch_messages,
        max_batch_seconds=kafka.max_batch_seconds,
        min_batch_seconds=kafka.min_batch_seconds,
        future_tolerance=timedelta(seconds=kafka.future_tolerance_seconds),
    )
    dead_letters = None
    if kafka.dead_letter_topic:
        dead_letters = partial(send_dead_letters, EventProducer(kafka.bootstrap_servers), kafka.dead_letter_topic)
    return StreamWorker(
        lake, options=options, metrics=metrics, dead_letters=dead_letters, on_conformed=on_conformed,
        suppressor=suppressor,
    )  # fmt: skip


def consume_events(
    worker: StreamWorker, kafka: KafkaSettings, *, stop: threading.Event, idle_seconds: float | None = None
) -> StreamWorker:
    """Join the group on the configured topic and run `worker` until `stop` (or idle); leaving flushes."""
    source = KafkaEventSource(
        str(kafka.bootstrap_servers), kafka.group_id, [kafka.events_topic],
        on_assign=worker.positions_for, on_revoke=worker.on_revoke,
        options=ConsumerOptions(session_timeout_ms=kafka.session_timeout_ms),
    )  # fmt: skip
    try:
        worker.run(source, stop=stop, idle_seconds=idle_seconds)
    finally:
        source.close()
    return worker


def send_dead_letters(producer: EventProducer, topic: str, records: list[quarantine.QuarantinedRecord]) -> None:
    """Copy refused messages to the dead-letter topic with the reason in headers (at least once)."""
    for record in records:
        payload = record.payload if isinstance(record.payload, str) else json.dumps(record.payload, default=str)
        headers: dict[str, str | bytes | None] = {
            "c360.reason": record.reason_code, "c360.message": record.message, "c360.position": record.position,
        }  # fmt: skip
        producer.send(topic, payload.encode(), headers=headers)
    producer.flush()
