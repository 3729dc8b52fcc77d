"""Identity records from conformed rows: which country a phone is read in."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.contract import contract_records
from identity.normalize import normalize_phone, phone_region
from identity.records import identifiers, order_records, record_phones


@pytest.mark.parametrize(
    ("country", "expected"),
    [("US", "US"), (" us ", "US"), (None, "GB"), ("", "GB"), ("USA", "GB"), ("ZZ", "GB")],
)
def test_phone_region_is_the_record_country_when_phonenumbers_knows_it(country: str | None, expected: str) -> None:
    assert phone_region(country, "gb") == expected


def test_record_phones_reads_national_numbers_in_the_record_country() -> None:
    records = pl.DataFrame(
        {
            "phone": ["07400 123456", "07400 123456", "(415) 555-0134", "(415) 555-0134", None],
            "country": ["GB", None, "US", "GB", "GB"],
        }
    )
    phones = record_phones(records, default_region="US").to_list()
    # A British mobile typed nationally is nothing in the US; a US number typed nationally is nothing in GB.
    assert phones == ["+447400123456", None, "+14155550134", None, None]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.from_regex(r"[+]?[0-9 ().\-]{0,16}", fullmatch=True) | st.text(max_size=12),
                          st.sampled_from(["US", "GB", None])), max_size=30))  # fmt: skip
def test_record_phones_equal_each_phone_normalised_on_its_own(typed: list[tuple[str, str | None]]) -> None:
    records = pl.DataFrame({"phone": [p for p, _ in typed], "country": [c for _, c in typed]},
                           schema={"phone": pl.String, "country": pl.String})  # fmt: skip
    expected = [normalize_phone(p, phone_region(c, "US")) for p, c in typed]
    assert record_phones(records, default_region="US").to_list() == expected


def test_identifiers_use_the_record_country_for_phones() -> None:
    frame = pl.DataFrame(
        {"record_id": ["a", "b"], "phone": ["07400 123456", "+44 7400 123456"], "country": ["GB", None]}
    )
    found = identifiers(contract_records(frame), default_region="US").filter(pl.col("kind") == "phone")
    assert found.sort("record_id")["value"].to_list() == ["+447400123456", "+447400123456"]


def test_till_orders_take_their_store_country() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    orders = pa.Table.from_pylist(
        [
            {"order_id": "1", "store_id": "S1", "ship_country": None, "phone": "07400 123456"},
            {"order_id": "2", "store_id": None, "ship_country": "US", "phone": None},
            {"order_id": "3", "store_id": "S9", "ship_country": None, "phone": None},
        ]
    )
    orders = orders.append_column("updated_at", pa.array([now] * 3))
    for name in ("buyer_name", "email", "ship_street", "ship_city", "ship_postcode", "loyalty_id", "user_id"):
        orders = orders.append_column(name, pa.nulls(3, pa.string()))
    for name in ("device_id", "marketplace_buyer_id"):
        orders = orders.append_column(name, pa.nulls(3, pa.string()))
    stores = pa.Table.from_pylist(
        [
            {"store_id": "S1", "country": "US", "updated_at": now.replace(year=2025)},
            {"store_id": "S1", "country": "GB", "updated_at": now},  # the store's latest version wins
        ]
    )
    records = order_records(orders, stores).sort("record_id")
    assert records["country"].to_list() == ["GB", "US", None]
    assert len(records) == 3
