"""Survivorship: which record's value each golden attribute takes, and why.

Rule (per attribute): the value from the most trusted source (an account before an order before a
device), and among those the most recently seen; marketplace relay addresses never become the
golden e-mail. Each chosen value keeps its lineage: the record it came from and the rule.
"""

from __future__ import annotations

import polars as pl

from identity.normalize import is_relay_email, normalize_phone
from identity.records import ATTRIBUTES, SOURCE_RANK, map_distinct

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
    relay = pl.col("value").str.to_lowercase().str.extract(r"@([^@]+)$").is_in(_relay_domains(long))
    long = long.filter(~((pl.col("attribute") == "email") & relay.fill_null(False)))
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
    # Attribute names are plain identifiers (ATTRIBUTES); the record and rule are JSON-encoded by polars.
    source = pl.struct(pl.col("record_id").alias("record"), pl.lit(RULE).alias("rule")).struct.json_encode()
    entry = pl.concat_str(pl.lit('"'), "attribute", pl.lit('": '), source)
    lineage = (
        chosen.sort("customer_id", "attribute")
        .with_columns(entry.alias("entry"))
        .group_by("customer_id", maintain_order=True)
        .agg(pl.concat_str(pl.lit("{"), pl.col("entry").str.join(", "), pl.lit("}")).alias("lineage"))
    )
    shown = values.with_columns(
        *[map_distinct(values[name], display_name) for name in ("first_name", "last_name")],
        pl.col("email").str.to_lowercase(),
        map_distinct(values["phone"], lambda p: normalize_phone(p, default_region) or p),
        pl.col("dob").str.to_date(strict=False),
    )
    return shown.join(lineage, on="customer_id", how="left", maintain_order="left")


def display_name(name: str) -> str:
    """A name typed all in one case ('omar', 'COLE') shown in title case; mixed case ('McDonald') kept."""
    return name.title() if name.islower() or name.isupper() else name


def _relay_domains(long: pl.DataFrame) -> list[str]:
    """The e-mail domains present that are marketplace relays (checked once per domain)."""
    emails = long.filter(pl.col("attribute") == "email")["value"].str.to_lowercase()
    domains = emails.str.extract(r"@([^@]+)$").drop_nulls().unique().to_list()
    return [domain for domain in domains if is_relay_email(f"x@{domain}")]
