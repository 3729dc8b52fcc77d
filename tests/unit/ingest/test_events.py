"""Event validation by type, promotion of known metadata, reasons for every refusal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ingest.events import EventError, EventRules, parse_event

NOW = datetime(2026, 10, 31, 12, tzinfo=UTC)


def event(**fields: object) -> str:
    base: dict[str, object] = {
        "event_id": "e-1",
        "event_type": "add_to_cart",
        "event_ts": "2026-10-31T11:00:00Z",
        "device_id": "dev-1",
        "user_id": None,
        "session_id": "s-1",
        "product_id": "P00001",
        "metadata": {"quantity": 2, "price": "19.90", "page_url": "/p/1", "campaign": "fall"},
    }
    base.update(fields)
    return json.dumps(base)


def test_known_metadata_is_promoted_and_the_rest_kept_as_json() -> None:
    row = parse_event(event(), now=NOW)
    assert (row["quantity"], row["price"], row["page_url"]) == (2, Decimal("19.90"), "/p/1")
    assert json.loads(row["metadata"]) == {"campaign": "fall"}
    assert row["event_ts"] == datetime(2026, 10, 31, 11, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "reason", "column"),
    [
        ("{not json", "invalid_json", None),
        (event(event_type="teleport"), "unknown_event_type", "event_type"),
        (event(event_type=None), "missing_field", "event_type"),
        (event(product_id=None), "missing_field", "product_id"),
        (event(event_type="login", metadata={}), "missing_field", "success"),
        (event(event_ts="yesterday"), "invalid_type", "event_ts"),
        (event(user_id="abc"), "invalid_type", "user_id"),
        (event(metadata={"quantity": "two"}), "invalid_type", "metadata.quantity"),
        (event(device_id=None, user_id=None), "missing_field", "device_id"),
        (event(event_ts=(NOW + timedelta(hours=1)).isoformat()), "future_timestamp", "event_ts"),
        ("[1, 2]", "invalid_type", None),
    ],
)
def test_bad_events_are_refused_with_a_reason(text: str, reason: str, column: str | None) -> None:
    with pytest.raises(EventError) as error:
        parse_event(text, now=NOW)
    assert (error.value.reason_code, error.value.column) == (reason, column)


def test_oversize_events_are_refused_before_parsing() -> None:
    with pytest.raises(EventError) as error:
        parse_event(event(metadata={"blob": "x" * 2000}), now=NOW, rules=EventRules(max_bytes=1000))
    assert error.value.reason_code == "oversize"


def test_a_numeric_string_user_id_is_accepted() -> None:
    assert parse_event(event(user_id="42"), now=NOW)["user_id"] == 42
