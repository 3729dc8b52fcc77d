"""The `c360` command line: generation, keys, drift checks, and clear errors for bad settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

runner = CliRunner()


def test_generate_writes_the_sources_and_the_truth(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", "--customers", "5", "--out", str(tmp_path / "out"), "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "users.csv").is_file() and (tmp_path / "out" / "truth" / "records.csv").is_file()


def test_keys_prints_a_key_and_a_settings_entry_that_loads() -> None:
    result = runner.invoke(app, ["keys", "customers:read", "pii:read"])
    assert result.exit_code == 0, result.output
    key, entry = result.stdout.strip().splitlines()
    assert key.startswith("c360_") and len(key) > 40
    assert json.loads(entry.split("=", 1)[1].strip("'")) == {key: ["customers:read", "pii:read"]}


def test_unknown_scopes_are_refused() -> None:
    assert runner.invoke(app, ["keys", "everything"]).exit_code != 0


@pytest.mark.parametrize("command", [["schema", "docs", "--check"], ["openapi", "--check"]])
def test_generated_documents_are_current(command: list[str]) -> None:
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output


def test_bad_settings_stop_with_the_variable_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_CATALOG__URI", "ftp://nowhere")
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "C360_CATALOG__URI" in result.output
