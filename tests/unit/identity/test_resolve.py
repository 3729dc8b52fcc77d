"""Deterministic resolution: components against a NetworkX oracle, guards against junk and households."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import networkx as nx
import polars as pl
import pytest

from identity.constraints import CannotLink
from identity.graph import count_people, untrusted_identifiers
from identity.records import RECORD_COLUMNS, identifiers
from identity.resolve import customer_id_for, resolve

SEEN = datetime(2026, 1, 1, tzinfo=UTC)


def records(rows: list[dict[str, object]]) -> pl.DataFrame:
    """Identity records with every column present (missing ones null)."""
    columns = [*RECORD_COLUMNS, "user_id", "device_id", "marketplace_buyer_id"]
    full = [{c: row.get(c) for c in columns} | {"seen_at": row.get("seen_at", SEEN)} for row in rows]
    schema = dict.fromkeys(columns, pl.String) | {"seen_at": pl.Datetime("us", "UTC"), "dob": pl.Date}
    return pl.DataFrame(full, schema=schema)


def run(rows: list[dict[str, object]], max_people: int = 3):  # type: ignore[no-untyped-def]
    frame = records(rows)
    found = identifiers(frame, default_region="US")
    return resolve(frame, found, max_people=max_people, default_region="US", build_id="b1")


def partition(resolution) -> set[frozenset[str]]:  # type: ignore[no-untyped-def]
    links = resolution.links.filter(pl.col("link_type") == "record")
    groups = links.group_by("customer_id").agg(pl.col("value"))
    return {frozenset(v) for v in groups["value"].to_list()}


@pytest.mark.parametrize("seed", range(8))
def test_customers_are_the_connected_components_of_shared_identifiers(seed: int) -> None:
    rng = random.Random(seed)
    rows = [
        {
            "record_id": f"orders:{i}",
            "source": "orders",
            "record_key": str(i),
            "email": f"p{rng.randrange(40)}@example.com",
            "phone": rng.choice([None, f"+1415555{rng.randrange(100, 140):04d}"]),
        }
        for i in range(60)
    ]
    oracle = nx.Graph()
    for row in rows:
        oracle.add_node(row["record_key"])
        for kind in ("email", "phone"):
            if row[kind]:
                oracle.add_edge(row["record_key"], f"{kind}:{row[kind]}")
    expected = {frozenset(n for n in c if ":" not in n) for c in nx.connected_components(oracle)}
    assert partition(run(rows)) == expected


def test_customer_ids_are_stable_whatever_the_input_order() -> None:
    rows = [
        {"record_id": "users:2", "source": "users", "record_key": "2", "user_id": "2", "email": "a@example.com"},
        {"record_id": "orders:web:9", "source": "orders", "record_key": "web:9", "email": "A@Example.com "},
        {
            "record_id": "orders:pos:3",
            "source": "orders",
            "record_key": "pos:3",
            "loyalty_id": "LOY-1",
            "email": "a@example.com",
        },
    ]
    first, second = run(rows), run(list(reversed(rows)))
    assert first.customers["customer_id"].to_list() == second.customers["customer_id"].to_list()
    assert first.customers["customer_id"].to_list() == [customer_id_for("users:2")], "anchored on the account"


def test_junk_values_link_nobody() -> None:
    rows = [
        {
            "record_id": f"orders:pos:{i}",
            "source": "orders",
            "record_key": f"pos:{i}",
            "email": "none@none.com",
            "loyalty_id": f"LOY-00{i}",
        }
        for i in range(1, 4)
    ]
    resolution = run(rows)
    assert len(resolution.customers) == 3
    assert ("identifier", "email", "none@none.com") in resolution.untrusted
    assert resolution.links.filter(pl.col("kind") == "email").is_empty()


def test_a_household_email_is_linked_to_each_member_but_merges_nobody() -> None:
    rows = [
        {
            "record_id": "users:1",
            "source": "users",
            "record_key": "1",
            "user_id": "1",
            "email": "smiths@example.com",
            "first_name": "William",
            "last_name": "Smith",
        },
        {
            "record_id": "users:2",
            "source": "users",
            "record_key": "2",
            "user_id": "2",
            "email": "smiths@example.com",
            "first_name": "Olivia",
            "last_name": "Smith",
        },
        {
            "record_id": "users:3",
            "source": "users",
            "record_key": "3",
            "user_id": "3",
            "email": "smiths@example.com",
            "first_name": "Bill",
            "last_name": "Smith",
        },
    ]
    resolution = run(rows)
    assert len(resolution.customers) == 3
    shared = resolution.links.filter(pl.col("kind") == "email")
    assert shared["rule"].unique().to_list() == ["household_2_people"]
    assert shared["customer_id"].n_unique() == 3


def test_duplicate_sign_ups_with_nickname_and_typo_merge() -> None:
    rows = [
        {
            "record_id": "users:1",
            "source": "users",
            "record_key": "1",
            "user_id": "1",
            "email": "w.smith@gmail.com",
            "first_name": "William",
            "last_name": "Smith",
            "seen_at": datetime(2025, 1, 1, tzinfo=UTC),
        },
        {
            "record_id": "users:7",
            "source": "users",
            "record_key": "7",
            "user_id": "7",
            "email": "wsmith+shop@gmail.com",
            "first_name": "Bill",
            "last_name": "Smtih",
            "street": "2 Elm St",
            "seen_at": datetime(2026, 1, 1, tzinfo=UTC),
        },
    ]
    resolution = run(rows)
    assert len(resolution.customers) == 1
    golden = resolution.customers.row(0, named=True)
    assert (golden["first_name"], golden["street"]) == ("Bill", "2 Elm St"), "the newest account wins"


def test_a_device_seen_with_two_accounts_links_neither() -> None:
    rows = [
        {"record_id": "devices:d1|1", "source": "devices", "record_key": "d1|1", "device_id": "d1", "user_id": "1"},
        {"record_id": "devices:d1|2", "source": "devices", "record_key": "d1|2", "device_id": "d1", "user_id": "2"},
        {"record_id": "users:1", "source": "users", "record_key": "1", "user_id": "1"},
        {"record_id": "users:2", "source": "users", "record_key": "2", "user_id": "2"},
    ]
    resolution = run(rows)
    assert len(resolution.customers) == 2
    assert resolution.untrusted[("identifier", "device_id", "d1")] == "shared_by_2_people"
    assert partition(resolution) == {frozenset({"1"}), frozenset({"2"})}, "whoever used d1 is no one's for sure"


def test_a_value_shared_by_more_accounts_than_allowed_is_set_aside() -> None:
    rows = [
        {
            "record_id": f"orders:pos:{i}",
            "source": "orders",
            "record_key": f"pos:{i}",
            "phone": "+14155550100",
            "loyalty_id": f"LOY-00{i}",
        }
        for i in range(1, 6)
    ]
    found = identifiers(records(rows), default_region="US")
    reasons = untrusted_identifiers(records(rows), found, max_people=3)
    assert reasons[("identifier", "phone", "+14155550100")] == "shared_by_5_people"


def test_people_are_counted_with_typos_and_nicknames_forgiven() -> None:
    assert count_people([("william", "smith"), ("william", "smtih"), ("william", "smith")]) == 1
    assert count_people([("william", "smith"), ("olivia", "smith")]) == 2


def test_golden_names_typed_in_one_case_are_shown_in_title_case() -> None:
    rows = [
        {"record_id": "users:1", "source": "users", "record_key": "1", "user_id": "1", "first_name": "omar",
         "last_name": "McDONALD"},
        {"record_id": "users:2", "source": "users", "record_key": "2", "user_id": "2", "first_name": "ANNA",
         "last_name": "McDonald"},
    ]  # fmt: skip
    names = sorted(run(rows).customers.select("first_name", "last_name").iter_rows())
    assert names == [("Anna", "McDonald"), ("Omar", "McDONALD")]


def test_an_account_whose_surname_changed_is_still_one_customer() -> None:
    rows = [
        {"record_id": "users:1", "source": "users", "record_key": "1", "user_id": "1", "email": "jane@example.com",
         "loyalty_id": "LOY-000101",
         "first_name": "Jane", "last_name": "Smith", "seen_at": datetime(2025, 1, 1, tzinfo=UTC)},
        {"record_id": "users:1", "source": "users", "record_key": "1", "user_id": "1", "email": "jane@example.com",
         "loyalty_id": "LOY-000101",
         "first_name": "Jane", "last_name": "Doe", "seen_at": datetime(2026, 1, 1, tzinfo=UTC)},
        {"record_id": "orders:pos:9", "source": "orders", "record_key": "pos:9", "loyalty_id": "LOY-000101"},
    ]  # fmt: skip
    resolution = run(rows)
    assert len(resolution.customers) == 1 and resolution.untrusted == {}
    assert resolution.customers.row(0, named=True)["last_name"] == "Doe"
    assert partition(resolution) == {frozenset({"1", "pos:9"})}


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [("maya", "myaa", True), ("william", "wiliam", True), ("jose", "jose", True), ("ana", "ava", False),
     ("olivia", "william", False), ("smith", "smtih", True)],
)  # fmt: skip
def test_names_one_slip_apart_are_the_same_person(a: str, b: str, same: bool) -> None:
    from identity.graph import similar_names

    assert similar_names(a, b) is same


def test_membership_and_confidence_through_versions_must_links_and_cuts() -> None:
    """Hand-worked: two versions of one account, must-links (one to a deleted record), a cannot-link."""
    later = datetime(2026, 2, 1, tzinfo=UTC)
    frame = records([
        {"record_id": "users:1", "source": "users", "record_key": "1", "user_id": "1", "email": "a@x.com"},
        {"record_id": "users:1", "source": "users", "record_key": "1", "user_id": "1", "email": "a2@x.com",
         "seen_at": later},
        {"record_id": "orders:1", "source": "orders", "record_key": "1", "email": "a2@x.com"},
        {"record_id": "orders:2", "source": "orders", "record_key": "2"},  # nothing but a must-link
        {"record_id": "orders:3", "source": "orders", "record_key": "3"},  # must-linked to a deleted record
        {"record_id": "orders:4", "source": "orders", "record_key": "4", "phone": "+14155550101"},
        {"record_id": "orders:5", "source": "orders", "record_key": "5", "phone": "+14155550101",
         "email": "c@x.com"},
    ])  # fmt: skip
    resolution = resolve(
        frame, identifiers(frame, default_region="US"), max_people=3, default_region="US", build_id="b",
        must_links=[("orders:2", "users:1"), ("orders:3", "orders:gone")],
        cannot_links=[CannotLink("orders:4", "orders:5", "manual")],
    )  # fmt: skip
    membership = {row["record_id"]: row for row in resolution.membership.iter_rows(named=True)}
    owner = {record: row["customer_id"] for record, row in membership.items()}
    assert owner["users:1"] == owner["orders:1"] == owner["orders:2"] == customer_id_for("users:1")
    assert "orders:3" not in owner, "a nameless record without identifiers is no customer"
    assert owner["orders:4"] != owner["orders:5"], "the cannot-link parts them"
    assert sorted(membership) == ["orders:1", "orders:2", "orders:4", "orders:5", "users:1"]
    assert {row["confidence"] for row in membership.values()} == {1.0}
    assert resolution.cuts.select("reason", "rule").rows() == [("manual", "exact:phone")]
