"""Kafka through confluent-kafka (librdkafka): the only module that imports the client.

The consumer never trusts Kafka's committed offsets: whoever owns it hands in, on every partition
assignment, the offsets recorded in the lakehouse, and the consumer starts there. Offsets are still
committed to Kafka after each lakehouse commit, as an advisory for lag tools.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from core.errors import TerminalError, TransientError

logger = logging.getLogger(__name__)

Partition = tuple[str, int]
OnAssign = Callable[[list[Partition]], Mapping[Partition, int]]
OnRevoke = Callable[[list[Partition]], None]


class StreamMessage(NamedTuple):
    """One record as read from a partition (a tuple: built once per message, so it must be cheap)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None


@dataclass(frozen=True)
class ConsumerOptions:
    """Group membership timings; Tansu and small clusters want a short session (the join waits ~half of it)."""

    session_timeout_ms: int = 6000
    heartbeat_interval_ms: int = 1000
    max_poll_interval_ms: int = 300_000


class KafkaEventSource:
    """A consumer-group member whose start positions come from the caller, not from Kafka."""

    def __init__(
        self,
        bootstrap_servers: str,
        group_id: str,
        topics: Iterable[str],
        *,
        on_assign: OnAssign,
        on_revoke: OnRevoke,
        options: ConsumerOptions = ConsumerOptions(),  # noqa: B008 - frozen
    ):
        self.bootstrap_servers = bootstrap_servers
        self.topics = list(topics)
        self._on_assign = on_assign
        self._on_revoke = on_revoke
        self._assigned: set[Partition] = set()
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers,
                "group.id": group_id,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": options.session_timeout_ms,
                "heartbeat.interval.ms": options.heartbeat_interval_ms,
                "max.poll.interval.ms": options.max_poll_interval_ms,
                "enable.partition.eof": False,
                "socket.connection.setup.timeout.ms": 10_000,
                "logger": logger,
            }
        )
        self._consumer.subscribe(self.topics, on_assign=self._assign, on_revoke=self._revoke, on_lost=self._lost)

    @property
    def assigned(self) -> set[Partition]:
        """The partitions this member owns now."""
        return set(self._assigned)

    def consume(self, max_messages: int, timeout: float) -> list[StreamMessage]:
        """Up to `max_messages` records, waiting at most `timeout` seconds; rebalance callbacks run in here."""
        records = self._consumer.consume(num_messages=max_messages, timeout=timeout)
        messages = []
        for record in records:
            error = record.error()
            if error is not None:
                self._raise(error)
                continue
            stamp_type, stamp = record.timestamp()
            topic, partition, offset = record.topic(), record.partition(), record.offset()
            if topic is None or partition is None or offset is None:
                continue  # only error events lack a position, and those were handled above
            messages.append(
                StreamMessage(
                    topic=topic, partition=partition, offset=offset, key=record.key(), value=record.value(),
                    timestamp_ms=stamp if stamp_type else None,
                )
            )  # fmt: skip
        return messages

    def seek(self, positions: Mapping[Partition, int]) -> None:
        """Move owned partitions to the given next offsets (after a batch was dropped)."""
        for (topic, partition), offset in positions.items():
            if (topic, partition) in self._assigned:
                self._consumer.seek(TopicPartition(topic, partition, offset))

    def commit_advisory(self, positions: Mapping[Partition, int]) -> None:
        """Tell Kafka how far the lakehouse got, for lag tools; never read back by the worker."""
        owned = [TopicPartition(t, p, o) for (t, p), o in positions.items() if (t, p) in self._assigned]
        if owned:
            try:
                self._consumer.commit(offsets=owned, asynchronous=True)
            except KafkaException as exc:
                logger.info("advisory offset commit skipped: %s", exc)

    def end_offsets(self, partitions: Iterable[Partition]) -> dict[Partition, int]:
        """The high watermarks the last fetches reported (no broker round trip; some brokers report them low)."""
        ends = {}
        for topic, partition in partitions:
            try:
                _, high = self._consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            except KafkaException:
                continue
            ends[(topic, partition)] = high
        return ends

    def close(self) -> None:
        """Leave the group (revoking partitions, which flushes the owner's batch)."""
        self._consumer.close()

    def _assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        wanted = [(p.topic, p.partition) for p in partitions]
        starts = self._on_assign(wanted)
        for tp in partitions:
            tp.offset = starts.get((tp.topic, tp.partition), OFFSET_BEGINNING)
        consumer.assign(partitions)
        self._assigned = set(wanted)
        logger.info("assigned %s", _describe(partitions))

    def _revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._on_revoke([(p.topic, p.partition) for p in partitions])
        consumer.unassign()
        self._assigned = set()
        logger.info("revoked %s", _describe(partitions))

    def _lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Partitions taken away without a clean revoke: their pending batch may no longer be ours to commit."""
        logger.warning("lost %s; the pending batch will be re-checked against the table", _describe(partitions))
        self._revoke(consumer, partitions)

    def _raise(self, error: KafkaError) -> None:
        if error.code() == KafkaError._PARTITION_EOF:
            return
        message = f"Kafka at {self.bootstrap_servers}: {error.str()}"
        if error.fatal() or error.code() in {KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError.TOPIC_AUTHORIZATION_FAILED}:
            raise TerminalError(message, source="kafka")
        if error.retriable() or error.code() in {KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN}:
            logger.warning("%s (retrying)", message)
            return
        raise TransientError(message, source="kafka")


class EventProducer:
    """An idempotent producer, for the dead-letter topic, replaying sample events and tests."""

    def __init__(self, bootstrap_servers: str, *, linger_ms: int = 20):
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                "enable.idempotence": True,
                "linger.ms": linger_ms,
                "batch.num.messages": 10_000,
                "logger": logger,
            }
        )
        self._failed: list[str] = []

    def send(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        headers: dict[str, str | bytes | None] | None = None,
    ) -> None:
        """Queue one record; waits for room when the local queue is full."""
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, headers=headers, on_delivery=self._delivered)
                return
            except BufferError:
                self._producer.poll(0.1)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait for every queued record; TransientError if any could not be delivered."""
        remaining = self._producer.flush(timeout)
        failed, self._failed = self._failed, []
        if remaining or failed:
            reason = failed[0] if failed else f"{remaining} record(s) still queued after {timeout}s"
            raise TransientError(f"could not deliver {len(failed) or remaining} record(s): {reason}", source="kafka")

    def _delivered(self, error: KafkaError | None, _record: Any) -> None:
        if error is not None:
            self._failed.append(error.str())


def ensure_topic(bootstrap_servers: str, topic: str, *, partitions: int = 3, timeout: float = 10.0) -> None:
    """Create `topic` with `partitions` partitions unless it exists."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    try:
        futures[topic].result(timeout)
    except KafkaException as exc:
        if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise TerminalError(f"could not create topic {topic}: {exc.args[0].str()}", source="kafka") from exc


def _describe(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{p.topic}[{p.partition}]" for p in partitions) or "nothing"
