"""Incremental attach: new records join the customers of the last resolution without a recompute.

It answers only when a full recompute would give the same customers, which holds when the new records
1. carry no name (so they enter no probabilistic match, household or cannot-link between named records);
2. leave the identifiers set aside unchanged (junk values, shared identifiers);
3. touch, with the new records they share identifiers with, at most one existing customer (not an
   identifier of no customer); when a constraint cut that customer's component, they must not
   change the values of a kind with a per-customer limit (see `_keeps_cuts`);
4. keep that customer within the per-customer limits.
Otherwise it says why (`Declined`) and the caller recomputes in full: new orders of known customers,
the bulk of a day's records, attach in a fraction of the time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx
import polars as pl

from identity.constraints import PER_CUSTOMER_LIMITS, carried_together
from identity.graph import (
    CUSTOMER_KINDS,
    Node,
    identifier_node,
    labelled_node,
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


@dataclass(frozen=True)
class Declined:
    """Why the new records need a full recompute."""

    reason: str


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
) -> Attachment | Declined:
    """Attach `new_records` to the customers `previous` resolved from `records`, or say why only a recompute can.

    `identifiers` and `new_identifiers` are `identity.records.identifiers` of each record set.
    """
    # 1. named records take part in matching and constraints, and a record seen before may have
    #    changed: only a recompute places those.
    if new_records.select(pl.any_horizontal(pl.col("first_name", "last_name").is_not_null()).any()).item():
        return Declined("a new record carries a name")
    if new_records["record_id"].is_in(records["record_id"].implode()).any():
        return Declined("a record was seen before")
    # 2. the identifiers set aside must stay the same.
    everyone = pl.concat([records, new_records], how="diagonal_relaxed")
    if _set_aside_changes(previous, everyone, pl.concat([identifiers, new_identifiers]), new_identifiers, max_people):
        return Declined("the identifiers set aside change")
    # 3. group the new records by what they share, and find the customer each group touches.
    untrusted = previous.untrusted
    sessions = shared_device_sessions(new_records, untrusted.keys())
    skip = set(untrusted) | set(previous.household)
    edges = trusted_links(new_identifiers.filter(~pl.col("record_id").is_in(sessions)), skip)
    placed = _place(previous, new_records, edges, limits)
    if isinstance(placed, Declined):
        return placed
    membership = pl.DataFrame(
        placed, schema={"record_id": pl.String, "customer_id": pl.String, "confidence": pl.Float64}, orient="row"
    )
    # 4. the golden record of every customer that gained records, from all its records.
    touched = membership["customer_id"].unique()
    members = pl.concat([previous.membership, membership]).filter(pl.col("customer_id").is_in(touched.implode()))
    rows = everyone.join(members.drop("confidence"), on="record_id", how="inner")
    golden = golden_customers(rows, default_region=default_region, build_id=build_id, strategies=survivorship)
    return Attachment(membership, golden, edges)


def _cut_pieces(previous: Resolution) -> set[str]:
    """The customers a cut made: those holding an end of a removed link or a constrained record."""
    cuts = previous.cuts
    labels = pl.concat(
        [cuts["removed_from"], cuts["removed_to"], "record:" + pl.concat([cuts["left_record"], cuts["right_record"]])]
    )
    nodes = [labelled_node(text) for text in labels.unique().to_list()]
    records = pl.Series([node[1] for node in nodes if node[0] == "record"], dtype=pl.String)
    values = pl.DataFrame(
        [(node[1], node[2]) for node in nodes if node[0] == "identifier"],
        schema={"kind": pl.String, "value": pl.String},
        orient="row",
    )
    holders = values.join(previous.linkage.identifier_links, on=["kind", "value"])["record_id"]
    held = previous.membership.filter(pl.col("record_id").is_in(pl.concat([records, holders]).implode()))
    return set(held["customer_id"].to_list())


def _keeps_cuts(
    group: set[Node],
    carried: dict[str, list[tuple[str, str]]],
    carriers: dict[tuple[str, str], str],
    limits: Mapping[str, int],
) -> bool:
    """Whether a group joining a piece of a cut component leaves every cut as a full build makes it.

    A minimum cut is the same once new records hang off one side of it (`constraints.enforce` takes
    the sink side the flow reaches, whatever order it is found in), and the constraints are the same
    unless the new records change a limited kind's values: so each new record may carry at most one
    value of a limited kind, one the customer holds already, and must not be its first carrier.
    """
    for node in group:
        if node[0] != "record":
            continue
        limited = [(kind, value) for kind, value in carried.get(node[1], []) if kind in limits]
        if len({kind for kind, _ in limited}) != len(limited):
            return False
        if any(key not in carriers or node[1] < carriers[key] for key in limited):
            return False
    return True


def _groups(record_ids: pl.Series, edges: pl.DataFrame) -> list[set[Node]]:
    """New records with the identifiers that link them (as a full build would), grouped by what they share."""
    graph = nx.Graph()
    graph.add_nodes_from(record_node(r) for r in record_ids.to_list())
    for record_id, kind, value in edges.select("record_id", "kind", "value").iter_rows():
        graph.add_edge(record_node(record_id), identifier_node(kind, value))
    return [set(group) for group in nx.connected_components(graph)]


def _place(
    previous: Resolution, new_records: pl.DataFrame, edges: pl.DataFrame, limits: Mapping[str, int]
) -> list[tuple[str, str, float]] | Declined:
    """(record_id, customer_id, confidence) of the new records that join a customer, or why some cannot be placed."""
    owned = edges.select("kind", "value").unique().join(previous.linkage.identifier_links, on=["kind", "value"])
    owners = {
        (kind, value): customer
        for kind, value, customer in owned.join(previous.membership, on="record_id", how="left")
        .select("kind", "value", "customer_id")
        .iter_rows()
    }
    carriers = {
        (kind, value): record
        for kind, value, record in owned.group_by("kind", "value").agg(pl.col("record_id").min()).iter_rows()
    }
    carried: dict[str, list[tuple[str, str]]] = {}
    for record_id, kind, value in edges.select("record_id", "kind", "value").iter_rows():
        carried.setdefault(record_id, []).append((kind, value))
    pieces = _cut_pieces(previous)
    sources = dict(zip(new_records["record_id"].to_list(), new_records["source"].to_list(), strict=False))
    assigned: list[tuple[str, str, float]] = []
    gained: dict[str, list[str]] = {}
    undecided: Counter[str] = Counter()
    components: dict[tuple[str, str], int] | None = None  # labelled only when a group needs them
    for group in _groups(new_records["record_id"], edges):
        customer = _customer_of(group, owners, sources)
        if customer in pieces and not _keeps_cuts(group, carried, carriers, limits):
            customer = _CUT_CUSTOMER
        if customer == _NO_CUSTOMER:
            components = _components(previous) if components is None else components
            if _stays_anonymous(group, owners, components) and _keeps_cuts(group, carried, carriers, limits):
                customer = ""
        if customer in _UNDECIDED:
            undecided[customer] += 1
        elif customer:
            assigned.extend((node[1], customer, 1.0) for node in group if node[0] == "record")
            gained.setdefault(customer, []).extend(node[1] for node in group if node[0] == "record")
    if undecided:
        return Declined("; ".join(f"{count} groups {why}" for why, count in sorted(undecided.items())))
    # A piece of a cut component keeps its values (`_keeps_cuts`), over a limit or not, as a full build would.
    uncut = {customer: records for customer, records in gained.items() if customer not in pieces}
    if not _within_limits(uncut, carried, previous, limits):
        return Declined("a customer would exceed a per-customer limit")
    return assigned


def _set_aside_changes(
    previous: Resolution,
    everyone: pl.DataFrame,
    identifiers: pl.DataFrame,
    new_identifiers: pl.DataFrame,
    max_people: int,
) -> bool:
    """Whether the new records change which identifiers are set aside.

    Whether an identifier is set aside depends only on the records carrying it, so only the
    identifiers the new records carry are looked at, over the records that carry them.
    """
    carried = new_identifiers.select("kind", "value").unique()
    holders = identifiers.join(carried, on=["kind", "value"]).select("record_id").unique()
    nearby = everyone.join(holders, on="record_id")
    now = untrusted_identifiers(nearby, identifiers.join(holders, on="record_id"), max_people=max_people)
    keys = {("identifier", kind, value) for kind, value in carried.iter_rows()}
    before = {node: reason for node, reason in previous.untrusted.items() if node in keys}
    return {node: reason for node, reason in now.items() if node in keys} != before


_NO_CUSTOMER = "reach an identifier of no customer and would make one or join two"
_TWO_CUSTOMERS = "join two customers"
_CUT_CUSTOMER = "join a customer a constraint cut and would change a limited kind's values"
_UNDECIDED = (_NO_CUSTOMER, _TWO_CUSTOMERS, _CUT_CUSTOMER)


def _components(previous: Resolution) -> dict[tuple[str, str], int]:
    """The component of each identifier of the last build's graph."""
    _, values = previous.linkage.labels()
    return {(kind, value): label for kind, value, label in values.iter_rows()}


