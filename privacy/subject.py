"""Who a privacy request is about: the golden customer behind an identifier, and every key of their data.

Erasure deletes by record keys (account ids, order ids, marketplace documents, event ids, Kafka
positions), never by an identifier value: a household member who shares the subject's e-mail
keeps their own orders. Identifier values are used where no key exists: values only the subject
holds are suppressed and must be absent after erasure; values shared with another customer are
kept and reported.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import cast

import polars as pl

from core.errors import NotFoundError
from identity.normalize import IdentifierKind, normalize_device_id, normalize_identifier, phone_region
from identity.records import map_distinct
from identity.stable import redirects
from lakehouse.lake import Lake
from lakehouse.query import equal_to, is_in, read_polars
from schema import lake as tables

# Identifier kinds whose values are text a file could hold verbatim: what verification looks for.
TEXT_KINDS = ("email", "phone", "loyalty_id", "device_id", "marketplace_buyer_id")
SHOPSPHERE = "shopsphere"  # the platform of web and till orders, whose source ids are PostgreSQL's


@dataclass(frozen=True)
class Subject:
    """Every key of one data subject's rows; JSON-serialisable, so a resumed erasure needs no lookup."""

    customer_ids: list[str]  # current golden ids and the old ids that lead to them
    user_ids: list[int] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)  # conformed ids, platform:source id
    source_order_ids: list[int] = field(default_factory=list)  # PostgreSQL ids of web and till orders
    marketplace_docs: list[str] = field(default_factory=list)  # MongoDB document ids
    event_ids: list[str] = field(default_factory=list)
    event_positions: list[tuple[str, int, int]] = field(default_factory=list)  # topic, partition, offset
    devices: list[str] = field(default_factory=list)  # device ids no other customer uses
    identifiers: list[tuple[str, str]] = field(default_factory=list)  # (kind, value) only the subject holds
    shared: list[tuple[str, str]] = field(default_factory=list)  # (kind, value) another customer holds too
    spellings: list[str] = field(default_factory=list)  # source spellings of those values (raw e-mail, phone)

    def needles(self) -> list[str]:
        """The text that must be absent from every file after erasure."""
        values = {value for kind, value in self.identifiers if kind in TEXT_KINDS}
        return sorted(values | set(self.spellings))

    def union(self, other: Subject) -> Subject:
        """Every key either holds: the same person found twice, before and after more records landed.
        A value found shared the second time stays shared (someone else holds it now)."""
        keys: dict[str, list[object]] = {
            f.name: sorted({*getattr(self, f.name), *getattr(other, f.name)}) for f in fields(self)
        }
        shared = set(keys["shared"])
        keys["identifiers"] = [i for i in keys["identifiers"] if i not in shared]
        return Subject(**keys)  # type: ignore[arg-type]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Subject:
        raw = json.loads(text)
        raw["event_positions"] = [tuple(p) for p in raw["event_positions"]]
        raw["identifiers"] = [tuple(p) for p in raw["identifiers"]]
        raw["shared"] = [tuple(p) for p in raw["shared"]]
        return cls(**raw)


def customers_of(lake: Lake, kind: IdentifierKind, value: str, *, default_region: str) -> list[str]:
    """The golden customers an identifier leads to (normalised as at ingestion); NotFoundError if none."""
    normalised = normalize_identifier(kind, value, default_region=default_region)
    if normalised is None:
        raise NotFoundError(f"the {kind} given cannot be normalised")
    links = read_polars(
        lake.table(tables.IDENTITY_LINKS), row_filter=equal_to(kind=kind, value=normalised), columns=("customer_id",)
    )
    if links.is_empty():
        raise NotFoundError(f"no customer holds that {kind}")
    return sorted(set(links["customer_id"]))


