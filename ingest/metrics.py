"""Prometheus metrics of the stream worker, served on its own loopback port.

Lag is measured from the offsets committed in the lakehouse (not Kafka's advisory ones) to the
furthest offset the worker knows exists: the broker's high watermark or, where a broker reports
that too low, one past the highest offset the worker has received.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

Partition = tuple[str, int]
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)


class StreamMetrics:
    """Events/s, batch latency, freshness and per-partition lag of one worker."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        self.messages = Counter(
            "c360_stream_messages", "Kafka messages taken in, by outcome", ["outcome"], registry=self.registry
        )
        self.batches = Counter("c360_stream_batches", "Micro-batches committed to Iceberg", registry=self.registry)
        self.batch_seconds = Histogram(
            "c360_stream_batch_seconds",
            "Time from a batch's first message being received to its Iceberg commit",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.freshness_seconds = Histogram(
            "c360_stream_freshness_seconds",
            "Time from a message entering Kafka (its timestamp) to its Iceberg commit",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.lag = Gauge(
            "c360_stream_lag_messages",
            "Messages in Kafka past the offset committed in the lakehouse",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.committed_offset = Gauge(
            "c360_stream_committed_offset",
            "Next offset the lakehouse will take in",
            ["topic", "partition"],
            registry=self.registry,
        )

    def record_lag(self, committed: Mapping[Partition, int], known_ends: Mapping[Partition, int]) -> None:
        """Set lag and committed offset for every partition either map names."""
        for topic, partition in set(committed) | set(known_ends):
            position = committed.get((topic, partition), 0)
            end = max(known_ends.get((topic, partition), 0), position)
            self.lag.labels(topic, str(partition)).set(end - position)
            self.committed_offset.labels(topic, str(partition)).set(position)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Serve `/metrics` on `host:port` from a daemon thread."""
        start_http_server(port, addr=host, registry=self.registry)
