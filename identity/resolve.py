"""Resolution: records linked by trusted identifiers and probabilistic matches become golden customers.

1. identifiers that are junk or shared by too many people are set aside (with the reason);
2. records and the remaining identifiers form a NetworkX graph (deterministic links);
3. named records are matched probabilistically (`identity.match`); matches at or above the
   threshold that are no household become record-to-record edges with their evidence;
4. cannot-link constraints (manual ones, and named records of one component that are clearly two
   people) cut their component at its weakest links (`identity.constraints`);
5. each component holding a customer identifier or a named record is one customer; its id derives
   from the component's anchor record (an account before an order), so recomputing gives the same id
   while that record stays in the customer;
6. survivorship picks each golden attribute; links record every record and identifier kept, and
   shared identifiers (a household e-mail) are linked to each customer carrying them, rule saying why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import networkx as nx
import polars as pl

from identity.constraints import (
    CONFLICT_BITS,
    PER_CUSTOMER_LIMITS,
    CannotLink,
    Cut,
    cuts_frame,
    data_constraints,
    enforce,
    limit_constraints,
)
from identity.graph import (
    IdentifierNode,
    Node,
    add_manual_edges,
    add_match_edges,
    build_graph,
    customer_components,
    customer_records,
    household_identifiers,
    identifiers_of,
    record_node,
    shared_device_sessions,
    untrusted_identifiers,
)
from identity.match import Matcher
from identity.records import SOURCE_RANK
from identity.survivorship import golden_attributes

MATCH_THRESHOLD = 0.99
"""Probability at or above which a probabilistic match links two records."""


@dataclass
class Resolution:
    """Golden customers, their links, the identifiers set aside, and the evidence behind them."""

    customers: pl.DataFrame
    links: pl.DataFrame
    untrusted: dict[IdentifierNode, str]
    membership: pl.DataFrame  # record_id, customer_id, confidence
    matches: pl.DataFrame  # probabilistic links kept: left_id, right_id, match_weight, probability, evidence
    cuts: pl.DataFrame  # links removed by cannot-link constraints
    graph: nx.Graph = field(repr=False)
    household: frozenset[IdentifierNode] = frozenset()  # family e-mails and phones: named records only


def customer_id_for(anchor_record_id: str) -> str:
    """The stable customer id of a component anchored on `anchor_record_id`."""
    return "C-" + hashlib.sha256(anchor_record_id.encode()).hexdigest()[:12]


def anchor_record(record_ids: list[str], sources: dict[str, str]) -> str:
    """The record a customer id derives from: an account before an order before a device, then the smallest id."""
    return min(record_ids, key=lambda r: (SOURCE_RANK.get(sources[r], 99), len(r), r))


def resolve(
    records: pl.DataFrame,
    identifiers: pl.DataFrame,
    *,
    max_people: int,
    default_region: str,
    build_id: str,
    match_threshold: float = MATCH_THRESHOLD,
    conflict_bits: float = CONFLICT_BITS,
    cannot_links: Sequence[CannotLink] = (),
    limits: Mapping[str, int] = PER_CUSTOMER_LIMITS,
    must_links: Sequence[tuple[str, str]] = (),
) -> Resolution:
    """Resolve records (see `identity.records`) into customers; see the module docstring."""
    untrusted = untrusted_identifiers(records, identifiers, max_people=max_people)
    identifiers = identifiers.filter(~pl.col("record_id").is_in(shared_device_sessions(records, untrusted.keys())))
    matcher = Matcher.fit(records, default_region=default_region)
    household = household_identifiers(matcher.frame, identifiers)
    graph = build_graph(
        records["record_id"].unique().to_list(), identifiers, untrusted, household=household, named=matcher.named
    )
    matches = matcher.matches(match_threshold)
    add_match_edges(graph, matches)
    add_manual_edges(graph, must_links)
    components = list(nx.connected_components(graph))
    crowded = [c for c in components if _named_count(c, matcher) > 1]
    chains = nx.Graph(zip(map(record_node, matches["left_id"]), map(record_node, matches["right_id"]), strict=True))
    found = [
        *limit_constraints(graph, components, limits),
        *data_constraints(crowded, matcher, chains, conflict_bits=conflict_bits),
    ]
    keyed = customer_records(graph)  # before cuts: a record cut loose stays a customer of its own
    cuts = enforce(graph, [*cannot_links, *found])
    held = customer_components(_after_cuts(graph, components, cuts), matcher.named | keyed)
    member_frame, kept = _membership(graph, held, records)
    members = records.join(member_frame.drop("confidence"), on="record_id", how="inner")
    customers = golden_customers(members, default_region=default_region, build_id=build_id)
    shared = _shared_links(identifiers, member_frame, untrusted)
    links = _links(members, kept, shared, build_id=build_id)
    return Resolution(customers, links, untrusted, member_frame, matches, cuts_frame(cuts), graph, frozenset(household))


def renamed(resolution: Resolution, final: Mapping[str, str]) -> Resolution:
    """The resolution with each customer id replaced by its final one (see `identity.stable`)."""

    def rename(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(pl.col("customer_id").replace(dict(final)))

    return Resolution(
        rename(resolution.customers).sort("customer_id"),
        rename(resolution.links).sort("customer_id", "link_type", "kind", "value"),
        resolution.untrusted,
        rename(resolution.membership),
        resolution.matches,
        resolution.cuts,
        resolution.graph,
        resolution.household,
    )


def _after_cuts(graph: nx.Graph, components: list[set[Node]], cuts: list[Cut]) -> list[set[Node]]:
    """The components once cuts are made: those a cut touched are recomputed, the rest kept."""
    touched = {node for cut in cuts for u, v, _ in cut.edges for node in (u, v)}
    if not touched:
        return components
    kept = [c for c in components if touched.isdisjoint(c)]
    redone = set().union(*(c for c in components if not touched.isdisjoint(c)))
    return kept + list(nx.connected_components(graph.subgraph(redone)))


def _membership(
    graph: nx.Graph, components: list[set[Node]], records: pl.DataFrame
) -> tuple[pl.DataFrame, list[tuple[str, str, str]]]:
    """(record_id, customer_id, confidence) of every record in a customer, and each customer's identifiers."""
    sources = dict(zip(records["record_id"].to_list(), records["source"].to_list(), strict=False))
    assigned: list[tuple[str, str, float]] = []
    kept: list[tuple[str, str, str]] = []
    for component in components:
        record_ids = [node[1] for node in component if node[0] == "record"]
        customer_id = customer_id_for(anchor_record(record_ids, sources))
        assigned.extend((record_id, customer_id, _confidence(graph, record_id)) for record_id in record_ids)
        kept.extend((customer_id, kind, value) for kind, value in identifiers_of(component))
    schema = {"record_id": pl.String, "customer_id": pl.String, "confidence": pl.Float64}
    return pl.DataFrame(assigned, schema=schema, orient="row"), kept


def _named_count(component: set[Node], matcher: Matcher) -> int:
    return sum(1 for node in component if node[0] == "record" and node[1] in matcher.named)


def _confidence(graph: nx.Graph, record_id: str) -> float:
    """1.0 for a record held by an identifier (or alone); else its best probabilistic match."""
    links = graph[record_node(record_id)]
    chances = [data.get("probability", 1.0) for data in links.values()]
    return max(chances, default=1.0)


def golden_customers(members: pl.DataFrame, *, default_region: str, build_id: str) -> pl.DataFrame:
    """One `gold.customers` row per customer of `members` (records with their customer_id)."""
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