def find_subject(lake: Lake, customer_ids: list[str], *, default_region: str = "US") -> Subject:
    """Every key of the customers' rows across the lake (one person may span several ids).

    Records landed since the last build are theirs too, though no link names them yet: orders of
    their accounts, and accounts and orders carrying a value only they hold (a guest order with
    their e-mail, an account opened with their phone), unless the last build gave that record to
    someone else. Phones without a country prefix are read in the record's country, else in
    `default_region`, as identity resolution reads them.
    """
    links = read_polars(lake.table(tables.IDENTITY_LINKS), row_filter=is_in("customer_id", customer_ids))
    if links.is_empty():
        raise NotFoundError("no such customer in the last build")
    records = links.filter(pl.col("link_type") == "record")
    theirs = links.filter(pl.col("link_type") == "identifier").select("kind", "value").unique()
    exclusive, shared = _split_shared(lake, theirs, customer_ids)
    unlinked = _carrying(lake, exclusive, customer_ids, default_region=default_region)
    linked_users = {int(v) for v in records.filter(pl.col("kind") == "users")["value"]}
    user_ids = sorted(linked_users | {int(v) for v in unlinked.get("users", [])})
    linked = records.filter(pl.col("kind") == "orders")["value"].to_list()
    columns = ("order_id", "platform", "source_order_id")
    since = read_polars(lake.table(tables.ORDERS), row_filter=is_in("user_id", user_ids), columns=columns)
    order_ids = sorted({*linked, *since["order_id"], *unlinked.get("orders", [])})
    orders = read_polars(lake.table(tables.ORDERS), row_filter=is_in("order_id", order_ids), columns=columns)
    devices = sorted(v for k, v in exclusive if k == "device_id")
    events = _events(lake, user_ids, devices)
    return Subject(
        customer_ids=sorted({*customer_ids, *_old_ids(lake, customer_ids)}),
        user_ids=user_ids,
        order_ids=order_ids,
        source_order_ids=sorted(
            int(i) for i in orders.filter(pl.col("platform") == SHOPSPHERE)["source_order_id"] if i.isdigit()
        ),
        marketplace_docs=_marketplace_docs(lake, orders.filter(pl.col("platform") != SHOPSPHERE)),
        event_ids=sorted(events["event_id"]),
        event_positions=sorted(events.select("_topic", "_partition", "_offset").drop_nulls().unique().rows()),
        devices=devices,
        identifiers=exclusive,
        shared=shared,
        spellings=_spellings(lake, user_ids, orders, exclusive),
    )


# Where each table keeps identifier values, the record kind its links name it by, and the country
# its phones are read in (as identity resolution reads them).
_CARRIERS = {
    "users": (tables.USERS, "user_id", ("email", "phone", "loyalty_id"), "country"),
    "orders": (
        tables.ORDERS,
        "order_id",
        ("email", "phone", "loyalty_id", "device_id", "marketplace_buyer_id"),
        "ship_country",
    ),
}


def _loose(kind: str, values: pl.Expr) -> pl.Expr:
    """A cheap key that every spelling normalising to one value shares (and a few others): the rows
    worth normalising exactly, without running phonenumbers over a whole table."""
    text = values.cast(pl.String).str.strip_chars().str.to_lowercase()
    if kind == "email":
        local = text.str.replace(r"\+[^@]*@", "@").str.replace_all(".", "", literal=True)
        return local.str.replace("@googlemailcom", "@gmailcom", literal=True)
    if kind == "phone":
        return text.str.replace_all(r"\D", "").str.slice(-7)
    if kind == "loyalty_id":
        return text.str.replace_all(r"[^a-z0-9]", "")
    if kind == "marketplace_buyer_id":
        return text.str.split(":").list.last()
    return text


def _loose_keys(kind: str, values: set[str]) -> list[str]:
    return pl.DataFrame({"v": sorted(values)}).select(_loose(kind, pl.col("v")))["v"].to_list()


def _carrying(
    lake: Lake, exclusive: list[tuple[str, str]], customer_ids: list[str], *, default_region: str
) -> dict[str, list[str]]:
    """Ids of accounts and orders carrying one of the subject's own values that no link gives to another
    customer, by record kind ("users", "orders")."""
    wanted: dict[str, set[str]] = {}
    for kind, value in exclusive:
        wanted.setdefault(kind, set()).add(value)
    found: dict[str, list[str]] = {}
    for record_kind, (definition, key, columns, country) in _CARRIERS.items():
        kinds = [c for c in columns if c in wanted]
        if not kinds:
            continue
        read = (key, *kinds, country, *(("platform",) if "marketplace_buyer_id" in kinds else ()))
        rows = read_polars(lake.table(definition), columns=read)
        near = pl.any_horizontal(_loose(k, pl.col(k)).is_in(_loose_keys(k, wanted[k])) for k in kinds)
        ids = set()
        for row in rows.filter(near).iter_rows(named=True):
            region = phone_region(row[country], default_region)
            for kind in kinds:
                raw = (row["platform"], row[kind]) if kind == "marketplace_buyer_id" else row[kind]
                normalised = normalize_identifier(cast(IdentifierKind, kind), raw, default_region=region)
                if normalised is not None and normalised in wanted[kind]:
                    ids.add(str(row[key]))
        found[record_kind] = sorted(ids - _linked_elsewhere(lake, record_kind, ids, customer_ids))
    return found


