"""Incremental attach gives the customers a full recompute gives, and declines what only a recompute can place."""

from __future__ import annotations

import polars as pl

from identity.constraints import CannotLink
from identity.contract import contract_records
from identity.incremental import Attachment, Declined, attach, merged
from identity.records import identifiers
from identity.resolve import renamed, resolve
from identity.stable import carry_over
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
    assert isinstance(attached, Attachment), "orders of known customers need no recompute"
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
    assert isinstance(attached, Attachment)
    after = merged(previous, attached, old, found, new, fresh, build_id="b2")
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
    declined = attach(previous, old, found, new, fresh, max_people=3, default_region="US", build_id="b2")
    assert declined == Declined("the identifiers set aside change")


def test_named_or_already_known_records_need_a_recompute() -> None:
    old, new = sample()
    previous = run(old)
    found = identifiers(old, default_region="US")
    named = new.head(1).with_columns(first_name=pl.lit("Ann"), last_name=pl.lit("Lee"))
    seen = old.filter(pl.col("source") == "web").head(1)
    for batch, reason in ((named, "a new record carries a name"), (seen, "a record was seen before")):
        declined = attach(previous, old, found, batch, identifiers(batch, default_region="US"), max_people=3,
                          default_region="US", build_id="b2")  # fmt: skip
        assert declined == Declined(reason)


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
    assert declined == Declined("1 groups join two customers")


def test_groups_gaining_one_customer_count_together_against_its_limits() -> None:
    """Two new orders, apart from each other, each bring one customer a new device: two more, not one."""
    old, _ = sample()
    previous = run(old)
    found = identifiers(old, default_region="US")
    set_aside = [value for _, kind, value in previous.untrusted if kind == "email"]
    accounts = (
        found.filter(pl.col("record_id").str.starts_with("users:") & (pl.col("kind") == "email"))
        .filter(~pl.col("value").is_in(set_aside))
        .join(previous.membership, on="record_id")
        .sort("record_id")
    )
    account, email, customer = accounts.select("record_id", "value", "customer_id").row(0)
    devices = found.filter(pl.col("kind") == "device_id").join(previous.membership, on="record_id")
    count = devices.filter(pl.col("customer_id") == customer)["value"].n_unique()
    # One order reaches the customer by its account id, the other by its e-mail: two groups.
    orders = contract_records(pl.DataFrame({
        "record_id": ["orders:new:1", "orders:new:2"], "source": ["web", "web"],
        "user_id": [account.removeprefix("users:"), None], "email": [None, email],
        "device_id": ["dev-new-one", "dev-new-two"],
    }))  # fmt: skip
    fresh = identifiers(orders, default_region="US")

    def attached(limit: int) -> Attachment | Declined:
        return attach(previous, old, found, orders, fresh, max_people=3, default_region="US", build_id="b2",
                      limits={"device_id": limit})  # fmt: skip

    assert attached(count + 1) == Declined("a customer would exceed a per-customer limit")
    within = attached(count + 2)
    assert isinstance(within, Attachment)
    assert set(within.membership["customer_id"]) == {customer} and len(within.membership) == 2


def same_as_full(
    old: pl.DataFrame, new: pl.DataFrame, cannot_links: list[CannotLink]
) -> tuple[Attachment | Declined, bool]:
    """Attach `new` to the resolution of `old`; whether the result equals a full recompute of both."""
    previous = resolve(old, identifiers(old, default_region="US"), max_people=3, default_region="US", build_id="b",
                       cannot_links=cannot_links)  # fmt: skip
    fresh = identifiers(new, default_region="US")
    found = identifiers(old, default_region="US")
    attached = attach(previous, old, found, new, fresh, max_people=3, default_region="US", build_id="b2")
    if isinstance(attached, Declined):
        return attached, False
    after = merged(previous, attached, old, found, new, fresh, build_id="b2")
    everyone = pl.concat([old, new])
    full = resolve(everyone, identifiers(everyone, default_region="US"), max_people=3, default_region="US",
                   build_id="f", cannot_links=cannot_links)  # fmt: skip
    # A customer the attach made has the id a full build derives for it; the others keep theirs.
    made = attached.membership.join(previous.customers.select("customer_id"), on="customer_id", how="anti")
    if not made.join(full.membership, on=["record_id", "customer_id"], how="anti").is_empty():
        return attached, False
    final, _ = carry_over(after.membership.select("record_id", "customer_id"),
                          full.membership.select("record_id", "customer_id"))  # fmt: skip
    full = renamed(full, final)
    mine, theirs = evidence_frame(after, everyone), evidence_frame(full, everyone)
    columns = [c for c in full.links.columns if c != "build_id"]
    return attached, mine.equals(theirs) and after.links.select(columns).sort(columns).equals(
        full.links.select(columns).sort(columns)
    )


