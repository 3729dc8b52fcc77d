"""Incremental attach: new records join the customers of the last resolution without a recompute.

It answers only when a full recompute would give the same customers, which holds when the new records
1. carry no name (so they enter no probabilistic match, household or cannot-link between named records);
2. leave the identifiers set aside unchanged (junk values, shared identifiers);
3. touch, with the new records they share identifiers with, at most one existing customer; the
   records of no customer they reach (an anonymous device's visits) join it, or stay without one
   when nothing of theirs makes a customer; when a constraint cut the component they join, they
   must not change the values of a kind with a per-customer limit (see `_keeps_cuts`);
4. keep an uncut customer within the per-customer limits.
Otherwise it says why (`Declined`) and the caller recomputes in full: new orders of known customers,
the bulk of a day's records, attach in a fraction of the time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import networkx as nx
import polars as pl

from identity.constraints import PER_CUSTOMER_LIMITS, carried_together
from identity.graph import (
    CUSTOMER_KINDS,
    IdentifierNode,
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
    untrusted: dict[IdentifierNode, str]  # the identifiers set aside, with their reasons now


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
    seen_again: Sequence[str] = (),
) -> Attachment | Declined:
    """Attach `new_records` to the customers `previous` resolved from `records`, or say why only a recompute can.

    `identifiers` and `new_identifiers` are `identity.records.identifiers` of each record set;
    `seen_again` names unnamed records of `records` with a later time than the last build saw,
    whose customers' golden rows are refreshed too.
    """
    # 1. named records take part in matching and constraints, and a record seen before may have
    #    changed: only a recompute places those.
    if new_records.select(pl.any_horizontal(pl.col("first_name", "last_name").is_not_null()).any()).item():
        return Declined("a new record carries a name")
    if new_records["record_id"].is_in(records["record_id"].implode()).any():
        return Declined("a record was seen before")
    # 2. the identifiers set aside must stay the same (how many people share one may grow).
    everyone = pl.concat([records, new_records], how="diagonal_relaxed")
    recounted = _set_aside_recounted(
        previous, everyone, pl.concat([identifiers, new_identifiers]), new_identifiers, max_people
    )
    if recounted is None:
        return Declined("the identifiers set aside change")
    # 3. group the new records by what they share, and find the customer each group touches.
    untrusted = {**previous.untrusted, **recounted}
    sessions = shared_device_sessions(new_records, untrusted.keys())
    skip = set(untrusted) | set(previous.household)
    edges = trusted_links(new_identifiers.filter(~pl.col("record_id").is_in(sessions)), skip)
    placed = _place(previous, records, new_records, edges, limits)
    if isinstance(placed, Declined):
        return placed
    membership = pl.DataFrame(
        placed, schema={"record_id": pl.String, "customer_id": pl.String, "confidence": pl.Float64}, orient="row"
    )
    # 4. the golden record of every customer that gained records or saw one again, from all its records.
    again = previous.membership.filter(pl.col("record_id").is_in(list(seen_again)))["customer_id"]
    touched = pl.concat([membership["customer_id"], again]).unique()
    members = pl.concat([previous.membership, membership]).filter(pl.col("customer_id").is_in(touched.implode()))
    rows = everyone.join(members.drop("confidence"), on="record_id", how="inner")
    golden = golden_customers(rows, default_region=default_region, build_id=build_id, strategies=survivorship)
    return Attachment(membership, golden, edges, untrusted)


def _cut_pieces(previous: Resolution) -> set[str]:
    """The customers a cut made: those holding an end of a removed link or a constrained record."""
    nodes = [labelled_node(text) for text in _cut_ends(previous.cuts)]
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
    value of each limited kind, one the component holds already, and must not sort before its first
    carrier (the record a limit constraint names).
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
    previous: Resolution,
    records: pl.DataFrame,
    new_records: pl.DataFrame,
    edges: pl.DataFrame,
    limits: Mapping[str, int],
) -> list[tuple[str, str, float]] | Declined:
    """(record_id, customer_id, confidence) of the records that join a customer, or why some cannot be placed.

    Besides the new records, that is the records of any component of no customer a new record
    joins to one (an anonymous device's visits, once an order ties the device to a person).
    """
    known = _Known.of(previous, edges)
    sources = dict(zip(new_records["record_id"].to_list(), new_records["source"].to_list(), strict=False))
    assigned: list[tuple[str, str, float]] = []
    gained: dict[str, list[str]] = {}
    undecided: Counter[str] = Counter()
    for group in _groups(new_records["record_id"], edges):
        placed = known.place(group, records, sources, limits)
        if isinstance(placed, Declined):
            undecided[placed.reason] += 1
        elif placed[0]:
            customer, members = placed
            assigned.extend((record, customer, 1.0) for record in members)
            gained.setdefault(customer, []).extend(members)
    if undecided:
        return Declined("; ".join(f"{count} groups {why}" for why, count in sorted(undecided.items())))
    # A piece of a cut component keeps its values (`_keeps_cuts`), over a limit or not, as a full build would.
    uncut = {customer: members for customer, members in gained.items() if customer not in known.pieces}
    if not _within_limits(uncut, known.carried, previous, limits):
        return Declined("a customer would exceed a per-customer limit")
    return assigned


@dataclass
class _Known:
    """What the last build says of the identifiers a batch carries: owners, first carriers, cut pieces."""

    previous: Resolution
    owners: dict[tuple[str, str], str | None]  # None: held by a component of no customer
    carriers: dict[tuple[str, str], str]  # the smallest record carrying each
    carried: dict[str, list[tuple[str, str]]]  # each new record's trusted identifiers
    pieces: set[str]  # customers a cut made
    absorbed: set[int] = field(default_factory=set)  # components of no customer a group took along
    _labels: tuple[dict[tuple[str, str], int], dict[int, list[str]], set[int]] | None = None

    @classmethod
    def of(cls, previous: Resolution, edges: pl.DataFrame) -> _Known:
        owned = edges.select("kind", "value").unique().join(previous.linkage.identifier_links, on=["kind", "value"])
        owners = owned.join(previous.membership, on="record_id", how="left").select("kind", "value", "customer_id")
        first = owned.group_by("kind", "value").agg(pl.col("record_id").min())
        carried: dict[str, list[tuple[str, str]]] = {}
        for record_id, kind, value in edges.select("record_id", "kind", "value").iter_rows():
            carried.setdefault(record_id, []).append((kind, value))
        return cls(
            previous,
            {(kind, value): customer for kind, value, customer in owners.iter_rows()},
            {(kind, value): record for kind, value, record in first.iter_rows()},
            carried,
            _cut_pieces(previous),
        )

    def place(
        self, group: set[Node], records: pl.DataFrame, sources: dict[str, str], limits: Mapping[str, int]
    ) -> tuple[str, list[str]] | Declined:
        """The customer a group joins ("" for none) with every record that joins it, or why only a recompute can say."""
        identifiers = [(node[1], node[2]) for node in group if node[0] == "identifier"]
        known = [key for key in identifiers if key in self.owners]
        customers = {self.owners[key] for key in known} - {None}
        if len(customers) > 1:
            return Declined(_TWO_CUSTOMERS)
        customer = customers.pop() if customers else None
        members = [node[1] for node in group if node[0] == "record"]
        anonymous = [key for key in known if self.owners[key] is None]
        keeps_cuts = _keeps_cuts(group, self.carried, self.carriers, limits)
        makes_customer = customer is not None or any(kind in CUSTOMER_KINDS for kind, _ in identifiers)
        if anonymous:
            component, records_of, cut = self._components()
            joined = {component[key] for key in anonymous}
            if joined & cut or (customer in self.pieces):
                return Declined(_CUT_CUSTOMER)
            if not makes_customer:
                # Visits of known devices: still no customer, unless they join or grow what limits count.
                return ("", []) if len(joined) == 1 and keeps_cuts else Declined(_NO_CUSTOMER)
            if joined & self.absorbed:
                return Declined(_SHARED_COMPONENT)  # a full build makes one component of those groups
            self.absorbed |= joined
            absorbed = [record for label in sorted(joined) for record in records_of[label]]
            sources = {**sources, **_sources(records, absorbed)}
            members += absorbed
        elif customer in self.pieces and not keeps_cuts:
            return Declined(_CUT_CUSTOMER)
        if not makes_customer:
            return "", []  # devices alone: an anonymous visitor, as in a full build
        if customer is None:
            customer = customer_id_for(anchor_record(members, sources))
        return customer, members

    def _components(self) -> tuple[dict[tuple[str, str], int], dict[int, list[str]], set[int]]:
        """Each identifier's component, each component's records, and the components a cut made."""
        if self._labels is None:
            records, values = self.previous.linkage.labels()
            component = {(kind, value): label for kind, value, label in values.iter_rows()}
            records_of: dict[int, list[str]] = {}
            for record, label in records.iter_rows():
                records_of.setdefault(label, []).append(record)
            by_record = dict(records.iter_rows())
            # A cut keeps a link of each of its ends (a node cut off entirely would not be on the
            # constrained records' paths), so every end has a component.
            ends = [labelled_node(text) for text in _cut_ends(self.previous.cuts)]
            cut = {by_record[node[1]] if node[0] == "record" else component[(node[1], node[2])] for node in ends}
            self._labels = component, records_of, cut
        return self._labels


def _sources(records: pl.DataFrame, record_ids: list[str]) -> dict[str, str]:
    found = records.filter(pl.col("record_id").is_in(record_ids)).select("record_id", "source").unique()
    return dict(found.iter_rows())


def _cut_ends(cuts: pl.DataFrame) -> list[str]:
    """The label of every node a cut removed a link of, and of every constrained record."""
    records = pl.concat([cuts["left_record"], cuts["right_record"]])
    return pl.concat([cuts["removed_from"], cuts["removed_to"], "record:" + records]).unique().to_list()


def _set_aside_recounted(
    previous: Resolution,
    everyone: pl.DataFrame,
    identifiers: pl.DataFrame,
    new_identifiers: pl.DataFrame,
    max_people: int,
) -> dict[IdentifierNode, str] | None:
    """The new reasons of identifiers set aside before and after (a kiosk shared by one more person);
    None when the new records change which identifiers are set aside.

    Whether an identifier is set aside depends only on the records carrying it, so only the
    identifiers the new records carry are looked at, over the records that carry them.
    """
    carried = new_identifiers.select("kind", "value").unique()
    holders = identifiers.join(carried, on=["kind", "value"]).select("record_id").unique()
    nearby = everyone.join(holders, on="record_id")
    now = untrusted_identifiers(nearby, identifiers.join(holders, on="record_id"), max_people=max_people)
    keys = {("identifier", kind, value) for kind, value in carried.iter_rows()}
    before = {node: reason for node, reason in previous.untrusted.items() if node in keys}
    after = {node: reason for node, reason in now.items() if node in keys}
    if after.keys() != before.keys():
        return None
    return {node: reason for node, reason in after.items() if reason != before[node]}


_NO_CUSTOMER = "join devices of no customer together or add to what limits count"
_TWO_CUSTOMERS = "join two customers"
_SHARED_COMPONENT = "reach records of no customer another group reaches"
_CUT_CUSTOMER = "join a piece a constraint cut and would change what limits count"


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
    joining = pl.DataFrame(
        [(record, customer) for customer, records in gained.items() for record in records],
        schema={"record_id": pl.String, "customer_id": pl.String},
        orient="row",
    )  # new records, and records of no customer that join one
    members = previous.membership.filter(pl.col("customer_id").is_in(list(gained))).select("record_id", "customer_id")
    members = pl.concat([members, joining])
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
    records: pl.DataFrame,
    identifiers: pl.DataFrame,
    new_records: pl.DataFrame,
    new_identifiers: pl.DataFrame,
    *,
    build_id: str,
) -> Resolution:
    """The resolution after an attach: the last one with the new records, their links and refreshed customers.

    `records` and `identifiers` are the last build's, as for `attach`: the records of no customer
    that joined one bring their links along.
    """
    touched = attachment.customers.select("customer_id")
    kept_customers = previous.customers.join(touched, on="customer_id", how="anti")
    customers = pl.concat([kept_customers, attachment.customers.select(kept_customers.columns)], how="vertical_relaxed")
    joining = attachment.membership.select("record_id")
    rows = pl.concat(
        [records.join(joining, on="record_id"), new_records.join(joining, on="record_id")], how="diagonal_relaxed"
    )
    members = rows.join(attachment.membership.drop("confidence"), on="record_id")
    new_links = attachment.identifier_links.select("record_id", "kind", "value")
    all_links = pl.concat([previous.linkage.identifier_links.join(joining, on="record_id"), new_links])
    kept = all_links.join(attachment.membership, on="record_id").select("customer_id", "kind", "value")
    untrusted = attachment.untrusted
    sessions = shared_device_sessions(rows, untrusted.keys())
    carried = pl.concat([identifiers, new_identifiers]).join(joining, on="record_id")
    carried = carried.filter(~pl.col("record_id").is_in(sessions))
    shared = shared_links(carried, attachment.membership, untrusted)
    gained = customer_links(members, kept.unique(), shared, build_id=build_id)
    added = gained.join(previous.links, on=list(_LINK_KEY), how="anti").select(previous.links.columns)
    links = _recounted(pl.concat([previous.links, added], how="vertical_relaxed"), untrusted)
    linkage = Links(
        pl.concat([previous.linkage.record_ids, new_records["record_id"]]),
        pl.concat([previous.linkage.identifier_links, new_links]),
        previous.linkage.matches,
        previous.linkage.must_links,
    )
    return Resolution(
        customers.sort("customer_id"),
        links.sort("customer_id", *_LINK_KEY),
        untrusted,
        pl.concat([previous.membership, attachment.membership]),
        previous.cuts,
        linkage,
        previous.household,
    )


def _recounted(links: pl.DataFrame, untrusted: dict[IdentifierNode, str]) -> pl.DataFrame:
    """The links with each shared identifier's rule saying how many people share it now."""
    shared = [(kind, value, reason) for (_, kind, value), reason in untrusted.items() if reason != "junk_value"]
    now = pl.DataFrame(shared, schema={"kind": pl.String, "value": pl.String, "now": pl.String}, orient="row")
    joined = links.join(now, on=["kind", "value"], how="left")
    is_shared = (
        (pl.col("link_type") == "identifier") & pl.col("now").is_not_null() & ~pl.col("rule").str.starts_with("exact:")
    )
    return joined.with_columns(pl.when(is_shared).then("now").otherwise("rule").alias("rule")).drop("now")


_LINK_KEY = ("customer_id", "link_type", "kind", "value")