def _linked_elsewhere(lake: Lake, record_kind: str, ids: set[str], customer_ids: list[str]) -> set[str]:
    """Of these record ids, those the last build linked to another customer."""
    if not ids:
        return set()
    links = read_polars(
        lake.table(tables.IDENTITY_LINKS),
        row_filter=is_in("value", sorted(ids)),
        columns=("customer_id", "kind", "value"),
    )
    others = links.filter((pl.col("kind") == record_kind) & ~pl.col("customer_id").is_in(customer_ids))
    return set(others["value"])


def _split_shared(
    lake: Lake, theirs: pl.DataFrame, customer_ids: list[str]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The subject's identifiers: those no other customer holds, and those another one holds too."""
    holders = read_polars(
        lake.table(tables.IDENTITY_LINKS),
        row_filter=is_in("value", theirs["value"].to_list()),
        columns=("customer_id", "kind", "value"),
    )
    others = holders.filter(~pl.col("customer_id").is_in(customer_ids)).select("kind", "value").unique()
    shared = theirs.join(others, on=["kind", "value"], how="semi")
    exclusive = theirs.join(others, on=["kind", "value"], how="anti")
    return sorted(exclusive.rows()), sorted(shared.rows())


def _old_ids(lake: Lake, customer_ids: list[str]) -> list[str]:
    """Ids earlier builds gave the subject, merged or split into the current ones."""
    changes = read_polars(lake.table(tables.CUSTOMER_ID_CHANGES), columns=("old_customer_id", "new_customer_id"))
    existing = set(read_polars(lake.table(tables.CUSTOMERS), columns=("customer_id",))["customer_id"])
    subject = set(customer_ids)
    return sorted(old for old, news in redirects(changes, existing).items() if subject & set(news))


def _events(lake: Lake, user_ids: list[int], devices: list[str]) -> pl.DataFrame:
    """The subject's events: signed in to one of their accounts, or on a device only they use."""
    columns = ("event_id", "user_id", "device_id", "_topic", "_partition", "_offset")
    events = read_polars(lake.table(tables.EVENTS), columns=columns)
    normalised = map_distinct(events["device_id"], normalize_device_id)
    mine = events["user_id"].is_in(pl.Series(user_ids, dtype=pl.Int64).implode()) | normalised.is_in(
        pl.Series(devices, dtype=pl.String).implode()
    )
    return events.filter(mine)


def _marketplace_docs(lake: Lake, orders: pl.DataFrame) -> list[str]:
    """MongoDB document ids of the subject's marketplace orders."""
    if orders.is_empty():
        return []
    docs = read_polars(
        lake.table(tables.MARKETPLACE_ORDERS),
        row_filter=is_in("marketplace_order_id", orders["source_order_id"].to_list()),
        columns=("platform", "marketplace_order_id", "doc_id"),
    )
    keys = orders.select(pl.col("platform"), pl.col("source_order_id").alias("marketplace_order_id"))
    return sorted(set(docs.join(keys, on=["platform", "marketplace_order_id"], how="semi")["doc_id"]))


def _spellings(lake: Lake, user_ids: list[int], orders: pl.DataFrame, exclusive: list[tuple[str, str]]) -> list[str]:
    """The subject's e-mails and phones as the sources spelled them, when they normalise to an exclusive value."""
    wanted = {value for kind, value in exclusive if kind in ("email", "phone")}
    columns: tuple[IdentifierKind, ...] = ("email", "phone")
    accounts = read_polars(lake.table(tables.USERS), row_filter=is_in("user_id", user_ids), columns=columns)
    web = orders.filter(pl.col("platform") == SHOPSPHERE)["source_order_id"].cast(pl.Int64, strict=False)
    raw_orders = read_polars(
        lake.table(tables.RAW_PG_ORDERS), row_filter=is_in("order_id", web.drop_nulls().to_list()), columns=columns
    )
    found: set[str] = set()
    for kind in columns:
        for spelled in pl.concat([accounts[kind], raw_orders[kind]]).drop_nulls().unique():
            if normalize_identifier(kind, spelled) in wanted:
                found.add(spelled)
    return sorted(found)
