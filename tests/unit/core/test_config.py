"""Settings: defaults under C360_HOME, nested environment variables, errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_settings
from core.errors import ConfigurationError


def test_defaults_put_catalog_warehouse_and_store_under_home(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    assert settings.catalog.uri == f"sqlite:///{tmp_path / 'catalog.db'}"
    assert settings.catalog.warehouse == str(tmp_path / "warehouse")
    assert settings.store.url == f"sqlite:///{tmp_path / 'store.db'}"
    assert settings.api.host == "127.0.0.1"


def test_nested_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    monkeypatch.setenv("C360_CATALOG__URI", "https://catalog.example/api")
    monkeypatch.setenv("C360_API__RATE_LIMIT_PER_SECOND", "12.5")
    settings = load_settings()
    assert settings.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert settings.catalog.uri == "https://catalog.example/api"
    assert settings.api.rate_limit_per_second == 12.5


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("C360_CATALOG__URI", "ftp://nope"),
        ("C360_STORE__URL", "mysql://nope"),
        ("C360_API__PORT", "70000"),
        ("C360_LOG_LEVEL", "chatty"),
        ("C360_IDENTITY__DEFAULT_REGION", "USA"),
        ("C360_API__RATE_LIMIT_BURST", "0"),
        ("C360_API__RATE_LIMIT_PER_SECOND", "-1"),
    ],
)
def test_invalid_settings_fail_naming_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        load_settings()


def test_malformed_json_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_IDENTITY__PER_CUSTOMER_LIMITS", "{not json")
    with pytest.raises(ConfigurationError, match="PER_CUSTOMER_LIMITS|per_customer_limits"):
        load_settings()


def test_per_customer_limits_name_known_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_IDENTITY__PER_CUSTOMER_LIMITS", '{"loyalty_id": 1, "shoe_size": 2}')
    with pytest.raises(ConfigurationError, match="PER_CUSTOMER_LIMITS"):
        load_settings()


@pytest.mark.parametrize(
    "value", ['{"shoe_size": "most_recent"}', '{"first_name": "loudest"}'], ids=["attribute", "strategy"]
)
def test_survivorship_names_known_attributes_and_strategies(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("C360_IDENTITY__SURVIVORSHIP", value)
    with pytest.raises(ConfigurationError, match="SURVIVORSHIP"):
        load_settings()


def test_survivorship_is_read_per_attribute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_IDENTITY__SURVIVORSHIP", '{"first_name": "most_frequent", "email": "most_recent"}')
    assert load_settings().identity.survivorship == {"first_name": "most_frequent", "email": "most_recent"}