def test_an_order_of_a_customer_a_cut_made_attaches_as_a_full_recompute_places_it() -> None:
    """A cannot-link splits an account from its orders; a new order by the account's e-mail joins the account."""
    old, _ = sample()
    first = run(old)
    found = identifiers(old, default_region="US")
    emails = found.filter(pl.col("record_id").str.starts_with("orders:") & (pl.col("kind") == "email"))
    orders = emails.join(first.membership, on="record_id").join(
        first.membership.filter(pl.col("record_id").str.starts_with("users:")), on="customer_id", suffix="_account"
    )
    order, email, account = orders.sort("record_id").select("record_id", "value", "record_id_account").row(0)
    split = [CannotLink(account, order, "manual:cannot_link")]
    new = contract_records(pl.DataFrame({"record_id": ["orders:new:1"], "source": ["web"], "email": [email]}))
    attached, same = same_as_full(old, new, split)
    assert isinstance(attached, Attachment) and same
    # A new device would change the values a device limit counts in the component the cut parted.
    with_device = new.with_columns(pl.lit("dev-brand-new").alias("device_id"))
    declined, _ = same_as_full(old, with_device, split)
    assert declined == Declined("1 groups join a piece a constraint cut and would change what limits count")


def test_a_known_devices_visits_stay_anonymous_until_an_order_names_someone() -> None:
    old, _ = sample()
    visit = {"source": ["devices"], "device_id": ["dev-never-signed-in"]}
    old = pl.concat([old, contract_records(pl.DataFrame({"record_id": ["devices:1"], **visit}))])
    new = contract_records(pl.DataFrame({"record_id": ["devices:2"], **visit}))
    attached, same = same_as_full(old, new, [])
    assert isinstance(attached, Attachment) and attached.membership.is_empty() and same
    # An order with an e-mail from that device makes a customer of both, the earlier visit included.
    order = new.with_columns(pl.lit("orders:1").alias("record_id"), pl.lit("web").alias("source"),
                             pl.lit("new.person@example.com").alias("email"))  # fmt: skip
    signed, same = same_as_full(old, order, [])
    assert isinstance(signed, Attachment) and same
    assert sorted(signed.membership["record_id"]) == ["devices:1", "orders:1"]
    assert signed.membership["customer_id"].n_unique() == 1


def test_two_groups_reaching_one_record_of_no_customer_need_a_recompute() -> None:
    """A visit seen on two devices; an order from each (apart otherwise) makes one customer of all three."""
    old, _ = sample()
    visit = contract_records(pl.DataFrame({"record_id": ["devices:1"], "source": ["devices"], "device_id": ["dev-a"]}))
    old = pl.concat([old, visit])
    found = pl.concat([
        identifiers(old, default_region="US"),
        pl.DataFrame({"record_id": ["devices:1"], "kind": ["device_id"], "value": ["dev-b"]}),
    ])  # fmt: skip
    previous = resolve(old, found, max_people=3, default_region="US", build_id="b")
    orders = contract_records(pl.DataFrame({
        "record_id": ["orders:1", "orders:2"], "source": ["web", "web"],
        "email": ["one@example.com", "two@example.com"], "device_id": ["dev-a", "dev-b"],
    }))  # fmt: skip
    fresh = identifiers(orders, default_region="US")
    declined = attach(previous, old, found, orders, fresh, max_people=3, default_region="US", build_id="b2")
    assert declined == Declined("1 groups reach records of no customer another group reaches")


def test_one_more_person_on_a_shared_device_recounts_it_everywhere() -> None:
    """A device two accounts share gets a third: still set aside, and every link says three people."""
    old, _ = sample()
    accounts = old.filter(pl.col("source") == "users")["user_id"].sort().head(3).to_list()
    sessions = pl.DataFrame({
        "record_id": [f"devices:shared|{user}" for user in accounts[:2]] + ["orders:old:1"],
        "source": ["devices", "devices", "web"], "user_id": accounts[:2] + accounts[:1],
        "device_id": ["dev-shared"] * 3,
    })  # fmt: skip
    old = pl.concat([old, contract_records(sessions)])
    order = pl.DataFrame({"record_id": ["orders:new:1"], "source": ["web"], "user_id": [accounts[2]],
                          "device_id": ["dev-shared"]})  # fmt: skip
    attached, same = same_as_full(old, contract_records(order), [])
    assert isinstance(attached, Attachment) and same
    assert attached.untrusted[("identifier", "device_id", "dev-shared")] == "shared_by_3_people"
    previous = run(old)
    assert previous.links.filter(pl.col("value") == "dev-shared")["rule"].to_list() == ["shared_by_2_people"]
