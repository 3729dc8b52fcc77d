"""Reason codes: which feature each one reads, where it fires and how many points it adds (pure Polars).

A code fires when its feature reaches the configured threshold (for a time, when it is at or under
it). Its contribution is its weight times the severity, how many times over the threshold the
feature is, capped at `RiskSettings.severity_cap`, rounded to whole points: at the threshold a code
adds its weight, twice as far adds twice (with the default cap of 2). Codes are stable upper-snake
strings; clients may key on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from core.config import RiskSettings
from risk.features import LOWER_IS_RISKIER


@dataclass(frozen=True)
class Rule:
    """One reason code over one feature; `unit` words the feature's value in the reason's detail."""

    code: str
    feature: str
    unit: str

    @property
    def lower_is_riskier(self) -> bool:
        """True for times: the faster, the riskier."""
        return self.feature in LOWER_IS_RISKIER


RULES: tuple[Rule, ...] = (
    Rule("ORDER_VELOCITY_1H", "orders_1h", "orders within one hour"),
    Rule("ORDER_VELOCITY_24H", "orders_24h", "orders within one day"),
    Rule("NEW_ACCOUNT_HIGH_VALUE", "new_account_value_ratio", "x the site median, first order within a day of sign-up"),
    Rule("VALUE_SPIKE", "value_spike_ratio", "x both the customer's median earlier order and the site median"),
    Rule("CROSS_CHANNEL_DUPLICATE", "cross_channel_duplicates", "marketplace orders repeating a web order"),
    Rule("CART_TO_PURCHASE_FAST", "cart_to_purchase_seconds", "seconds from add-to-cart to purchase"),
    Rule("FAILED_LOGINS_THEN_PURCHASE", "failed_logins_before_purchase", "failed logins in the hour before a purchase"),
    Rule("SHARED_DEVICE", "device_customers", "customers signed in on one device"),
    Rule("SHARED_IDENTIFIER", "identifier_customers", "customers holding one phone or device"),
    Rule("IDENTIFIER_BURST", "accounts_created_together", "accounts created within one hour"),
)
CONTRIBUTION_COLUMNS = ("customer_id", "code", "contribution", "detail")


def severity(rule: Rule, threshold: float) -> pl.Expr:
    """How many times over its threshold the rule's feature is (0 below it; null features never fire)."""
    value = pl.col(rule.feature).cast(pl.Float64)
    if rule.lower_is_riskier:
        over = pl.lit(threshold) / value.clip(lower_bound=1e-9)  # an instant purchase is as bad as it gets
    else:
        over = value / threshold
    return pl.when(over >= 1).then(over).otherwise(0.0).fill_null(0.0)


def contributions(features: pl.DataFrame, settings: RiskSettings) -> pl.DataFrame:
    """One row per fired reason code of each customer: its points and a detail naming the value and the threshold."""
    parts = []
    for rule in RULES:
        config = settings.rules[rule.code]
        points = (severity(rule, config.threshold).clip(upper_bound=settings.severity_cap) * config.weight).round()
        detail = pl.format(
            "{} {} (threshold {})", _shown(rule.feature), pl.lit(rule.unit), pl.lit(f"{config.threshold:g}")
        )
        fired = features.select(
            "customer_id",
            pl.lit(rule.code).alias("code"),
            points.cast(pl.Int64).alias("contribution"),
            detail.alias("detail"),
        )
        parts.append(fired.filter(pl.col("contribution") > 0))
    return pl.concat(parts).select(CONTRIBUTION_COLUMNS)


def _shown(feature: str) -> pl.Expr:
    """A feature's value as a reason shows it: counts as whole numbers, ratios and times to two decimals."""
    value = pl.col(feature).cast(pl.Float64).round(2)
    whole = value.cast(pl.Int64, strict=False).cast(pl.String)
    return pl.when(value == value.floor()).then(whole).otherwise(value.cast(pl.String))
