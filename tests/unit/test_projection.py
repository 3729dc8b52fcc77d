"""The serving projection's row builders: redirects named merged or split, account versions by customer,
money as decimal text."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from profiles.document import money
from profiles.projection import redirect_rows, version_rows


def test_redirects_say_merged_for_one_current_id_and_split_for_several_and_count_records() -> None:
    changes = pl.DataFrame(
        {
            "old_customer_id": ["C-1", "C-2", "C-2", "C-1"],
            "new_customer_id": ["C-9", "C-8", "C-9", "C-9"],
            "records": [2, 1, 4, 3],
        }
    )
    rows = redirect_rows(changes, pl.Series(["C-8", "C-9"])).sort("old_customer_id", "new_customer_id")
    assert rows.rows() == [("C-1", "C-9", "merged", 5), ("C-2", "C-8", "split", 1), ("C-2", "C-9", "split", 4)]
    assert redirect_rows(changes.clear(), pl.Series(["C-8"])).is_empty()


def test_versions_go_to_the_customer_holding_the_account() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    users = pl.DataFrame(
        {"user_id": [1, 1, 2], "valid_from": [at, at, at], "valid_to": [None, None, None]}
        | {name: ["x", "y", "z"] for name in ("email", "phone", "first_name", "last_name", "loyalty_id")}
    )
    links = pl.DataFrame({"kind": ["users", "orders"], "value": ["1", "2"], "customer_id": ["C-1", "C-2"]})
    rows = version_rows(users, links)
    assert rows["customer_id"].to_list() == ["C-1", "C-1"] and rows["email"].to_list() == ["x", "y"]


@given(st.lists(st.integers(min_value=-(10**12), max_value=10**12), max_size=50))
def test_money_text_equals_decimal_cents(cents: list[int]) -> None:
    frame = pl.DataFrame({"c": cents}, schema={"c": pl.Int64})
    rendered = frame.select(money(pl.col("c")).alias("text"))["text"].to_list()
    assert rendered == [str((Decimal(c) / 100).quantize(Decimal("0.01"))) for c in cents]
