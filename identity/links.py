"""Every link of a build as frames, and their connected components without building a graph.

A NetworkX graph of a million records and their identifiers takes most of a build's time and
several GB just to be labelled into components. The links are kept as frames instead; components
come from `scipy.sparse.csgraph.connected_components` over integer node ids (checked against
`nx.connected_components` in the tests), and NetworkX holds only the components that need graph
work: cuts for cannot-links, explanations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat

import networkx as nx
import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from identity.graph import MANUAL_CUT_COST, Node, record_node

COMPONENT = "component"


def component_labels(size: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The component label of each of `size` nodes joined by the edges (left[i], right[i])."""
    adjacency = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(size, size))
    _, labels = connected_components(adjacency, directed=False)
    return labels


@dataclass(frozen=True)
class Links:
    """The links of one build: record to identifier, probabilistic matches, manual must-links."""

    record_ids: pl.Series  # every record, linked or not
    identifier_links: pl.DataFrame  # record_id, kind, value (trusted identifiers only)
    matches: pl.DataFrame  # left_id, right_id, probability, evidence
    must_links: tuple[tuple[str, str], ...] = ()

    def labels(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(record_id, component) and (kind, value, component): each node's connected component."""
        records = pl.DataFrame({"record_id": self.record_ids.unique()}).with_row_index("node")
        values = self.identifier_links.select("kind", "value").unique().with_row_index("node", offset=len(records))
        carried = self.identifier_links.join(records, on="record_id").join(values, on=["kind", "value"])
        pairs = [
            carried.select(pl.col("node").alias("left"), pl.col("node_right").alias("right")),
            *(self._record_pairs(frame, records) for frame in (self.matches, self._must_link_frame())),
        ]
        edges = pl.concat(pairs)
        labels = component_labels(len(records) + len(values), edges["left"].to_numpy(), edges["right"].to_numpy())
        label = pl.Series(COMPONENT, labels, dtype=pl.Int64)
        return (
            records.select("record_id", label.slice(0, len(records))),
            values.select("kind", "value", label.slice(len(records))),
        )

    def networkx(self, record_ids: Iterable[str] | None = None) -> nx.Graph:
        """The graph of the given records (all by default) with every link they take part in.

        Pass whole components: a link leaving the given records is dropped.
        """
        links, matches, must = self.identifier_links, self.matches, self.must_links
        graph = nx.Graph()
        if record_ids is None:
            graph.add_nodes_from(zip(repeat("record"), self.record_ids.to_list(), strict=False))
        else:
            chosen = pl.Series(list(record_ids), dtype=pl.String)
            graph.add_nodes_from(zip(repeat("record"), chosen.to_list(), strict=False))
            links = links.filter(pl.col("record_id").is_in(chosen.implode()))
            matches = matches.filter(pl.col("left_id").is_in(chosen.implode()))
            kept = set(chosen.to_list())
            must = tuple((a, b) for a, b in must if a in kept and b in kept)
        # Sorted, so that cuts and explanations come out the same whatever order the frames arrive in.
        links, matches = links.sort("record_id", "kind", "value"), matches.sort("left_id", "right_id")
        records = zip(repeat("record"), links["record_id"].to_list(), strict=False)
        nodes = zip(repeat("identifier"), links["kind"].to_list(), links["value"].to_list(), strict=False)
        # Without attributes (the bulk of the build time otherwise): see `edge_rule` and `edge_capacity`.
        graph.add_edges_from(zip(records, nodes, strict=False))
        _add_matches(graph, matches)
        for left, right in must:
            a, b = record_node(left), record_node(right)
            if a in graph and b in graph:
                graph.add_edge(a, b, rule="manual:must_link", capacity=MANUAL_CUT_COST)
        return graph

    def without(self, removed: Sequence[tuple[Node, Node]]) -> Links:
        """These links less the edges a cut removed."""
        pairs = [(u[1], v[1]) for u, v in removed if u[0] == v[0] == "record"]
        pairs += [(b, a) for a, b in pairs]
        carried = [
            (r[1], i[1], i[2]) for u, v in removed if u[0] != v[0] for r, i in [(u, v) if u[0] == "record" else (v, u)]
        ]
        cut_pairs = pl.DataFrame(pairs, schema={"left_id": pl.String, "right_id": pl.String}, orient="row")
        cut = pl.DataFrame(carried, schema=dict.fromkeys(("record_id", "kind", "value"), pl.String), orient="row")
        return Links(
            self.record_ids,
            self.identifier_links.join(cut, on=["record_id", "kind", "value"], how="anti"),
            self.matches.join(cut_pairs, on=["left_id", "right_id"], how="anti"),
            tuple(pair for pair in self.must_links if pair not in set(pairs)),
        )

    def _must_link_frame(self) -> pl.DataFrame:
        return pl.DataFrame(list(self.must_links), schema={"left_id": pl.String, "right_id": pl.String}, orient="row")

    @staticmethod
    def _record_pairs(frame: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
        """Node pairs of record-to-record links; a link naming an unknown record is dropped."""
        return (
            frame.select("left_id", "right_id")
            .join(records.rename({"record_id": "left_id", "node": "left"}), on="left_id")
            .join(records.rename({"record_id": "right_id", "node": "right"}), on="right_id")
            .select("left", "right")
        )


def match_capacity(probability: float) -> float:
    """What cutting a match costs: 1 to 4 by probability, in 1/1024ths.

    Binary fractions add up exactly, so a minimum cut does not depend on the order its flow is found
    in: the cut a build makes is the one the next build makes of the same component.
    """
    return round((1.0 + 3.0 * probability) * 1024) / 1024


def _add_matches(graph: nx.Graph, matches: pl.DataFrame) -> None:
    """Record-to-record edges of probabilistic matches (left_id, right_id, probability, evidence).

    A match costs from 1 to 4 to cut, by probability: firmer than a device, softer than an e-mail.
    """
    rows = matches.select("left_id", "right_id", "probability", "evidence").iter_rows()
    graph.add_edges_from(
        (
            record_node(left),
            record_node(right),
            {"rule": "probabilistic", "probability": chance, "evidence": evidence, "capacity": match_capacity(chance)},
        )
        for left, right, chance, evidence in rows
    )
