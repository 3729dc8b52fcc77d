"""Risk scores against labelled fraud: which customers hold a labelled record, ROC AUC, shares of the top scores.

The generator labels records (truth/fraud.csv: pattern, person_id, record_source, record_key), while
scores are per customer; a customer is positive for a pattern when one of its records carries that
label. Pure Polars, so the benchmark and the tests measure the same way.
"""

from __future__ import annotations

import math

import polars as pl

TOP_FRACTION = 0.01


def labelled_customers(
    truth: pl.DataFrame,
    *,
    record_links: pl.DataFrame,
    orders: pl.DataFrame,
    marketplace_orders: pl.DataFrame,
    events: pl.DataFrame,
) -> pl.DataFrame:
    """(customer_id, pattern), one row per labelled customer and pattern.

    Args:
        truth: pattern, record_source (users, orders, marketplace_orders or events), record_key.
        record_links: the build's record links (customer_id, kind, value).
        orders: conformed orders (order_id, source, platform, source_order_id): a labelled order's key is
            its PostgreSQL id, a marketplace document's its `doc_id`.
        marketplace_orders: conformed marketplace orders (doc_id, platform, marketplace_order_id).
        events: attributed events (event_id, customer_id): a takeover's events count for the account
            taken over, the customer the events are attributed to.
    """
    key = pl.col("record_key")
    own = orders.filter(pl.col("source") != "marketplace").select(
        pl.col("source_order_id").alias("record_key"), "order_id"
    )
    documents = marketplace_orders.select(
        pl.col("doc_id").alias("record_key"), "platform", pl.col("marketplace_order_id").alias("source_order_id")
    ).join(orders.select("platform", "source_order_id", "order_id"), on=["platform", "source_order_id"])
    by_record = pl.concat(
        [
            truth.filter(pl.col("record_source") == "users").select(
                "pattern", pl.lit("users").alias("kind"), key.alias("value")
            ),
            _orders(truth, "orders", own),
            _orders(truth, "marketplace_orders", documents.select("record_key", "order_id")),
        ]
    ).join(record_links.select("kind", "value", "customer_id"), on=["kind", "value"])
    by_event = truth.filter(pl.col("record_source") == "events").join(
        events.select(pl.col("event_id").alias("record_key"), "customer_id"), on="record_key"
    )
    both = pl.concat([by_record.select("customer_id", "pattern"), by_event.select("customer_id", "pattern")])
    return both.unique().sort("customer_id", "pattern")


def _orders(truth: pl.DataFrame, source: str, order_ids: pl.DataFrame) -> pl.DataFrame:
    """Labelled orders of one source as (pattern, kind, value) of their record link."""
    labelled = truth.filter(pl.col("record_source") == source).join(order_ids, on="record_key")
    return labelled.select("pattern", pl.lit("orders").alias("kind"), pl.col("order_id").alias("value"))


def roc_auc(scores: pl.Series, positive: pl.Series) -> float:
    """ROC AUC by ranks (Mann-Whitney U): the chance a positive outscores a negative, ties counting half."""
    ranks = scores.rank("average")
    positives = int(positive.sum())
    negatives = len(positive) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("ROC AUC needs positives and negatives")
    rank_sum = float(ranks.filter(positive).sum())
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def top_count(scores: pl.Series, members: pl.Series, fraction: float = TOP_FRACTION) -> float:
    """How many `members` the top `fraction` of scores holds; a tie across the cut shares its places evenly.

    Sharing the tied places is the expectation under a random tie-break, so no order of the input
    flatters a score that gives many customers the same value.
    """
    places = math.ceil(len(scores) * fraction)
    cut = scores.sort(descending=True)[places - 1]
    above, tied = scores > cut, scores == cut
    in_tie = int((tied & members).sum())
    return int((above & members).sum()) + (places - int(above.sum())) * in_tie / int(tied.sum())
