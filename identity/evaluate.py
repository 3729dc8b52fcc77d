"""Accuracy of a clustering against ground truth: pairwise and B-cubed scores, and over-merge size.

Pairwise scores count record pairs placed together; B-cubed scores average, per record, how much
of its predicted cluster is its true cluster and back. Both are what record-linkage papers and
Splink's own evaluation report, so results compare with theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Accuracy:
    """Scores of one clustering (1.0 is perfect)."""

    precision: float
    recall: float
    f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    largest_cluster_persons: int
    records: int


def _pairs(count: pl.Expr) -> pl.Expr:
    return (count * (count - 1) / 2).sum()


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def score(assigned: pl.DataFrame, truth: pl.DataFrame) -> Accuracy:
    """Compare `assigned` (record_id, cluster) with `truth` (record_id, person), on the records both hold."""
    both = assigned.select("record_id", "cluster").join(truth.select("record_id", "person"), on="record_id")
    cells = both.group_by("cluster", "person").agg(pl.len().alias("n"))
    together = cells.select(_pairs(pl.col("n"))).item()
    predicted = both.group_by("cluster").agg(pl.len().alias("n")).select(_pairs(pl.col("n"))).item()
    actual = both.group_by("person").agg(pl.len().alias("n")).select(_pairs(pl.col("n"))).item()
    precision = together / predicted if predicted else 1.0
    recall = together / actual if actual else 1.0
    sizes = cells.with_columns(
        pl.col("n").sum().over("cluster").alias("cluster_n"), pl.col("n").sum().over("person").alias("person_n")
    )
    # B-cubed: each record in cell (c, p) scores n/|c| for precision and n/|p| for recall.
    per_record = sizes.select(
        (pl.col("n") * pl.col("n") / pl.col("cluster_n")).sum().alias("p"),
        (pl.col("n") * pl.col("n") / pl.col("person_n")).sum().alias("r"),
    )
    total = len(both)
    b_precision = per_record["p"].item() / total if total else 1.0
    b_recall = per_record["r"].item() / total if total else 1.0
    largest = cells.group_by("cluster").agg(pl.col("person").n_unique().alias("persons"))["persons"].max()
    return Accuracy(
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        bcubed_precision=b_precision,
        bcubed_recall=b_recall,
        bcubed_f1=_f1(b_precision, b_recall),
        largest_cluster_persons=int(largest or 0),  # type: ignore[arg-type]
        records=total,
    )
