"""The 0-100 risk score: the sum of the fired reason codes' points, capped at 100 (pure Polars).

An additive point scheme rather than a fitted model: every point is traceable to one reason code
and one feature value, weights are set in configuration, and there is no labelled history to fit
on. Reasons are ordered by contribution, largest first.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from core.config import RiskSettings
from risk.features import FEATURES
from risk.rules import contributions

MAX_SCORE = 100
REVIEW_SCORE = 50  # worth a person's look: one reason code at its weight of 50, or several smaller ones
SCORE_COLUMNS = ("customer_id", "score", "reasons", "features")


def score(features: pl.DataFrame, settings: RiskSettings) -> pl.DataFrame:
    """Per customer of `features`: score, reasons (JSON list of code, contribution, detail), features (JSON)."""
    fired = contributions(features, settings)
    reasons = (
        fired.sort(["customer_id", "contribution", "code"], descending=[False, True, False])
        .group_by("customer_id", maintain_order=True)
        .agg(
            pl.col("contribution").sum().alias("points"),
            pl.struct("code", "contribution", "detail").struct.json_encode().str.join(",").alias("reasons"),
        )
    )
    scored = features.select("customer_id", _features_json()).join(reasons, on="customer_id", how="left")
    return scored.select(
        "customer_id",
        pl.col("points").fill_null(0).clip(upper_bound=MAX_SCORE).cast(pl.Int32).alias("score"),
        pl.concat_str(pl.lit("["), pl.col("reasons").fill_null(""), pl.lit("]")).alias("reasons"),
        "features",
    )


def stamped(scores: pl.DataFrame, *, build_id: str, scored_at: datetime) -> pl.DataFrame:
    """Scores in the shape of `gold.risk_scores`: the build they belong to and when they were computed."""
    return scores.select(*SCORE_COLUMNS, pl.lit(build_id).alias("build_id"), pl.lit(scored_at).alias("scored_at")).sort(
        "customer_id"
    )


def _features_json() -> pl.Expr:
    """Every feature value of the customer as one JSON object, rounded for reading."""
    values = [pl.col(name).cast(pl.Float64).round(3).alias(name) for name in FEATURES]
    return pl.struct(values).struct.json_encode().alias("features")
