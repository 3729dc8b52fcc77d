"""Deterministic resolution: connected components of trusted identifiers become golden customers.

1. identifiers that are junk or shared by too many people are set aside (with the reason);
2. records and the remaining identifiers form a NetworkX graph; each component that holds a
   customer identifier is one customer;
3. the customer id derives from the component's anchor record (the smallest account id, else the
   smallest order id), so recomputing gives the same id while that record stays in the customer;
4. survivorship picks each golden attribute; links record every record and identifier kept, and
   shared identifiers (a household e-mail) are linked to each customer carrying them, rule saying why.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

from identity.graph import (
    IdentifierNode,
    build_graph,
    customer_components,
    identifiers_of,
    untrusted_identifiers,
)
from identity.records import SOURCE_RANK
from identity.survivorship import golden_attributes


@dataclass
class Resolution:
    """Golden customers, their links, and the identifiers set aside."""

    customers: pl.DataFrame
    links: pl.DataFrame
    untrusted: dict[IdentifierNode, str]


def customer_id_for(anchor_record_id: str) -> str:
    """The stable customer id of a component anchored on `anchor_record_id`."""
    return "C-" + hashlib.sha256(anchor_record_id.encode()).hexdigest()[:12]


def _anchor(record_ids: list[str], sources: dict[str, str]) -> str:
    return min(record_ids, key=lambda r: (SOURCE_RANK.get(sources[r], 99), len(r), r))


def resolve(
    records: pl.DataFrame, identifiers: pl.DataFrame, *, max_people: int, default_region: str, build_id: str
) -> Resolution:
    """Resolve records (see `identity.records`) into customers; see the module docstring."""
    untrusted = untrusted_identifiers(records, identifiers, max_people=max_people)
    graph = build_graph(records["record_id"].unique().to_list(), identifiers, untrusted)
    sources = dict(zip(records["record_id"].to_list(), records["source"].to_list(), strict=True))
    membership: dict[str, str] = {}
    kept: list[tuple[str, str, str]] = []
    for component in customer_components(graph):
        record_ids = [node[1] for node in component if node[0] == "record"]
        customer_id = customer_id_for(_anchor(record_ids, sources))
        membership.update(dict.fromkeys(record_ids, customer_id))
        kept.extend((customer_id, kind, value) for kind, value in identifiers_of(component))
    member_frame = pl.DataFrame(
        {"record_id": list(membership), "customer_id": list(membership.values())},
        schema={"record_id": pl.String, "customer_id": pl.String},
    )
    members = records.join(member_frame, on="record_id", how="inner")
    customers = _customers(members, default_region=default_region, build_id=build_id)
    shared = _shared_links(identifiers, member_frame, untrusted)
    links = _links(members, kept, shared, build_id=build_id)
    return Resolution(customers=customers, links=links, untrusted=untrusted)


def _customers(members: pl.DataFrame, *, default_region: str, build_id: str) -> pl.DataFrame:
    golden = golden_attributes(members, default_region=default_region)
    stats = members.group_by("customer_id").agg(
        pl.col("record_id").n_unique().cast(pl.Int32).alias("record_count"),
        pl.col("seen_at").min().alias("first_seen"),
        pl.col("seen_at").max().alias("last_seen"),
    )
    joined = stats.join(golden, on="customer_id", how="left")
    return joined.with_columns(pl.lit(build_id).alias("build_id")).sort("customer_id")


def _shared_links(
    identifiers: pl.DataFrame, member_frame: pl.DataFrame, untrusted: dict[IdentifierNode, str]
) -> pl.DataFrame:
    """Shared (not junk) identifiers linked to each customer whose records carry them, with the reason."""
    shared = [(kind, value, reason) for (_, kind, value), reason in untrusted.items() if reason != "junk_value"]
    reasons = pl.DataFrame(shared, schema={"kind": pl.String, "value": pl.String, "rule": pl.String}, orient="row")
    carried = identifiers.join(reasons, on=["kind", "value"]).join(member_frame, on="record_id")
    return carried.select("customer_id", pl.lit("identifier").alias("link_type"), "kind", "value", "rule").unique()


def _links(
    members: pl.DataFrame, kept: list[tuple[str, str, str]], shared: pl.DataFrame, *, build_id: str
) -> pl.DataFrame:
    records = members.select(
        "customer_id",
        pl.lit("record").alias("link_type"),
        pl.col("source").alias("kind"),
        pl.col("record_key").alias("value"),
        pl.lit("component").alias("rule"),
    ).unique()
    schema = {"customer_id": pl.String, "kind": pl.String, "value": pl.String}
    identifiers = pl.DataFrame(kept, schema=schema, orient="row").select(
        "customer_id",
        pl.lit("identifier").alias("link_type"),
        "kind",
        "value",
        pl.concat_str(pl.lit("exact:"), pl.col("kind")).alias("rule"),
    )
    confidence = pl.when(pl.col("rule").str.starts_with("exact:") | (pl.col("rule") == "component"))
    return (
        pl.concat([records, identifiers, shared])
        .with_columns(confidence.then(1.0).otherwise(0.5).alias("confidence"), pl.lit(build_id).alias("build_id"))
        .sort("customer_id", "link_type", "kind", "value")
    )
