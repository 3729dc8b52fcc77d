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
from functools import cached_property

import networkx as nx
import polars as pl

from identity.constraints import (
    CONFLICT_BITS,
    PER_CUSTOMER_LIMITS,
    CannotLink,
    cuts_frame,
    data_constraints,
    enforce,
    limit_constraints,
)
from identity.graph import (
    CUSTOMER_KINDS,
    IdentifierNode,
    household_identifiers,
    shared_device_sessions,
    trusted_links,
    untrusted_identifiers,
)
from identity.links import COMPONENT, Links
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
    cuts: pl.DataFrame  # links removed by cannot-link constraints
    linkage: Links = field(repr=False)  # the links kept once the cuts are made
    household: frozenset[IdentifierNode] = frozenset()  # family e-mails and phones: named records only

    @cached_property
    def graph(self) -> nx.Graph:
        """The whole identity graph in NetworkX, built on first use (explanations over a whole resolution)."""
        return self.linkage.networkx()


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
    survivorship: Mapping[str, str] | None = None,
) -> Resolution:
    """Resolve records (see `identity.records`) into customers; see the module docstring.

    `survivorship` maps golden attributes to their strategy (see `identity.survivorship`).
    """
    untrusted = untrusted_identifiers(records, identifiers, max_people=max_people)
    identifiers = identifiers.filter(~pl.col("record_id").is_in(shared_device_sessions(records, untrusted.keys())))
    matcher = Matcher.fit(records, default_region=default_region)
    household = household_identifiers(matcher.frame, identifiers)
    linkage = Links(
        records["record_id"],
        trusted_links(identifiers, untrusted, household=household, named=matcher.named),
        matcher.matches(match_threshold),
        _known_pairs(must_links, records["record_id"]),
    )
    record_labels, value_labels = linkage.labels()
    # Named records, and those carrying a customer identifier before any cut: one cut loose stays a customer.
    keyed = linkage.identifier_links.filter(pl.col("kind").is_in(CUSTOMER_KINDS))["record_id"]
    customer_records = pl.concat([keyed, matcher.frame["record_id"]])
    found = data_constraints(
        _named_groups(record_labels, matcher.named), matcher, _chains(linkage), conflict_bits=conflict_bits
    )
    constrained = [*cannot_links, *found]
    graph = linkage.networkx(_touched_records(record_labels, linkage, constrained, limits))
    constraints = [*cannot_links, *limit_constraints(graph, nx.connected_components(graph), limits), *found]
    cuts = enforce(graph, constraints)
    if cuts:
        record_labels, value_labels = _relabelled(graph, record_labels, value_labels)
        linkage = linkage.without([(u, v) for cut in cuts for u, v, _ in cut.edges])
    owners = _customer_ids(record_labels, value_labels, records, customer_records)
    member_frame = _membership(record_labels, owners, linkage)
    members = records.join(member_frame.drop("confidence"), on="record_id", how="inner")
    customers = golden_customers(members, default_region=default_region, build_id=build_id, strategies=survivorship)
    kept = value_labels.join(owners, on=COMPONENT).select("customer_id", "kind", "value")
    links = customer_links(members, kept, shared_links(identifiers, member_frame, untrusted), build_id=build_id)
    return Resolution(customers, links, untrusted, member_frame, cuts_frame(cuts), linkage, frozenset(household))


