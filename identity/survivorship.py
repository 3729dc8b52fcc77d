"""Survivorship: which record's value each golden attribute takes, and why.

A strategy per attribute (`C360_IDENTITY__SURVIVORSHIP`), each ending in the most recent value:
- `source_priority` (the default): the most trusted source first (an account before an order
  before a device);
- `most_recent`: the most recently seen value, whatever its source;
- `most_frequent`: the value most of the customer's records carry (a name typed the same way at
  every order outvotes one odd spelling).
Marketplace relay addresses never become the golden e-mail. Each chosen value keeps its lineage:
the record it came from and the rule that chose it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, get_args

import polars as pl

from identity.normalize import is_relay_email
from identity.records import ATTRIBUTES, SOURCE_RANK, map_distinct, record_phones

Strategy = Literal["source_priority", "most_recent", "most_frequent"]
STRATEGIES: Final = get_args(Strategy)
DEFAULT_STRATEGY: Final[Strategy] = "source_priority"
RULES: Final[dict[str, str]] = {
    "source_priority": "source_priority_then_most_recent",
    "most_recent": "most_recent_then_source_priority",
    "most_frequent": "most_frequent_then_most_recent",
}
"""The rule each strategy writes into the lineage."""


def golden_attributes(
    members: pl.DataFrame, *, default_region: str, strategies: Mapping[str, str] | None = None
) -> pl.DataFrame:
    """One row per customer_id with the surviving attributes and a `lineage` JSON column.

    `members` holds records (see `identity.records`) with a `customer_id` column; `strategies`
    maps attributes to a strategy (see the module docstring), the others use source_priority.
    """
    unknown = sorted({*(strategies or {}).values()} - set(STRATEGIES))
    if unknown:
        raise ValueError(f"unknown survivorship strategies {unknown}; use one of {list(STRATEGIES)}")
    strategy = (
        pl.col("attribute").replace_strict(dict(strategies), default=DEFAULT_STRATEGY)
        if strategies
        else pl.lit(DEFAULT_STRATEGY)
    )
    long = _values(members)
    relay = pl.col("value").str.to_lowercase().str.extract(r"@([^@]+)$").is_in(_relay_domains(long))
    long = long.filter(~((pl.col("attribute") == "email") & relay.fill_null(False)))
    order = _order(strategies or {})
    chosen = (
        long.with_columns(strategy.alias("strategy"))
        .sort(
            [pl.col("customer_id"), pl.col("attribute"), *(key for key, _ in order), pl.col("record_id")],
            descending=[False, False, *(descending for _, descending in order), False],
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
    rule = pl.col("strategy").replace_strict(RULES, return_dtype=pl.String)
    source = pl.struct(pl.col("record_id").alias("record"), rule.alias("rule")).struct.json_encode()
    entry = pl.concat_str(pl.lit('"'), "attribute", pl.lit('": '), source)
    lineage = (
        chosen.with_columns(entry.alias("entry"))  # in customer and attribute order, as sorted above
        .group_by("customer_id", maintain_order=True)
        .agg(pl.concat_str(pl.lit("{"), pl.col("entry").str.join(", "), pl.lit("}")).alias("lineage"))
    )
    shown = values.with_columns(
        *[map_distinct(values[name], display_name) for name in ("first_name", "last_name")],
        pl.col("email").str.to_lowercase(),
        pl.coalesce(record_phones(values, default_region=default_region), "phone").alias("phone"),
        pl.col("dob").str.to_date(strict=False),
    )
    return shown.join(lineage, on="customer_id", how="left", maintain_order="left")


def _values(members: pl.DataFrame) -> pl.DataFrame:
    """(customer_id, record_id, seen_at, rank, attribute, value): each record's present attributes.

    Built attribute by attribute, so the missing values (most of an order's) are never materialised.
    """
    base = members.select(
        "customer_id",
        "record_id",
        "seen_at",
        pl.col("source").replace_strict(SOURCE_RANK, default=99, return_dtype=pl.Int64).alias("rank"),
    )
    present = pl.col("value").is_not_null() & (pl.col("value") != "")
    return pl.concat(
        base.with_columns(
            pl.lit(name).alias("attribute"), members[name].cast(pl.String).str.strip_chars().alias("value")
        ).filter(present)
        for name in ATTRIBUTES
    )


def display_name(name: str) -> str:
    """A name typed all in one case ('omar', 'COLE') shown in title case; mixed case ('McDonald') kept."""
    return name.title() if name.islower() or name.isupper() else name


def _order(strategies: Mapping[str, str]) -> list[tuple[pl.Expr, bool]]:
    """(sort key, descending) pairs, best value first, serving every strategy in use.

    A key another strategy uses is 0 for this one, and only the keys some attribute needs are
    built: with the default alone, the order is source rank, then the most recent.
    """
    used = {DEFAULT_STRATEGY, *strategies.values()}
    strategy, rank, unused = pl.col("strategy"), pl.col("rank"), pl.lit(0, pl.Int64)
    keys = []
    if "most_frequent" in used:
        votes = pl.len().over("customer_id", "attribute", "value").cast(pl.Int64)
        keys.append((pl.when(strategy == "most_frequent").then(votes).otherwise(unused), True))
    keys.append((pl.when(strategy == "source_priority").then(rank).otherwise(unused), False))
    keys.append((pl.col("seen_at"), True))
    if used != {"source_priority"}:
        keys.append((pl.when(strategy == "source_priority").then(unused).otherwise(rank), False))
    return keys


def _relay_domains(long: pl.DataFrame) -> list[str]:
    """The e-mail domains present that are marketplace relays (checked once per domain)."""
    emails = long.filter(pl.col("attribute") == "email")["value"].str.to_lowercase()
    domains = emails.str.extract(r"@([^@]+)$").drop_nulls().unique().to_list()
    return [domain for domain in domains if is_relay_email(f"x@{domain}")]
