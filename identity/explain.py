"""Explanations: why two records or identifiers are one customer, and a customer's graph as JSON.

The path chosen is the strongest one: edges are weighed by what cutting them would cost (see
`identity.graph.CUT_COST`), so the answer names exact identifiers before fuzzy matches and weak
shared devices, as a person checking the merge would want.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from core.errors import NotFoundError
from identity.graph import Node, edge_capacity, edge_rule


def _step(graph: nx.Graph, u: Node, v: Node) -> dict[str, Any]:
    data = graph.edges[u, v]
    step: dict[str, Any] = {"from": _label(u), "to": _label(v), "rule": edge_rule(graph, u, v)}
    if "probability" in data:
        step["probability"] = round(float(data["probability"]), 6)
        step["evidence"] = data.get("evidence", "")
    return step


def _label(node: Node) -> str:
    """'record:users:42' or 'email:ann@example.com'."""
    return f"record:{node[1]}" if node[0] == "record" else f"{node[1]}:{node[2]}"


def evidence_path(graph: nx.Graph, a: Node, b: Node) -> list[dict[str, Any]]:
    """The strongest chain of links from `a` to `b`: one step per edge with its rule (and score).

    Raises NotFoundError when either node is unknown or they are not one customer.
    """
    for node in (a, b):
        if node not in graph:
            raise NotFoundError(f"{_label(node)} is not in the identity graph")
    try:
        path = nx.shortest_path(graph, a, b, weight=lambda u, v, _: 1.0 / edge_capacity(graph, u, v))
    except nx.NetworkXNoPath as exc:
        raise NotFoundError(f"{_label(a)} and {_label(b)} belong to different customers") from exc
    return [_step(graph, u, v) for u, v in zip(path, path[1:], strict=False)]


def component_json(graph: nx.Graph, node: Node) -> dict[str, Any]:
    """The customer holding `node` as {"nodes": [...], "edges": [...]}, each edge with its rule."""
    if node not in graph:
        raise NotFoundError(f"{_label(node)} is not in the identity graph")
    members = nx.node_connected_component(graph, node)
    sub = graph.subgraph(members)
    nodes = [{"id": _label(n), "type": n[0]} for n in sorted(members)]
    edges = sorted((_step(graph, u, v) for u, v in sub.edges), key=lambda e: (e["from"], e["to"]))
    return {"nodes": nodes, "edges": edges}
