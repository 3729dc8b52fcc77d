"""Survivorship strategies: each attribute's golden value and the rule its lineage names."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest

from identity.survivorship import golden_attributes
from tests.unit.identity.test_resolve import records

JAN, FEB, MAR = (datetime(2026, month, 1, tzinfo=UTC) for month in (1, 2, 3))


def members() -> pl.DataFrame:
    """One customer: an old account, then two orders typing the first name another way."""
    frame = records([
        {"record_id": "users:1", "source": "users", "record_key": "1", "first_name": "Katherine",
         "email": "kate@x.com", "seen_at": JAN},
        {"record_id": "orders:1", "source": "orders", "record_key": "1", "first_name": "Kate",
         "email": "k.new@x.com", "seen_at": FEB},
        {"record_id": "orders:2", "source": "orders", "record_key": "2", "first_name": "Kate", "seen_at": MAR},
    ])  # fmt: skip
    return frame.with_columns(pl.lit("C-1").alias("customer_id"))


@pytest.mark.parametrize(
    ("strategies", "first_name", "email"),
    [
        ({}, "Katherine", "kate@x.com"),
        ({"first_name": "most_frequent", "email": "most_recent"}, "Kate", "k.new@x.com"),
        ({"first_name": "most_recent"}, "Kate", "kate@x.com"),
    ],
    ids=["source_priority", "frequent_and_recent", "recent_name_only"],
)
def test_each_attribute_survives_by_its_strategy(strategies: dict[str, str], first_name: str, email: str) -> None:
    golden = golden_attributes(members(), default_region="US", strategies=strategies).row(0, named=True)
    assert (golden["first_name"], golden["email"]) == (first_name, email)


def test_the_lineage_names_the_record_and_the_rule_that_chose_it() -> None:
    golden = golden_attributes(members(), default_region="US", strategies={"first_name": "most_frequent"})
    lineage = json.loads(golden["lineage"].item())
    assert lineage["first_name"] == {"record": "orders:2", "rule": "most_frequent_then_most_recent"}
    assert lineage["email"] == {"record": "users:1", "rule": "source_priority_then_most_recent"}


def test_an_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="loudest"):
        golden_attributes(members(), default_region="US", strategies={"first_name": "loudest"})


def test_the_golden_phone_is_read_in_the_customers_country() -> None:
    frame = records([
        {"record_id": "users:1", "source": "users", "record_key": "1", "phone": "07400 123456", "country": "GB"},
        {"record_id": "users:2", "source": "users", "record_key": "2", "phone": "(415) 555-0134"},
    ])  # fmt: skip
    frame = frame.with_columns(pl.col("record_id").str.replace("users:", "C-").alias("customer_id"))
    golden = golden_attributes(frame, default_region="US").sort("customer_id")
    assert golden["phone"].to_list() == ["+447400123456", "+14155550134"]
