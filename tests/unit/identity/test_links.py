"""Component labels over frames agree with NetworkX, and cut links leave the frames."""

from __future__ import annotations

import random

import networkx as nx
import polars as pl
import pytest

from identity.graph import identifier_node, record_node
from identity.links import COMPONENT, Links

IDENTIFIER_SCHEMA = {"record_id": pl.String, "kind": pl.String, "value": pl.String}
MATCH_SCHEMA = {"left_id": pl.String, "right_id": pl.String, "probability": pl.Float64, "evidence": pl.String}


def random_links(seed: int) -> Links:
    """Records sharing random e-mails, some matched probabilistically, some must-linked."""
    rng = random.Random(seed)
    records = [f"r{i}" for i in range(rng.randrange(1, 80))]
    carried = [(r, "email", f"e{rng.randrange(30)}") for r in records if rng.random() < 0.6]
    matched = [(rng.choice(records), rng.choice(records), 0.995, "") for _ in range(rng.randrange(10))]
    must = tuple((rng.choice(records), rng.choice(records)) for _ in range(rng.randrange(3)))
    return Links(
        pl.Series("record_id", records + records[:3]),  # a record listed twice (two versions) is one node
        pl.DataFrame(carried, schema=IDENTIFIER_SCHEMA, orient="row"),
        pl.DataFrame([m for m in matched if m[0] != m[1]], schema=MATCH_SCHEMA, orient="row"),
        must,
    )


def partition(links: Links) -> set[frozenset[tuple[str, ...]]]:
    records, values = links.labels()
    groups: dict[int, set[tuple[str, ...]]] = {}
    for record_id, label in records.iter_rows():
        groups.setdefault(label, set()).add(record_node(record_id))
    for kind, value, label in values.iter_rows():
        groups.setdefault(label, set()).add(identifier_node(kind, value))
    return {frozenset(group) for group in groups.values()}


@pytest.mark.parametrize("seed", range(12))
def test_labels_are_the_connected_components_networkx_finds(seed: int) -> None:
    links = random_links(seed)
    expected = {frozenset(c) for c in nx.connected_components(links.networkx())}
    assert partition(links) == expected


def test_a_link_naming_an_unknown_record_joins_nothing() -> None:
    links = Links(
        pl.Series("record_id", ["a", "b"]),
        pl.DataFrame(schema=IDENTIFIER_SCHEMA),
        pl.DataFrame([("a", "ghost", 0.999, "")], schema=MATCH_SCHEMA, orient="row"),
        (("b", "ghost"),),
    )
    records, _ = links.labels()
    assert records[COMPONENT].n_unique() == 2


def edges(graph: nx.Graph) -> set[frozenset[tuple[str, ...]]]:
    return {frozenset(edge) for edge in graph.edges}


def test_the_networkx_graph_of_some_records_holds_their_links_only() -> None:
    links = random_links(3)
    everything = links.networkx()
    component = nx.node_connected_component(everything, record_node("r0"))
    chosen = [node[1] for node in component if node[0] == "record"]
    assert edges(links.networkx(chosen)) == edges(everything.subgraph(component))


def test_links_without_a_cut_lose_exactly_the_removed_edges() -> None:
    links = Links(
        pl.Series("record_id", ["a", "b", "c"]),
        pl.DataFrame([("a", "email", "x"), ("b", "email", "x"), ("c", "phone", "p")], schema=IDENTIFIER_SCHEMA,
                     orient="row"),
        pl.DataFrame([("b", "c", 0.999, "first=exact")], schema=MATCH_SCHEMA, orient="row"),
        (("a", "c"),),
    )  # fmt: skip
    email = identifier_node("email", "x")
    a, b, c = record_node("a"), record_node("b"), record_node("c")
    kept = links.without([(email, a), (c, b), (a, c)])
    assert set(kept.identifier_links.rows()) == {("b", "email", "x"), ("c", "phone", "p")}
    assert kept.matches.is_empty() and kept.must_links == ()
    assert partition(kept) == {frozenset({a}), frozenset({b, email}), frozenset({c, identifier_node("phone", "p")})}
