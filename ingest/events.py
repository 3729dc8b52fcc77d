"""Behavioural events: validated against the schema of their type, known fields promoted to columns.

The same parser serves the file loader and the Kafka worker, so a message is judged the same way
wherever it comes from.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
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
_PROMOTED_AT = {key: (index, kind) for index, (key, (_, kind)) in enumerate(PROMOTED.items())}
MAX_EVENT_BYTES = 64 * 1024
# Top-level keys with a column of their own; any other top-level key joins the metadata JSON.
_TOP_LEVEL = frozenset(
    {"event_id", "event_type", "event_ts", "device_id", "user_id", "session_id", "product_id", "order_id", "metadata"}
)


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
    return dict(zip(ROW_TYPES, event_values(text, now=now, rules=rules), strict=True))


def event_values(text: str | bytes, *, now: datetime, rules: EventRules) -> tuple[Any, ...]:
    """Validate one message; its column values in `ROW_TYPES` order (a tuple: batches transpose them whole).

    Checks run in a fixed order and the first failure is the reason given.
    """
    if len(text) > rules.max_bytes:
        raise EventError(OVERSIZE, None, f"event of {len(text)} bytes exceeds {rules.max_bytes}")
    try:
        event = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
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
    device_id, user_id = event.get("device_id"), event.get("user_id")
    if device_id is None and user_id is None:
        raise EventError(MISSING_FIELD, "device_id", "an event needs a device_id or a user_id")
    event_id = _required_text(event, "event_id")
    fields = (
        _optional(device_id, "device_id", str), _optional(user_id, "user_id", int),
        _optional(event.get("session_id"), "session_id", str), _optional(event.get("product_id"), "product_id", str),
        _optional(event.get("order_id"), "order_id", int),
    )  # fmt: skip
    promoted = _promote(metadata)
    rest = {k: v for k, v in metadata.items() if k not in PROMOTED}
    if extra := event.keys() - _TOP_LEVEL:
        rest.update({k: event[k] for k in extra})
    rest_json = orjson.dumps(rest, option=orjson.OPT_SORT_KEYS).decode() if rest else None
    return (event_id, event_type, event_ts, *fields, *promoted, rest_json)


def _required_text(event: dict[str, Any], name: str) -> str:
    value = event.get(name)
    if value is None or value == "":
        raise EventError(MISSING_FIELD, name, f"{name} is required")
    if not isinstance(value, str):
        raise EventError(INVALID_TYPE, name, f"{name} must be text")
    return value


def _optional(value: Any, name: str, kind: type) -> Any:
    if value is None or (type(value) is kind):
        return value
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
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise EventError(INVALID_TYPE, "event_ts", f"event_ts {value!r:.40} is not a timestamp") from exc
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _promote(metadata: dict[str, Any]) -> list[Any]:
    """Values of the promoted metadata fields, in PROMOTED order (None where absent)."""
    values: list[Any] = [None] * len(PROMOTED)
    for key, value in metadata.items():
        if value is None or (spec := _PROMOTED_AT.get(key)) is None:
            continue
        index, kind = spec
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            raise EventError(INVALID_TYPE, f"metadata.{key}", f"metadata.{key} has the wrong type")
        values[index] = _price(value) if key == "price" else value
    return values


def _price(value: Any) -> Decimal:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise EventError(INVALID_TYPE, "metadata.price", f"price {value!r:.40} is not an amount") from exc


# Arrow types of a conformed event row, in the order `event_values` returns them (the promoted
# columns in PROMOTED order); lineage columns are taken from raw.
_ARROW_TYPES: dict[str, pa.DataType] = {
    "event_id": pa.string(), "event_type": pa.string(), "event_ts": pa.timestamp("us", tz="UTC"),
    "device_id": pa.string(), "user_id": pa.int64(), "session_id": pa.string(), "product_id": pa.string(),
    "order_id": pa.int64(), "page_url": pa.string(), "referrer": pa.string(), "user_agent": pa.string(),
    "search_query": pa.string(), "login_success": pa.bool_(), "quantity": pa.int32(), "price": pa.decimal128(12, 2),
    "metadata": pa.string(),
}  # fmt: skip
_ORDER = (
    "event_id", "event_type", "event_ts", "device_id", "user_id", "session_id", "product_id", "order_id",
    *(column for column, _ in PROMOTED.values()), "metadata",
)  # fmt: skip
ROW_TYPES: dict[str, pa.DataType] = {name: _ARROW_TYPES[name] for name in _ORDER}
# raw column -> conformed lineage column
LINEAGE = {
    "topic": "_topic", "partition": "_partition", "offset": "_offset", "_batch_id": "_batch_id",
    "_ingested_at": "_ingested_at",
}  # fmt: skip
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def conform_events(raw: pa.Table, env: ConformEnv) -> Conformed:
    """Raw messages to `conformed.events`; a redelivered event keeps its first offset, bad ones are rejected."""
    ordered = raw.sort_by([("topic", "ascending"), ("partition", "ascending"), ("offset", "ascending")])
    rules = EventRules(future_tolerance=env.future_tolerance)
    kept: dict[str, tuple[int, tuple[Any, ...]]] = {}
    rejected: list[RowRejection] = []
    with _collector_paused():
        for index, payload in enumerate(ordered.column("payload").to_pylist()):
            try:
                values = event_values(payload or "", now=env.now, rules=rules)
            except EventError as exc:
                rejected.append(_rejection(ordered, index, payload, exc))
                continue
            kept.setdefault(values[0], (index, values))
        table = _events_table(ordered, list(kept.values()))
    return Conformed(writes=[Write(tables.EVENTS, "upsert", table)], rejections=rejected)


def _rejection(ordered: pa.Table, index: int, payload: str | None, exc: EventError) -> RowRejection:
    position, batch_id = ordered.column("_watermark")[index].as_py(), ordered.column("_batch_id")[index].as_py()
    return RowRejection(position, batch_id, exc.column, str(exc), payload, exc.reason_code)


def _events_table(ordered: pa.Table, kept: list[tuple[int, tuple[Any, ...]]]) -> pa.Table:
    """Columns of the kept rows (the value tuples transposed at once); lineage taken from their raw rows."""
    values = list(zip(*(row for _, row in kept), strict=True)) or [()] * len(ROW_TYPES)
    columns = {}
    for (name, kind), column in zip(ROW_TYPES.items(), values, strict=True):
        if name == "event_ts":  # integers convert to Arrow far faster than aware datetimes
            micros = [(stamp - _EPOCH) // _MICROSECOND for stamp in column]
            columns[name] = pa.array(micros, pa.int64()).cast(kind)
        else:
            columns[name] = pa.array(column, kind)
    lineage = ordered.select(list(LINEAGE)).take(pa.array([index for index, _ in kept], pa.int64()))
    for source, target in LINEAGE.items():
        columns[target] = lineage.column(source)
    return pa.table(columns)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch builds ~10^5 small dicts (none of them cyclic):
    its generation scans otherwise cost as much as the parsing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
