"""The score: points per fired code by severity, summed and capped at 100, with reasons and features as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.config import RISK_RULE_DEFAULTS, RiskRule, RiskSettings
from risk.features import FEATURES, LOWER_IS_RISKIER
from risk.rules import RULES, Rule, contributions
from risk.score import MAX_SCORE, score, stamped

QUIET = {name: (None if name in LOWER_IS_RISKIER else 0.0) for name in FEATURES}


def customer(customer_id: str = "c1", **values: float | None) -> dict[str, object]:
    """A feature row: nothing suspicious except `values`."""
    return {"customer_id": customer_id, **QUIET, **values}


def scored(*rows: dict[str, object], risk: RiskSettings | None = None) -> dict[str, dict[str, object]]:
    frame = pl.DataFrame(list(rows), schema={"customer_id": pl.String, **dict.fromkeys(FEATURES, pl.Float64)})
    result = score(frame, risk or RiskSettings())
    return {row["customer_id"]: row for row in result.iter_rows(named=True)}


def test_rules_read_every_feature_and_match_the_configured_codes() -> None:
    assert sorted(rule.feature for rule in RULES) == sorted(FEATURES)
    assert [rule.code for rule in RULES] == list(RISK_RULE_DEFAULTS)
    assert all(rule.code.isupper() and " " not in rule.code for rule in RULES)


def test_a_quiet_customer_scores_zero_with_no_reasons_and_every_feature() -> None:
    row = scored(customer())["c1"]
    assert row["score"] == 0 and json.loads(str(row["reasons"])) == []
    assert json.loads(str(row["features"])) == QUIET


def test_points_grow_with_severity_up_to_the_cap() -> None:
    rows = scored(
        customer("at", orders_1h=5),  # at the threshold: the weight
        customer("over", orders_1h=7),  # 1.4x the threshold: 1.4x the weight
        customer("far", orders_1h=40),  # 8x, capped at twice the weight
        customer("below", orders_1h=4),
    )
    assert {c: rows[c]["score"] for c in rows} == {"at": 50, "over": 70, "far": 100, "below": 0}


def test_faster_is_riskier_for_times() -> None:
    rows = scored(customer("slow", cart_to_purchase_seconds=2.5), customer("at", cart_to_purchase_seconds=2),
                  customer("instant", cart_to_purchase_seconds=0.0))  # fmt: skip
    assert [rows[c]["score"] for c in ("slow", "at", "instant")] == [0, 50, 100]


def test_reasons_are_ordered_by_contribution_and_sum_to_the_score_below_the_cap() -> None:
    row = scored(customer(orders_24h=8, device_customers=3, identifier_customers=4))["c1"]
    reasons = json.loads(str(row["reasons"]))
    assert [(r["code"], r["contribution"]) for r in reasons] == [
        ("SHARED_DEVICE", 40),
        ("ORDER_VELOCITY_24H", 30),
        ("SHARED_IDENTIFIER", 10),
    ]
    assert sum(r["contribution"] for r in reasons) == row["score"] == 80
    assert reasons[0]["detail"] == "3 customers signed in on one device (threshold 3)"


def test_the_score_is_capped_at_100_while_the_reasons_keep_every_point() -> None:
    row = scored(customer(orders_1h=6, failed_logins_before_purchase=4, cross_channel_duplicates=1))["c1"]
    assert row["score"] == MAX_SCORE
    assert sum(r["contribution"] for r in json.loads(str(row["reasons"]))) == 60 + 67 + 50


def test_weights_and_thresholds_come_from_the_settings() -> None:
    risk = RiskSettings(rules={"ORDER_VELOCITY_1H": {"threshold": 3}, "SHARED_DEVICE": {"weight": 0}})
    row = scored(customer(orders_1h=3, device_customers=9), risk=risk)["c1"]
    assert [r["code"] for r in json.loads(str(row["reasons"]))] == ["ORDER_VELOCITY_1H"]
    assert row["score"] == 50


@settings(max_examples=60, deadline=None)
@given(
    values=st.fixed_dictionaries({name: st.floats(0, 1000, allow_nan=False) for name in FEATURES}),
    weights=st.lists(st.integers(0, 100), min_size=len(RULES), max_size=len(RULES)),
    cap=st.floats(1, 10),
)
def test_any_features_and_weights_score_0_to_100_as_the_capped_sum(
    values: dict[str, float], weights: list[int], cap: float
) -> None:
    rules = {rule.code: RiskRule(threshold=RISK_RULE_DEFAULTS[rule.code]["threshold"], weight=w)
             for rule, w in zip(RULES, weights, strict=True)}  # fmt: skip
    risk = RiskSettings(rules=rules, severity_cap=cap)
    frame = pl.DataFrame([customer(**values)])
    total = int(contributions(frame, risk)["contribution"].sum())
    points = score(frame, risk)["score"].item()
    assert 0 <= points <= MAX_SCORE
    assert points == min(MAX_SCORE, total)


def test_stamped_rows_carry_the_build_and_time_sorted_by_customer() -> None:
    frame = pl.DataFrame([customer("b"), customer("a", orders_1h=5)])
    when = datetime(2026, 3, 1, tzinfo=UTC)
    rows = stamped(score(frame, RiskSettings()), build_id="b1", scored_at=when)
    assert rows.columns == ["customer_id", "score", "reasons", "features", "build_id", "scored_at"]
    assert rows.rows()[0][:2] == ("a", 50) and set(rows["build_id"]) == {"b1"} and set(rows["scored_at"]) == {when}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_each_code_fires_alone_at_its_default_threshold(rule: Rule) -> None:
    defaults = RISK_RULE_DEFAULTS[rule.code]
    row = scored(customer(**{rule.feature: defaults["threshold"]}))["c1"]
    assert [r["code"] for r in json.loads(str(row["reasons"]))] == [rule.code]
    assert row["score"] == defaults["weight"]
