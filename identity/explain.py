"""Explanations: why two records or identifiers are one customer, and a customer's graph as JSON.

The path chosen is the strongest one: edges are weighed by what cutting them would cost (see
`identity.graph.CUT_COST`), so the answer names exact identifiers before fuzzy matches and weak
shared devices, as a person checking the merge would want.
"""

from __future__ import annotations

from typing import Any, cast

import networkx as nx

from core.errors import InvalidInputError, NotFoundError
from identity.graph import Node, edge_capacity, edge_rule, identifier_node, node_label, record_node
from identity.normalize import IDENTIFIER_KINDS, IdentifierKind, normalize_identifier


def _step(graph: nx.Graph, u: Node, v: Node) -> dict[str, Any]:
    data = graph.edges[u, v]
    step: dict[str, Any] = {"from": node_label(u), "to": node_label(v), "rule": edge_rule(graph, u, v)}
    if "probability" in data:
        step["probability"] = round(float(data["probability"]), 6)
        step["evidence"] = data.get("evidence", "")
    return step


def parse_node(text: str, *, default_region: str) -> Node:
    """A node from its label: 'record:users:42', or an identifier as typed, 'email:Ann@Example.com'.

    Identifiers are normalised as ingestion normalises them, so any spelling finds its node.
    """
    prefix, colon, rest = text.partition(":")
    if colon and prefix == "record" and rest:
        return record_node(rest)
    if colon and prefix in IDENTIFIER_KINDS:
        kind = cast(IdentifierKind, prefix)  # one of IDENTIFIER_KINDS, checked just above
        value = normalize_identifier(kind, rest, default_region=default_region)
        if value is None:
            raise InvalidInputError(f"{text!r} is no valid {kind}")
        return identifier_node(kind, value)
    forms = ", ".join(f"{kind}:VALUE" for kind in IDENTIFIER_KINDS)
    raise InvalidInputError(f"{text!r} names no record or identifier; use record:SOURCE:KEY or one of {forms}")


def evidence_path(graph: nx.Graph, a: Node, b: Node) -> list[dict[str, Any]]:
    """The strongest chain of links from `a` to `b`: one step per edge with its rule (and score).

    Raises NotFoundError when either node is unknown or they are not one customer.
    """
    for node in (a, b):
        if node not in graph:
            raise NotFoundError(f"{node_label(node)} is not in the identity graph")
    try:
        path = nx.shortest_path(graph, a, b, weight=lambda u, v, _: 1.0 / edge_capacity(graph, u, v))
    except nx.NetworkXNoPath as exc:
        raise NotFoundError(f"{node_label(a)} and {node_label(b)} belong to different customers") from exc
    return [_step(graph, u, v) for u, v in zip(path, path[1:], strict=False)]


def component_json(graph: nx.Graph, node: Node) -> dict[str, Any]:
    """The customer holding `node` as {"nodes": [...], "edges": [...]}, each edge with its rule."""
    if node not in graph:
        raise NotFoundError(f"{node_label(node)} is not in the identity graph")
    members = nx.node_connected_component(graph, node)
    sub = graph.subgraph(members)
    nodes = [{"id": node_label(n), "type": n[0]} for n in sorted(members)]
    edges = sorted((_step(graph, u, v) for u, v in sub.edges), key=lambda e: (e["from"], e["to"]))
    return {"nodes": nodes, "edges": edges}
