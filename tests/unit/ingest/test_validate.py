"""Typing text columns: fast path for clean batches, one reason per bad row otherwise."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa

from ingest.validate import INVALID_TYPE, MISSING_FIELD, type_columns

TARGET = pa.schema(
    [
        ("id", pa.int64()),
        ("amount", pa.decimal128(12, 2)),
        ("at", pa.timestamp("us", tz="UTC")),
        ("flag", pa.bool_()),
        ("name", pa.string()),
    ]
)


def batch(**columns: list[str]) -> pa.Table:
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def test_clean_values_are_typed_text_is_kept_as_written_and_blanks_become_null() -> None:
    rows, rejections = type_columns(
        batch(
            id=["1", " 2 "],
            amount=["45.10", ""],
            at=["2026-03-01T10:15:00Z", "2026-03-01 10:15:00"],
            flag=["true", "false"],
            name=["  Jane ", ""],
        ),
        TARGET,
        frozenset({"id"}),
    )
    assert rejections == []
    assert rows.to_pylist() == [
        {
            "id": 1,
            "amount": Decimal("45.10"),
            "at": datetime(2026, 3, 1, 10, 15, tzinfo=UTC),
            "flag": True,
            "name": "  Jane ",
        },
        {"id": 2, "amount": None, "at": datetime(2026, 3, 1, 10, 15, tzinfo=UTC), "flag": False, "name": None},
    ]


def test_each_bad_row_is_rejected_once_with_column_and_reason() -> None:
    rows, rejections = type_columns(
        batch(
            id=["1", "x", "", "4"], amount=["1.00", "2.00", "3.00", "N/A"], at=["", "", "", ""], flag=["", "", "", ""]
        ),
        TARGET,
        frozenset({"id"}),
    )
    assert rows.column("id").to_pylist() == [1]
    assert [(r.index, r.reason_code, r.column) for r in rejections] == [
        (1, INVALID_TYPE, "id"),
        (2, MISSING_FIELD, "id"),
        (3, INVALID_TYPE, "amount"),
    ]
    assert "N/A" not in rejections[2].message, "messages never echo source values (they can be personal)"


def test_columns_the_target_lacks_pass_through_and_missing_ones_are_null() -> None:
    rows, rejections = type_columns(batch(id=["7"], nickname=["JJ"]), TARGET, frozenset())
    assert rejections == []
    assert rows.column("nickname").to_pylist() == ["JJ"]
    assert rows.column("amount").to_pylist() == [None]


def test_booleans_in_every_usual_spelling() -> None:
    rows, rejections = type_columns(
        batch(flag=["t", "f", "TRUE", "no", "1", "maybe"]), pa.schema([("flag", pa.bool_())]), frozenset()
    )
    assert rows.column("flag").to_pylist() == [True, False, True, False, True]
    assert [(r.index, r.column) for r in rejections] == [(5, "flag")]