def _stays_anonymous(
    group: set[Node], owners: dict[tuple[str, str], str | None], components: dict[tuple[str, str], int]
) -> bool:
    """Whether a group joins one component of no customer and leaves it one: anonymous visits of a known device.

    It carries no identifier that makes a customer and reaches no customer's identifier; then the
    component stays without one, as in a full build (the cuts stay as they were: see `_keeps_cuts`).
    """
    identifiers = [(node[1], node[2]) for node in group if node[0] == "identifier"]
    if any(kind in CUSTOMER_KINDS for kind, _ in identifiers):
        return False
    known = [key for key in identifiers if key in owners]
    return all(owners[key] is None for key in known) and len({components[key] for key in known}) == 1


def _customer_of(group: set[Node], owners: dict[tuple[str, str], str | None], sources: dict[str, str]) -> str:
    """The customer a group joins, "" when it makes none, or which of `_UNDECIDED` only a recompute can settle.

    `owners` maps the group's identifiers the last build held to their customer (None: it belongs to none).
    """
    known = [(node[1], node[2]) for node in group if node[0] == "identifier" and (node[1], node[2]) in owners]
    customers = {owners[key] for key in known}
    if None in customers:
        return _NO_CUSTOMER
    if len(customers) > 1:
        return _TWO_CUSTOMERS
    if customers:
        customer = customers.pop()
        assert customer is not None
        return customer
    if any(node[0] == "identifier" and node[1] in CUSTOMER_KINDS for node in group):
        return customer_id_for(anchor_record([node[1] for node in group if node[0] == "record"], sources))
    return ""  # devices alone: an anonymous visitor, as in a full build


