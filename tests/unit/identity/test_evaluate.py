"""Accuracy scores against hand-counted examples."""

from __future__ import annotations

import polars as pl
import pytest

from identity.evaluate import score


def frames(clusters: list[str], persons: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    ids = [f"r{i}" for i in range(len(clusters))]
    return pl.DataFrame({"record_id": ids, "cluster": clusters}), pl.DataFrame({"record_id": ids, "person": persons})


def test_a_perfect_clustering_scores_one() -> None:
    result = score(*frames(["a", "a", "b"], ["x", "x", "y"]))
    assert (result.precision, result.recall, result.bcubed_f1, result.largest_cluster_persons) == (1, 1, 1, 1)


def test_an_over_merge_costs_precision_and_an_under_merge_recall() -> None:
    # predicted {r0 r1 r2}, {r3}; true {r0 r1}, {r2 r3}: 3 predicted pairs, 1 right; 2 true pairs, 1 found.
    result = score(*frames(["a", "a", "a", "b"], ["x", "x", "y", "y"]))
    assert result.precision == pytest.approx(1 / 3) and result.recall == pytest.approx(1 / 2)
    assert result.f1 == pytest.approx(0.4)
    # B-cubed precision: r0, r1 see 2/3 of their cluster right, r2 1/3, r3 1; recall: 1, 1, 1/2, 1/2.
    assert result.bcubed_precision == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1) / 4)
    assert result.bcubed_recall == pytest.approx(0.75)
    assert result.largest_cluster_persons == 2


def test_records_missing_from_the_truth_are_not_scored() -> None:
    clusters, persons = frames(["a", "a"], ["x", "x"])
    result = score(pl.concat([clusters, pl.DataFrame({"record_id": ["extra"], "cluster": ["a"]})]), persons)
    assert result.records == 2 and result.precision == 1
