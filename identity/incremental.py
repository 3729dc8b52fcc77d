"""Incremental attach: new records join the customers of the last resolution without a recompute.

It answers only when a full recompute would give the same customers, which holds when the new records
1. carry no name (so they enter no probabilistic match, household or cannot-link between named records);
2. leave the identifiers set aside unchanged (junk values, shared identifiers);
3. touch, with the new records they share identifiers with, at most one existing customer, and none
   whose component a constraint cut (a new path could move a minimum cut) or that is no customer;
4. keep that customer within the per-customer limits.
Otherwise it returns None and the caller recomputes in full: new orders of known customers, the
bulk of a day's records, attach in a fraction of the time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx
import polars as pl

from identity.constraints import PER_CUSTOMER_LIMITS
from identity.graph import (
    CUSTOMER_KINDS,
    Node,
    identifier_node,
    record_node,
    shared_device_sessions,
    trusted_links,
    untrusted_identifiers,
)
from identity.links import Links
from identity.resolve import (
    Resolution,
    anchor_record,
    customer_id_for,
    customer_links,
    golden_customers,
    shared_links,
)


@dataclass
class Attachment:
    """Where the new records went, and the refreshed golden rows of the customers that gained any."""

    membership: pl.DataFrame  # record_id, customer_id, confidence of the new records
    customers: pl.DataFrame
    identifier_links: pl.DataFrame  # record_id, kind, value: the new records' links, as a full build makes them


def attach(
    previous: Resolution,
    records: pl.DataFrame,
    identifiers: pl.DataFrame,
    new_records: pl.DataFrame,
    new_identifiers: pl.DataFrame,
    *,
    max_people: int,
    default_region: str,
    build_id: str,
    limits: Mapping[str, int] = PER_CUSTOMER_LIMITS,
    survivorship: Mapping[str, str] | None = None,
) -> Attachment | None:
    """Attach `new_records` to the customers `previous` resolved from `records`; None means recompute.

    `identifiers` and `new_identifiers` are `identity.records.identifiers` of each record set.
    """
    # 1. named records take part in matching and constraints, and a record seen before may have
    #    changed: only a recompute places those.
    if new_records.select(pl.any_horizontal(pl.col("first_name", "last_name").is_not_null()).any()).item():
        return None
    if new_records["record_id"].is_in(records["record_id"].implode()).any():
        return None
    # 2. the identifiers set aside must stay the same.
    everyone = pl.concat([records, new_records], how="diagonal_relaxed")
    untrusted = untrusted_identifiers(everyone, pl.concat([identifiers, new_identifiers]), max_people=max_people)
    if untrusted != previous.untrusted:
        return None
    # 3. group the new records by what they share, and find the customer each group touches.
    skip = set(untrusted) | set(previous.household)
    sessions = shared_device_sessions(new_records, untrusted.keys())
    edges = trusted_links(new_identifiers.filter(~pl.col("record_id").is_in(sessions)), skip)
    owned = previous.linkage.identifier_links.join(previous.membership, on="record_id", how="left")
    owners = {
        (kind, value): customer for kind, value, customer in owned.select("kind", "value", "customer_id").iter_rows()
    }
    cut = set(previous.membership.filter(pl.col("record_id").is_in(_cut_records(previous)))["customer_id"].to_list())
    sources = dict(zip(new_records["record_id"].to_list(), new_records["source"].to_list(), strict=False))
    assigned: list[tuple[str, str, float]] = []
    for group in _groups(new_records["record_id"], edges):
        customer = _customer_of(group, previous, owners, cut, limits, sources)
        if customer is None:
            return None
        if customer:
            assigned.extend((node[1], customer, 1.0) for node in group if node[0] == "record")
    membership = pl.DataFrame(
        assigned, schema={"record_id": pl.String, "customer_id": pl.String, "confidence": pl.Float64}, orient="row"
    )
    # 4. the golden record of every customer that gained records, from all its records.
    touched = membership["customer_id"].unique()
    members = pl.concat([previous.membership, membership]).filter(pl.col("customer_id").is_in(touched.implode()))
    rows = everyone.join(members.drop("confidence"), on="record_id", how="inner")
    golden = golden_customers(rows, default_region=default_region, build_id=build_id, strategies=survivorship)
    return Attachment(membership, golden, edges)


def _cut_records(previous: Resolution) -> list[str]:
    return pl.concat([previous.cuts["left_record"], previous.cuts["right_record"]]).to_list()


def _groups(record_ids: pl.Series, edges: pl.DataFrame) -> list[set[Node]]:
    """New records with the identifiers that link them (as a full build would), grouped by what they share."""
    graph = nx.Graph()
    graph.add_nodes_from(record_node(r) for r in record_ids.to_list())
    for record_id, kind, value in edges.select("record_id", "kind", "value").iter_rows():
        graph.add_edge(record_node(record_id), identifier_node(kind, value))
    return [set(group) for group in nx.connected_components(graph)]


def _customer_of(
    group: set[Node],
    previous: Resolution,
    owners: dict[tuple[str, str], str | None],
    cut: set[str],
    limits: Mapping[str, int],
    sources: dict[str, str],
) -> str | None:
    """The customer a group joins, "" when it makes none, None when only a recompute can tell.

    `owners` maps each identifier of the last build to its customer (None: it belongs to none).
    """
    known = [(node[1], node[2]) for node in group if node[0] == "identifier" and (node[1], node[2]) in owners]
    customers = {owners[key] for key in known}
    if None in customers or len(customers) > 1 or customers & cut:
        return None
    if customers:
        customer = customers.pop()
        assert customer is not None
        return customer if _within_limits(customer, group, previous, limits) else None
    if any(node[0] == "identifier" and node[1] in CUSTOMER_KINDS for node in group):
        return customer_id_for(anchor_record([node[1] for node in group if node[0] == "record"], sources))
    return ""  # devices alone: an anonymous visitor, as in a full build


def _within_limits(customer: str, group: set[Node], previous: Resolution, limits: Mapping[str, int]) -> bool:
    held = previous.links.filter(
        (pl.col("customer_id") == customer) & (pl.col("link_type") == "identifier") & pl.col("kind").is_in(list(limits))
    )
    values: dict[str, set[str]] = {}
    for kind, value in held.select("kind", "value").iter_rows():
        values.setdefault(kind, set()).add(value)
    for node in group:
        if node[0] == "identifier" and node[1] in limits:
            values.setdefault(node[1], set()).add(node[2])
    return all(len(found) <= limits[kind] for kind, found in values.items())


def merged(
    previous: Resolution,
    attachment: Attachment,
    new_records: pl.DataFrame,
    new_identifiers: pl.DataFrame,
    *,
    build_id: str,
) -> Resolution:
    """The resolution after an attach: the last one with the new records, their links and refreshed customers."""
    touched = attachment.customers.select("customer_id")
    kept_customers = previous.customers.join(touched, on="customer_id", how="anti")
    customers = pl.concat([kept_customers, attachment.customers.select(kept_customers.columns)], how="vertical_relaxed")
    members = new_records.join(attachment.membership.drop("confidence"), on="record_id", how="inner")
    new_links = attachment.identifier_links.select("record_id", "kind", "value")
    kept = new_links.join(attachment.membership, on="record_id").select("customer_id", "kind", "value")
    sessions = shared_device_sessions(new_records, previous.untrusted.keys())
    carried = new_identifiers.filter(~pl.col("record_id").is_in(sessions))
    shared = shared_links(carried, attachment.membership, previous.untrusted)
    gained = customer_links(members, kept.unique(), shared, build_id=build_id)
    added = gained.join(previous.links, on=list(_LINK_KEY), how="anti").select(previous.links.columns)
    links = pl.concat([previous.links, added], how="vertical_relaxed")
    linkage = Links(
        pl.concat([previous.linkage.record_ids, new_records["record_id"]]),
        pl.concat([previous.linkage.identifier_links, new_links]),
        previous.linkage.matches,
        previous.linkage.must_links,
    )
    return Resolution(
        customers.sort("customer_id"),
        links.sort("customer_id", *_LINK_KEY),
        previous.untrusted,
        pl.concat([previous.membership, attachment.membership]),
        previous.cuts,
        linkage,
        previous.household,
    )


_LINK_KEY = ("customer_id", "link_type", "kind", "value")
