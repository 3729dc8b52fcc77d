"""Send a JSON-lines file of events to a topic: the sample replay of `c360 run` and `c360 events send`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ingest.sources.kafka import EventProducer, ensure_topic


def message_key(line: bytes) -> bytes:
    """The device (else the user) of an event, so one device's events keep their order in one partition.

    Other lines (no device or user, or not JSON: the worker, not the sender, judges them) are keyed
    by their content, so a replay of the same file puts every line at the same partition and offset.
    """
    try:
        event = json.loads(line)
    except ValueError:
        event = None
    key = (event.get("device_id") or event.get("user_id")) if isinstance(event, dict) else None
    return str(key).encode() if key is not None else hashlib.sha256(line).hexdigest()[:16].encode()


def send_lines(bootstrap_servers: str, topic: str, path: Path, *, partitions: int = 3) -> int:
    """Send every non-blank line of `path` as one message; returns how many were sent."""
    ensure_topic(bootstrap_servers, topic, partitions=partitions)
    producer = EventProducer(bootstrap_servers)
    sent = 0
    with path.open("rb") as lines:
        for line in lines:
            line = line.rstrip(b"\r\n")
            if line.strip():
                producer.send(topic, line, key=message_key(line))
                sent += 1
    producer.flush()
    return sent
