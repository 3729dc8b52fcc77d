"""Kafka positions as the lakehouse records them: the next offset of every topic partition taken in.

They live in the `c360.kafka.offsets` summary property of the raw events commit that took the
rows in, so rows and progress land together or not at all. The map is cumulative: each commit
carries every partition's position, merged with what the commit before it recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.lake import Table
from lakehouse.snapshots import last_property
from schema.lake import PROP_KAFKA_OFFSETS

Partition = tuple[str, int]


def parse(value: str | None) -> dict[Partition, int]:
    """`{"topic:partition": next_offset}` JSON as a map; empty when nothing was recorded yet."""
    if not value:
        return {}
    positions = {}
    for name, offset in json.loads(value).items():
        topic, _, partition = name.rpartition(":")
        positions[(topic, int(partition))] = int(offset)
    return positions


def render(positions: Mapping[Partition, int]) -> str:
    """The map as the JSON kept in the snapshot summary, in a stable order."""
    return json.dumps({f"{t}:{p}": o for (t, p), o in sorted(positions.items())}, separators=(",", ":"))


def committed(table: Table) -> dict[Partition, int]:
    """The positions recorded in the table's current lineage."""
    return parse(last_property(table, PROP_KAFKA_OFFSETS))


def committed_in(lookup: Callable[[str], str | None]) -> dict[Partition, int]:
    """The positions recorded in the lineage behind `lookup` (a commit being planned)."""
    return parse(lookup(PROP_KAFKA_OFFSETS))


def not_yet_committed(rows: pa.Table, positions: Mapping[Partition, int]) -> pa.Table:
    """The rows (with topic, partition, offset columns) at or past the recorded position of their partition."""
    if not positions or not len(rows):
        return rows
    keep = pa.array([True] * len(rows))
    for (topic, partition), offset in positions.items():
        behind = pc.and_(
            pc.and_(pc.equal(rows["topic"], topic), pc.equal(rows["partition"], partition)),
            pc.less(rows["offset"], offset),
        )
        keep = pc.and_(keep, pc.invert(behind))
    return rows.filter(keep)


def next_positions(rows: pa.Table) -> dict[Partition, int]:
    """For each topic partition in `rows`, one past its highest offset."""
    if not len(rows):
        return {}
    grouped = rows.group_by(["topic", "partition"]).aggregate([("offset", "max")])
    return {
        (topic, partition): offset + 1
        for topic, partition, offset in zip(
            grouped["topic"].to_pylist(), grouped["partition"].to_pylist(), grouped["offset_max"].to_pylist(),
            strict=True,
        )
    }  # fmt: skip