def _within_limits(
    gained: dict[str, list[str]],
    carried: dict[str, list[tuple[str, str]]],
    previous: Resolution,
    limits: Mapping[str, int],
) -> bool:
    """Whether every customer stays within the per-customer limits with all the new records it gains.

    Values are counted as `constraints.limit_constraints` counts them: those one record carries
    together (an account's replaced card) count once.
    """
    members = previous.membership.filter(pl.col("customer_id").is_in(list(gained))).select("record_id", "customer_id")
    held = previous.linkage.identifier_links.filter(pl.col("kind").is_in(list(limits))).join(members, on="record_id")
    graphs: dict[str, nx.Graph] = {customer: nx.Graph() for customer in gained}
    for record, kind, value, customer in held.select("record_id", "kind", "value", "customer_id").iter_rows():
        graphs[customer].add_edge(record_node(record), identifier_node(kind, value))
    for customer, records in gained.items():
        for record in records:
            for kind, value in carried.get(record, []):
                if kind in limits:
                    graphs[customer].add_edge(record_node(record), identifier_node(kind, value))
    for graph in graphs.values():
        by_kind: dict[str, list[Node]] = {}
        for node in graph:
            if node[0] == "identifier":
                by_kind.setdefault(node[1], []).append(node)
        if any(len(carried_together(graph, nodes)) > limits[kind] for kind, nodes in by_kind.items()):
            return False
    return True


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
