"""Measuring scores against labels: AUC by ranks, the top share with ties, labels mapped to customers."""

from __future__ import annotations

import polars as pl
import pytest

from risk.evaluate import labelled_customers, roc_auc, top_count


@pytest.mark.parametrize(
    ("scores", "labels", "auc"),
    [
        ([90, 80, 10, 0], [True, True, False, False], 1.0),
        ([0, 10, 80, 90], [True, True, False, False], 0.0),
        ([50, 50, 50, 50], [True, False, True, False], 0.5),
        ([90, 40, 60, 10], [True, True, False, False], 0.75),  # 3 of the 4 (positive, negative) pairs in order
        ([70, 70, 20], [True, False, False], 0.75),  # the tie counts half
    ],
)
def test_roc_auc_is_the_share_of_positive_negative_pairs_in_order(
    scores: list[int], labels: list[bool], auc: float
) -> None:
    assert roc_auc(pl.Series(scores), pl.Series(labels)) == pytest.approx(auc)


def test_roc_auc_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="positives and negatives"):
        roc_auc(pl.Series([1, 2]), pl.Series([True, True]))


def test_the_top_share_splits_a_tie_across_the_cut_evenly() -> None:
    scores = pl.Series([100, *[50] * 4, *[0] * 195])  # 200 customers: the top 1% is 2 places
    members = pl.Series([True, True, False, False, False, *[False] * 195])
    assert top_count(scores, members) == pytest.approx(1 + 1 * 1 / 4)
    assert top_count(scores, members, fraction=0.025) == pytest.approx(2)  # 5 places: everyone down to the tie


def test_labels_reach_customers_through_records_orders_documents_and_events() -> None:
    truth = pl.DataFrame(
        [("burst", "users", "7"), ("velocity", "orders", "100"), ("duplicate", "marketplace_orders", "doc-1"),
         ("takeover", "events", "e-1"), ("velocity", "orders", "999")],
        schema=["pattern", "record_source", "record_key"], orient="row",
    )  # fmt: skip
    links = pl.DataFrame(
        [("c1", "users", "7"), ("c2", "orders", "shopsphere:100"), ("c3", "orders", "amazon:114-1")],
        schema=["customer_id", "kind", "value"], orient="row",
    )  # fmt: skip
    orders = pl.DataFrame(
        [("shopsphere:100", "web", "shopsphere", "100"), ("amazon:114-1", "marketplace", "amazon", "114-1"),
         ("amazon:100", "marketplace", "amazon", "100")],
        schema=["order_id", "source", "platform", "source_order_id"], orient="row",
    )  # fmt: skip
    documents = pl.DataFrame({"doc_id": ["doc-1"], "platform": ["amazon"], "marketplace_order_id": ["114-1"]})
    events = pl.DataFrame({"event_id": ["e-1", "e-2"], "customer_id": ["c4", "c5"]})
    found = labelled_customers(truth, record_links=links, orders=orders, marketplace_orders=documents, events=events)
    assert found.rows() == [("c1", "burst"), ("c2", "velocity"), ("c3", "duplicate"), ("c4", "takeover")]
