"""Incremental attach gives the customers a full recompute gives, and declines what only a recompute can place."""

from __future__ import annotations

import polars as pl

from identity.contract import contract_records
from identity.incremental import attach, merged
from identity.records import identifiers
from identity.resolve import resolve
from identity.state import evidence_frame
from tests.support import SAMPLE_DIR

CUTOFF = "2026-10-01"


def sample() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Accounts and orders of the committed sample as identity records: (before CUTOFF, orders after it)."""
    users = pl.read_csv(SAMPLE_DIR / "users.csv", infer_schema=False).select(
        pl.concat_str(pl.lit("users:"), "user_id").alias("record_id"), pl.lit("users").alias("source"),
        pl.col("updated_at").alias("seen_at"), "email", "phone", "loyalty_id", "user_id", "first_name", "last_name",
        "dob", "street", "city", "postcode", "country",
    )  # fmt: skip
    orders = pl.read_csv(SAMPLE_DIR / "orders.csv", infer_schema=False).select(
        pl.concat_str(pl.lit("orders:"), "order_id").alias("record_id"), pl.col("channel").alias("source"),
        pl.col("order_ts").alias("seen_at"), "email", "phone", "loyalty_id", "user_id", "device_id",
    )  # fmt: skip
    old = contract_records(pl.concat([users, orders.filter(pl.col("seen_at") < CUTOFF)], how="diagonal"))
    new = contract_records(orders.filter(pl.col("seen_at") >= CUTOFF))
    return old, new


def partition(membership: pl.DataFrame) -> set[frozenset[str]]:
    return {frozenset(g) for g in membership.group_by("customer_id").agg("record_id")["record_id"].to_list()}


def run(records: pl.DataFrame):  # type: ignore[no-untyped-def]
    return resolve(records, identifiers(records, default_region="US"), max_people=3, default_region="US", build_id="b")


def repeat_orders(old: pl.DataFrame) -> pl.DataFrame:
    """Known customers ordering again: each web order of an account placed once more, same device."""
    web = old.filter((pl.col("source") == "web") & pl.col("user_id").is_not_null())
    return web.with_columns(
        pl.concat_str(pl.lit("orders:again:"), pl.col("record_key")).alias("record_id"),
        pl.concat_str(pl.lit("again:"), pl.col("record_key")).alias("record_key"),
    )


def test_new_orders_attach_exactly_where_a_full_recompute_puts_them() -> None:
    old, _ = sample()
    new = repeat_orders(old)
    previous = run(old)
    attached = attach(
        previous, old, identifiers(old, default_region="US"), new, identifiers(new, default_region="US"),
        max_people=3, default_region="US", build_id="b2",
    )  # fmt: skip
    assert attached is not None, "orders of known customers need no recompute"
    full = run(pl.concat([old, new]))
    assert partition(pl.concat([previous.membership, attached.membership])) == partition(full.membership)
    gained = set(attached.membership["customer_id"])
    assert set(attached.customers["customer_id"]) == gained and len(attached.membership) == len(new)
    assert attached.customers["record_count"].sum() == previous.membership.filter(
        pl.col("customer_id").is_in(list(gained))
    ).height + len(attached.membership)


def test_merged_resolution_writes_what_a_full_recompute_writes() -> None:
    """Customers, links and evidence after an attach equal a full build's, but for the build that wrote each row."""
    old, _ = sample()
    new = repeat_orders(old)
    previous, found, fresh = run(old), identifiers(old, default_region="US"), identifiers(new, default_region="US")
    attached = attach(previous, old, found, new, fresh, max_people=3, default_region="US", build_id="b2")
    assert attached is not None
    after = merged(previous, attached, new, fresh, build_id="b2")
    everyone = pl.concat([old, new])
    full = run(everyone)

    def same(mine: pl.DataFrame, theirs: pl.DataFrame) -> bool:
        columns = [c for c in theirs.columns if c != "build_id"]
        return mine.select(columns).sort(columns).equals(theirs.select(columns).sort(columns))

    assert same(after.customers, full.customers)
    assert same(after.links, full.links)
    assert same(after.membership, full.membership)
    assert same(evidence_frame(after, everyone), evidence_frame(full, everyone))


def test_a_batch_that_changes_what_is_shared_needs_a_recompute() -> None:
    """The sample's October orders make a device shared by two accounts: only a recompute says so."""
    old, new = sample()
    previous = run(old)
    found, fresh = identifiers(old, default_region="US"), identifiers(new, default_region="US")
    assert attach(previous, old, found, new, fresh, max_people=3, default_region="US", build_id="b2") is None


def test_named_or_already_known_records_need_a_recompute() -> None:
    old, new = sample()
    previous = run(old)
    found = identifiers(old, default_region="US")
    named = new.head(1).with_columns(first_name=pl.lit("Ann"), last_name=pl.lit("Lee"))
    seen = old.filter(pl.col("source") == "web").head(1)
    for batch in (named, seen):
        declined = attach(previous, old, found, batch, identifiers(batch, default_region="US"), max_people=3,
                          default_region="US", build_id="b2")  # fmt: skip
        assert declined is None


def test_a_new_order_joining_two_customers_needs_a_recompute() -> None:
    old, _ = sample()
    previous = run(old)
    found = identifiers(old, default_region="US")
    # Accounts of two customers whose e-mails are trusted: a household e-mail would join neither.
    set_aside = [value for _, kind, value in previous.untrusted if kind == "email"]
    emails = found.filter(pl.col("record_id").str.starts_with("users:") & (pl.col("kind") == "email"))
    accounts = (
        emails.filter(~pl.col("value").is_in(set_aside))
        .join(previous.membership, on="record_id")
        .sort("record_id")
        .unique("customer_id", keep="first", maintain_order=True)
        .head(2)
    )
    first, second = (old.filter(pl.col("record_id") == r) for r in accounts["record_id"])
    bridge = contract_records(pl.DataFrame({"record_id": ["orders:web:999999"], "source": ["web"],
                                            "user_id": [first["user_id"].item()],
                                            "email": [second["email"].item()]}))  # fmt: skip
    bridged = identifiers(bridge, default_region="US")
    declined = attach(previous, old, found, bridge, bridged, max_people=3, default_region="US", build_id="b2")
    assert declined is None
