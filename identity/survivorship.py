"""Survivorship: which record's value each golden attribute takes, and why.

Rule (per attribute): the value from the most trusted source (an account before an order before a
device), and among those the most recently seen; marketplace relay addresses never become the
golden e-mail. Each chosen value keeps its lineage: the record it came from and the rule.
"""

from __future__ import annotations

import json

import polars as pl

from identity.normalize import is_relay_email, normalize_phone
from identity.records import ATTRIBUTES, SOURCE_RANK

RULE = "source_priority_then_most_recent"


def golden_attributes(members: pl.DataFrame, *, default_region: str) -> pl.DataFrame:
    """One row per customer_id with the surviving attributes and a `lineage` JSON column.

    `members` holds records (see `identity.records`) with a `customer_id` column.
    """
    long = members.select(
        "customer_id",
        "record_id",
        "seen_at",
        pl.col("source").replace_strict(SOURCE_RANK, default=99, return_dtype=pl.Int64).alias("rank"),
        *[pl.col(a).cast(pl.String) for a in ATTRIBUTES],
    ).unpivot(index=["customer_id", "record_id", "seen_at", "rank"], variable_name="attribute", value_name="value")
    long = long.with_columns(pl.col("value").str.strip_chars()).filter(
        pl.col("value").is_not_null() & (pl.col("value") != "")
    )
    long = long.filter(
        ~((pl.col("attribute") == "email") & pl.col("value").map_elements(is_relay_email, return_dtype=pl.Boolean))
    )
    chosen = (
        long.sort(
            ["customer_id", "attribute", "rank", "seen_at", "record_id"], descending=[False, False, False, True, False]
        )
        .group_by("customer_id", "attribute", maintain_order=True)
        .first()
    )
    customers = members.select("customer_id").unique(maintain_order=True)
    if chosen.is_empty():
        values = customers
    else:
        values = customers.join(
            chosen.pivot(on="attribute", index="customer_id", values="value"), on="customer_id", how="left"
        )
    for attribute in ATTRIBUTES:
        if attribute not in values.columns:
            values = values.with_columns(pl.lit(None, pl.String).alias(attribute))
    lineage = chosen.group_by("customer_id").agg(
        pl.struct("attribute", "record_id")
        .map_batches(_lineage_json, return_dtype=pl.String, returns_scalar=True)
        .alias("lineage")
    )
    return values.join(lineage, on="customer_id", how="left").with_columns(
        *[pl.col(name).map_elements(display_name, return_dtype=pl.String) for name in ("first_name", "last_name")],
        pl.col("email").str.to_lowercase(),
        pl.col("phone").map_elements(lambda p: normalize_phone(p, default_region) or p, return_dtype=pl.String),
        pl.col("dob").str.to_date(strict=False),
    )


def display_name(name: str) -> str:
    """A name typed all in one case ('omar', 'COLE') shown in title case; mixed case ('McDonald') kept."""
    return name.title() if name.islower() or name.isupper() else name


def _lineage_json(chosen: pl.Series) -> str:
    entries = {row["attribute"]: {"record": row["record_id"], "rule": RULE} for row in chosen.to_list()}
    return json.dumps(dict(sorted(entries.items())))
