"""Behavioural events: validated against the schema of their type, known fields promoted to columns.

The same parser serves the file loader and the Kafka worker, so a message is judged the same way
wherever it comes from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from ingest.model import Conformed, ConformEnv, RowRejection, Write
from ingest.validate import FUTURE_TIMESTAMP, INVALID_JSON, INVALID_TYPE, MISSING_FIELD, OVERSIZE, UNKNOWN_TYPE
from schema import lake as tables

EVENT_TYPES = frozenset({"view", "click", "add_to_cart", "remove_from_cart", "search", "login", "checkout", "purchase"})
# Fields an event of each type must carry (top level, or in metadata for the metadata-borne ones).
REQUIRED_BY_TYPE: dict[str, tuple[str, ...]] = {
    "add_to_cart": ("product_id",),
    "remove_from_cart": ("product_id",),
    "search": ("query",),
    "login": ("success",),
    "purchase": ("order_id",),
}
# metadata key -> (column, expected Python type)
PROMOTED: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "page_url": ("page_url", str),
    "referrer": ("referrer", str),
    "user_agent": ("user_agent", str),
    "query": ("search_query", str),
    "success": ("login_success", bool),
    "quantity": ("quantity", int),
    "price": ("price", (int, float, str)),
}
MAX_EVENT_BYTES = 64 * 1024


class EventError(ValueError):
    """Raised when a message is not a valid event; carries the reason code and field."""

    def __init__(self, reason_code: str, column: str | None, message: str):
        super().__init__(message)
        self.reason_code = reason_code
        self.column = column


@dataclass(frozen=True)
class EventRules:
    """Limits applied to every event."""

    max_bytes: int = MAX_EVENT_BYTES
    future_tolerance: timedelta = timedelta(minutes=5)


def parse_event(text: str | bytes, *, now: datetime, rules: EventRules = EventRules()) -> dict[str, Any]:  # noqa: B008
    """Validate one message and return the row for `conformed.events` (without lineage)."""
    if len(text) > rules.max_bytes:
        raise EventError(OVERSIZE, None, f"event of {len(text)} bytes exceeds {rules.max_bytes}")
    try:
        event = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EventError(INVALID_JSON, None, f"not JSON: {exc}") from exc
    if not isinstance(event, dict):
        raise EventError(INVALID_TYPE, None, "event must be a JSON object")
    event_type = _required_text(event, "event_type")
    if event_type not in EVENT_TYPES:
        raise EventError(UNKNOWN_TYPE, "event_type", f"unknown event type {event_type!r:.40}")
    metadata = event.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise EventError(INVALID_TYPE, "metadata", "metadata must be an object")
    for name in REQUIRED_BY_TYPE.get(event_type, ()):
        if event.get(name) is None and metadata.get(name) is None:
            raise EventError(MISSING_FIELD, name, f"{event_type} event needs {name}")
    event_ts = _timestamp(event.get("event_ts"))
    if event_ts > now + rules.future_tolerance:
        raise EventError(FUTURE_TIMESTAMP, "event_ts", f"event_ts {event_ts.isoformat()} is in the future")
    if event.get("device_id") is None and event.get("user_id") is None:
        raise EventError(MISSING_FIELD, "device_id", "an event needs a device_id or a user_id")
    row: dict[str, Any] = {
        "event_id": _required_text(event, "event_id"),
        "event_type": event_type,
        "event_ts": event_ts,
        "device_id": _optional(event, "device_id", str),
        "user_id": _optional(event, "user_id", int),
        "session_id": _optional(event, "session_id", str),
        "product_id": _optional(event, "product_id", str),
        "order_id": _optional(event, "order_id", int),
    }
    row.update(_promote(metadata))
    known = {"event_id", "event_type", "event_ts", "device_id", "user_id", "session_id", "product_id", "order_id"}
    rest = {k: v for k, v in metadata.items() if k not in PROMOTED}
    rest.update({k: v for k, v in event.items() if k not in known and k != "metadata"})
    row["metadata"] = json.dumps(rest, sort_keys=True) if rest else None
    return row


def _required_text(event: dict[str, Any], name: str) -> str:
    value = event.get(name)
    if value is None or value == "":
        raise EventError(MISSING_FIELD, name, f"{name} is required")
    if not isinstance(value, str):
        raise EventError(INVALID_TYPE, name, f"{name} must be text")
    return value


def _optional(event: dict[str, Any], name: str, kind: type) -> Any:
    value = event.get(name)
    if value is None:
        return None
    if kind is int and isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise EventError(INVALID_TYPE, name, f"{name} must be {kind.__name__}")
    return value


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise EventError(
            MISSING_FIELD if value is None else INVALID_TYPE, "event_ts", "event_ts must be an ISO timestamp"
        )
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise EventError(INVALID_TYPE, "event_ts", f"event_ts {value!r:.40} is not a timestamp") from exc
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _promote(metadata: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {column: None for column, _ in PROMOTED.values()}
    for key, (column, kind) in PROMOTED.items():
        value = metadata.get(key)
        if value is None:
            continue
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            raise EventError(INVALID_TYPE, f"metadata.{key}", f"metadata.{key} has the wrong type")
        row[column] = _price(value) if column == "price" else value
    return row


def _price(value: Any) -> Decimal:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise EventError(INVALID_TYPE, "metadata.price", f"price {value!r:.40} is not an amount") from exc


# Arrow types of a conformed event row (as parse_event returns it, plus lineage).
ROW_TYPES: dict[str, pa.DataType] = {
    "event_id": pa.string(), "event_type": pa.string(), "event_ts": pa.timestamp("us", tz="UTC"),
    "device_id": pa.string(), "user_id": pa.int64(), "session_id": pa.string(), "product_id": pa.string(),
    "order_id": pa.int64(), "page_url": pa.string(), "referrer": pa.string(), "user_agent": pa.string(),
    "search_query": pa.string(), "login_success": pa.bool_(), "quantity": pa.int32(), "price": pa.decimal128(12, 2),
    "metadata": pa.string(), "_topic": pa.string(), "_partition": pa.int32(), "_offset": pa.int64(),
    "_batch_id": pa.string(), "_ingested_at": pa.timestamp("us", tz="UTC"),
}  # fmt: skip


def conform_events(raw: pa.Table, env: ConformEnv) -> Conformed:
    """Raw messages to `conformed.events`; a redelivered event keeps its first offset, bad ones are rejected."""
    rows: dict[str, dict[str, Any]] = {}
    rejected: list[RowRejection] = []
    rules = EventRules(future_tolerance=env.future_tolerance)
    ordered = raw.sort_by([("topic", "ascending"), ("partition", "ascending"), ("offset", "ascending")])
    columns = ("payload", "_watermark", "_batch_id", "topic", "partition", "offset", "_ingested_at")
    for payload, position, batch_id, topic, partition, offset, ingested_at in zip(
        *(ordered.column(c).to_pylist() for c in columns), strict=True
    ):
        try:
            row = parse_event(payload or "", now=env.now, rules=rules)
        except EventError as exc:
            rejected.append(RowRejection(position, batch_id, exc.column, str(exc), payload, exc.reason_code))
            continue
        row.update(_topic=topic, _partition=partition, _offset=offset, _batch_id=batch_id, _ingested_at=ingested_at)
        rows.setdefault(row["event_id"], row)
    accepted = list(rows.values())
    table = pa.table({name: pa.array([r[name] for r in accepted], kind) for name, kind in ROW_TYPES.items()})
    return Conformed(writes=[Write(tables.EVENTS, "upsert", table)], rejections=rejected)