def renamed(resolution: Resolution, final: Mapping[str, str]) -> Resolution:
    """The resolution with each customer id replaced by its final one (see `identity.stable`)."""

    def rename(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(pl.col("customer_id").replace(dict(final)))

    return Resolution(
        rename(resolution.customers).sort("customer_id"),
        rename(resolution.links).sort("customer_id", "link_type", "kind", "value"),
        resolution.untrusted,
        rename(resolution.membership),
        resolution.cuts,
        resolution.linkage,
        resolution.household,
    )


def _known_pairs(pairs: Sequence[tuple[str, str]], record_ids: pl.Series) -> tuple[tuple[str, str], ...]:
    """The must-links between records this build holds (an override may name a record since deleted)."""
    if not pairs:
        return ()
    known = set(record_ids.to_list())
    return tuple((left, right) for left, right in pairs if left in known and right in known)


def _named_groups(record_labels: pl.DataFrame, named: frozenset[str]) -> list[list[str]]:
    """The named records of each component holding more than one."""
    grouped = (
        record_labels.filter(pl.col("record_id").is_in(list(named)))
        .group_by(COMPONENT)
        .agg(pl.col("record_id").sort())
        .filter(pl.col("record_id").list.len() > 1)
    )
    return sorted(grouped["record_id"].to_list())  # constraints are cut in order: the same order every build


def _chains(linkage: Links) -> dict[str, int]:
    """Each matched record's chain: the component probabilistic matches alone make."""
    matched = pl.concat([linkage.matches["left_id"], linkage.matches["right_id"]])
    chains, _ = Links(matched, linkage.identifier_links.clear(), linkage.matches).labels()
    return dict(zip(chains["record_id"].to_list(), chains[COMPONENT].to_list(), strict=True))


def _touched_records(
    record_labels: pl.DataFrame, linkage: Links, constraints: Sequence[CannotLink], limits: Mapping[str, int]
) -> pl.Series:
    """Records of the components a constraint may cut: those of its records, and those over a limit."""
    named = [record for constraint in constraints for record in (constraint.left, constraint.right)]
    kind_limit = pl.col("kind").replace_strict(dict(limits), default=None, return_dtype=pl.Int64)
    over_limit = (
        linkage.identifier_links.filter(pl.col("kind").is_in(list(limits)))
        .join(record_labels, on="record_id")
        .group_by(COMPONENT, "kind")
        .agg(pl.col("value").n_unique().alias("values"))
        .filter(pl.col("values") > kind_limit)
    )
    components = pl.concat(
        [record_labels.filter(pl.col("record_id").is_in(named))[COMPONENT], over_limit[COMPONENT]]
    ).unique()
    return record_labels.filter(pl.col(COMPONENT).is_in(components.implode()))["record_id"].sort()


def _relabelled(
    graph: nx.Graph, record_labels: pl.DataFrame, value_labels: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The labels once cuts are made: the components of `graph` (the cut ones) get fresh labels."""
    start = len(record_labels) + len(value_labels)  # above every label: there are fewer components than nodes
    records: list[tuple[str, int]] = []
    values: list[tuple[str, str, int]] = []
    for label, component in enumerate(nx.connected_components(graph), start=start):
        for node in component:
            if node[0] == "record":
                records.append((node[1], label))
            else:
                values.append((node[1], node[2], label))
    fresh_records = pl.DataFrame(records, schema={"record_id": pl.String, "fresh": pl.Int64}, orient="row")
    fresh_values = pl.DataFrame(values, schema={"kind": pl.String, "value": pl.String, "fresh": pl.Int64}, orient="row")
    update = pl.coalesce("fresh", COMPONENT).alias(COMPONENT)
    return (
        record_labels.join(fresh_records, on="record_id", how="left").select("record_id", update),
        value_labels.join(fresh_values, on=["kind", "value"], how="left").select("kind", "value", update),
    )


def _customer_ids(
    record_labels: pl.DataFrame, value_labels: pl.DataFrame, records: pl.DataFrame, customers: pl.Series
) -> pl.DataFrame:
    """(component, customer_id) of the components that describe a customer.

    A component is a customer when it holds an identifier beyond devices or a record in `customers`;
    its id derives from its anchor record (see `anchor_record`).
    """
    held = pl.concat(
        [
            value_labels.filter(pl.col("kind").is_in(CUSTOMER_KINDS))[COMPONENT],
            record_labels.filter(pl.col("record_id").is_in(customers.implode()))[COMPONENT],
        ]
    ).unique()
    sources = records.select("record_id", "source").unique(subset="record_id")
    # `anchor_record`'s order as one text, so each component's anchor is a minimum, not a sort:
    # source rank and id length zero-padded, then the id.
    rank = pl.col("source").replace_strict(SOURCE_RANK, default=99, return_dtype=pl.String).str.zfill(2)
    key = pl.concat_str(rank, pl.col("record_id").str.len_chars().cast(pl.String).str.zfill(6), "record_id")
    anchors = (
        record_labels.filter(pl.col(COMPONENT).is_in(held.implode()))
        .join(sources, on="record_id")
        .group_by(COMPONENT)
        .agg(key.min().str.slice(8).alias("record_id"))
    )
    return anchors.select(
        COMPONENT, pl.col("record_id").map_elements(customer_id_for, return_dtype=pl.String).alias("customer_id")
    )


def _membership(record_labels: pl.DataFrame, owners: pl.DataFrame, linkage: Links) -> pl.DataFrame:
    """(record_id, customer_id, confidence) of every record in a customer.

    Confidence is 1.0 for a record an identifier or a must-link holds (or alone), else its best
    probabilistic match.
    """
    must = pl.Series([record for pair in linkage.must_links for record in pair], dtype=pl.String)
    held = pl.concat([linkage.identifier_links["record_id"], must])
    matches = linkage.matches
    best = (
        pl.concat([matches.select(pl.col(side).alias("record_id"), "probability") for side in ("left_id", "right_id")])
        .group_by("record_id")
        .agg(pl.col("probability").max())
    )
    confidence = (
        pl.when(pl.col("record_id").is_in(held.implode())).then(1.0).otherwise(pl.col("probability").fill_null(1.0))
    )
    return (
        record_labels.join(owners, on=COMPONENT)
        .join(best, on="record_id", how="left")
        .select("record_id", "customer_id", confidence.cast(pl.Float64).alias("confidence"))
    )


def golden_customers(
    members: pl.DataFrame, *, default_region: str, build_id: str, strategies: Mapping[str, str] | None = None
) -> pl.DataFrame:
    """One `gold.customers` row per customer of `members` (records with their customer_id)."""
    golden = golden_attributes(members, default_region=default_region, strategies=strategies)
    stats = members.group_by("customer_id").agg(
        pl.col("record_id").n_unique().cast(pl.Int32).alias("record_count"),
        pl.col("seen_at").min().alias("first_seen"),
        pl.col("seen_at").max().alias("last_seen"),
    )
    joined = stats.join(golden, on="customer_id", how="left")
    return joined.with_columns(pl.lit(build_id).alias("build_id")).sort("customer_id")


def shared_links(
    identifiers: pl.DataFrame, member_frame: pl.DataFrame, untrusted: dict[IdentifierNode, str]
) -> pl.DataFrame:
    """Shared (not junk) identifiers linked to each customer whose records carry them, with the reason."""
    shared = [(kind, value, reason) for (_, kind, value), reason in untrusted.items() if reason != "junk_value"]
    reasons = pl.DataFrame(shared, schema={"kind": pl.String, "value": pl.String, "rule": pl.String}, orient="row")
    carried = identifiers.join(reasons, on=["kind", "value"]).join(member_frame, on="record_id")
    return carried.select("customer_id", pl.lit("identifier").alias("link_type"), "kind", "value", "rule").unique()


def customer_links(members: pl.DataFrame, kept: pl.DataFrame, shared: pl.DataFrame, *, build_id: str) -> pl.DataFrame:
    """The `gold.identity_links` rows: each customer's records, its identifiers, the shared ones its records carry.

    `members` are records with their customer_id, `kept` (customer_id, kind, value) the trusted identifiers.
    """
    records = members.select(
        "customer_id",
        pl.lit("record").alias("link_type"),
        pl.col("source").alias("kind"),
        pl.col("record_key").alias("value"),
        pl.lit("component").alias("rule"),
    ).unique()
    identifiers = kept.select(
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
