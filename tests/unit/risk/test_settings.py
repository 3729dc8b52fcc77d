"""Risk settings: each reason code's threshold and weight from the environment, merged over the defaults."""

from __future__ import annotations

import pytest

from core.config import RISK_RULE_DEFAULTS, RiskRule, RiskSettings, load_settings
from core.errors import ConfigurationError


def test_defaults_cover_every_code_with_its_default_numbers() -> None:
    rules = RiskSettings().rules
    assert rules == {code: RiskRule(**values) for code, values in RISK_RULE_DEFAULTS.items()}


def test_one_variable_changes_one_number_and_keeps_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_RISK__RULES__ORDER_VELOCITY_1H__WEIGHT", "35")
    rules = load_settings().risk.rules
    assert rules["ORDER_VELOCITY_1H"] == RiskRule(
        threshold=RISK_RULE_DEFAULTS["ORDER_VELOCITY_1H"]["threshold"], weight=35
    )
    assert rules["VALUE_SPIKE"] == RiskRule(**RISK_RULE_DEFAULTS["VALUE_SPIKE"])


def test_a_json_map_may_name_codes_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_RISK__RULES", '{"value_spike": {"threshold": 7}}')
    monkeypatch.setenv("C360_RISK__SEVERITY_CAP", "3")
    risk = load_settings().risk
    assert risk.rules["VALUE_SPIKE"] == RiskRule(threshold=7, weight=RISK_RULE_DEFAULTS["VALUE_SPIKE"]["weight"])
    assert risk.severity_cap == 3


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "C360_RISK__RULES",
            '{"CARD_TESTING": {"weight": 10}}',
            r"unknown reason code\(s\) \['CARD_TESTING'\]; known: ",
        ),
        (
            "C360_RISK__RULES__VALUE_SPIKE__WEIGHT",
            "101",
            "C360_RISK__RULES__VALUE_SPIKE__WEIGHT: .*less than or equal to 100",
        ),
        ("C360_RISK__RULES__VALUE_SPIKE__THRESHOLD", "0", "C360_RISK__RULES__VALUE_SPIKE__THRESHOLD: .*greater than 0"),
        ("C360_RISK__RULES__SHARED_DEVICE__WEIGHT", "-1", "C360_RISK__RULES__SHARED_DEVICE__WEIGHT"),
        ("C360_RISK__SEVERITY_CAP", "0.5", "C360_RISK__SEVERITY_CAP: .*greater than or equal to 1"),
    ],
)
def test_invalid_risk_settings_fail_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=message):
        load_settings()
