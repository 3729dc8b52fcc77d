"""Cannot-link constraints: records that must not end in one customer, and the cuts that part them.

A component can join two people through one weak or mistaken link: a household e-mail typed at a
guest checkout, two gmail addresses that differ only in dots. Refusing the whole component would
also undo every good link in it; instead each violated constraint is resolved by a minimum cut
between its two records, with each edge's capacity its strength (see `identity.graph.CUT_COST`),
so the weakest evidence goes. Constraints come from the data (two named records of one household,
or whose attributes disagree by more than `conflict_bits`; more values of a kind than a customer
holds, see `limit_constraints`) and from manual cannot-link overrides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import networkx as nx
import polars as pl
from networkx.algorithms.flow import boykov_kolmogorov

from identity.graph import MANUAL_CUT_COST, Node, edge_capacity, edge_rule, node_label, record_node
from identity.match import Matcher

CONFLICT_BITS = -10.0
"""Two records whose attributes weigh this much against a match (in bits) are two people."""
PER_CUSTOMER_LIMITS = {"loyalty_id": 1, "device_id": 3}
"""How many values of a kind one customer may hold: one loyalty card, a few devices."""


MANUAL = "manual:"
"""The reason prefix of constraints a person made (see `identity.overrides`)."""


@dataclass(frozen=True)
class CannotLink:
    """Two records that must end in different customers, and why."""

    left: str
    right: str
    reason: str


@dataclass(frozen=True)
class Cut:
    """Links removed to honour a constraint."""

    constraint: CannotLink
    edges: tuple[tuple[Node, Node, str], ...]  # (node, node, rule)


def data_constraints(
    groups: Iterable[Sequence[str]],
    matcher: Matcher,
    chain_of: Mapping[str, int],
    *,
    conflict_bits: float = CONFLICT_BITS,
) -> list[CannotLink]:
    """Cannot-links between named records of one component that are clearly different people.

    `groups` holds the named records of each component; `chain_of` the chain of probabilistic
    matches of each matched record. Records joined by such a chain are left alone: each match was
    already weighed on every attribute, so the chain is the evidence; the constraints are for
    components that identifiers joined.
    """
    pairs = [
        (a, b) for named in groups for a, b in combinations(named, 2) if chain_of.get(a, -1) != chain_of.get(b, -2)
    ]
    if not pairs:
        return []
    found = []
    levels = matcher.levels_of(pairs)
    weights, households = matcher.evidence_weight(levels), matcher.household(levels)
    for (left, right), weight, household in zip(pairs, weights.tolist(), households.tolist(), strict=True):
        if household:
            found.append(CannotLink(left, right, "household"))
        elif weight <= conflict_bits:
            found.append(CannotLink(left, right, f"attributes_disagree_{weight:.0f}_bits"))
    return found


def limit_constraints(graph: nx.Graph, components: Iterable[set[Node]], limits: Mapping[str, int]) -> list[CannotLink]:
    """Cannot-links between records carrying different values of a kind a customer holds few of.

    A person has one loyalty card: a component holding two is two people joined by something
    weaker (a family phone typed at the till). When a component holds more values of a kind than
    its limit allows, each pair of values is parted (between the first records carrying them).
    Values one record carries together (an account whose card was replaced: both versions are
    its records) count as one.
    """
    found: list[CannotLink] = []
    for component in components:
        by_kind: dict[str, list[Node]] = {}
        for node in component:
            if node[0] == "identifier" and node[1] in limits:
                by_kind.setdefault(node[1], []).append(node)
        for kind, nodes in sorted(by_kind.items()):  # sets iterate in a per-process order
            groups = carried_together(graph, nodes)
            if len(groups) > limits[kind]:
                carriers = [min(record for node in group for record in graph[node])[1] for group in groups]
                reason = f"more_than_{limits[kind]}_{kind}"
                found.extend(CannotLink(a, b, reason) for a, b in combinations(carriers, 2) if a != b)
    return found


def carried_together(graph: nx.Graph, nodes: list[Node]) -> list[list[Node]]:
    """Identifier nodes grouped where one record carries several of them, in a stable order."""
    shared = nx.Graph()
    shared.add_nodes_from(nodes)
    by_record: dict[Node, Node] = {}
    for node in sorted(nodes):
        for record in graph[node]:
            if record in by_record:
                shared.add_edge(by_record[record], node)
            by_record.setdefault(record, node)
    return sorted(sorted(group) for group in nx.connected_components(shared))


def enforce(graph: nx.Graph, constraints: Iterable[CannotLink]) -> list[Cut]:
    """Remove the cheapest set of edges separating each constrained pair that is still connected.

    A constraint the data raised never cuts a manual must-link; a manual cannot-link does.
    """
    cuts = []
    for constraint in constraints:
        a, b = record_node(constraint.left), record_node(constraint.right)
        if a not in graph or b not in graph:
            continue
        reached = nx.node_connected_component(graph, a)
        if b not in reached:
            continue
        # Built in sorted order (a subgraph view iterates a set, whose order varies between processes),
        # so that every build lists the links it removes the same way.
        component = nx.Graph()
        for u in sorted(reached):
            for v in sorted(graph[u]):
                if not component.has_edge(u, v):
                    component.add_edge(u, v, capacity=edge_capacity(graph, u, v))
        # Boykov-Kolmogorov: about twice as fast as the default on these small, sparse components.
        cost, (side, _) = nx.minimum_cut(component, a, b, capacity="capacity", flow_func=boykov_kolmogorov)
        if cost >= MANUAL_CUT_COST and not constraint.reason.startswith(MANUAL):
            continue  # only a person's cannot-link undoes a person's must-link
        removed = [(u, v) for u, v in component.edges if (u in side) != (v in side)]
        cuts.append(Cut(constraint, tuple((u, v, edge_rule(graph, u, v)) for u, v in removed)))
        graph.remove_edges_from(removed)
    return cuts


CUT_COLUMNS = ("left_record", "right_record", "reason", "removed_from", "removed_to", "rule")


def cuts_frame(cuts: list[Cut]) -> pl.DataFrame:
    """One row per removed link: the two records constrained, the reason, the link's two ends (labels) and rule."""
    rows = [
        {
            "left_record": cut.constraint.left,
            "right_record": cut.constraint.right,
            "reason": cut.constraint.reason,
            "removed_from": node_label(u),
            "removed_to": node_label(v),
            "rule": rule,
        }
        for cut in cuts
        for u, v, rule in cut.edges
    ]
    schema = dict.fromkeys(CUT_COLUMNS, pl.String)
    return pl.DataFrame(rows, schema=schema)
