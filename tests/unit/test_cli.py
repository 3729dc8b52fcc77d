"""The `c360` command line: generation, keys, drift checks, and clear errors for bad settings."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

runner = CliRunner()


def test_generate_writes_the_sources_and_the_truth(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", "--customers", "5", "--out", str(tmp_path / "out"), "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "users.csv").is_file() and (tmp_path / "out" / "truth" / "records.csv").is_file()


def test_keys_are_created_listed_and_revoked_and_only_their_digest_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("C360_HOME", str(tmp_path / "c360"))
    created = runner.invoke(app, ["keys", "create", "profile:read", "pii:read", "--name", "dashboard"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("c360_") and len(key) > 40
    store = (tmp_path / "c360" / "store.db").read_bytes()
    assert key.encode() not in store and hashlib.sha256(key.encode()).hexdigest().encode() in store
    listed = runner.invoke(app, ["keys", "list"], env={"COLUMNS": "200"})
    assert "dashboard" in listed.output and "profile:read pii:read" in listed.output and key not in listed.output
    assert runner.invoke(app, ["keys", "revoke", "1"]).exit_code == 0
    assert "dashboard" not in runner.invoke(app, ["keys", "list"], env={"COLUMNS": "200"}).output
    assert "dashboard" in runner.invoke(app, ["keys", "list", "--all"], env={"COLUMNS": "200"}).output
    assert runner.invoke(app, ["keys", "revoke", "7"]).exit_code == 2


def test_unknown_scopes_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_HOME", str(tmp_path / "c360"))
    assert runner.invoke(app, ["keys", "create", "everything"]).exit_code != 0


@pytest.mark.parametrize("command", [["schema", "docs", "--check"], ["openapi", "--check"]])
def test_generated_documents_are_current(command: list[str]) -> None:
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output


def test_bad_settings_stop_with_the_variable_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_CATALOG__URI", "ftp://nowhere")
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "C360_CATALOG__URI" in result.output


def test_identity_resolve_writes_one_line_per_record(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(
        "record_id,email,phone,first_name,last_name,notes\n"
        "a1,ann.lee@example.com,,Ann,Lee,vip\n"
        "a2, ANN.LEE@example.com ,(415) 555-0101,,,\n"
        "a3,,415.555.0101,Ann,Lee,\n"
        "b1,bob@example.com,,Bob,Ray,\n"
    )
    out = tmp_path / "out" / "customers.csv"
    result = runner.invoke(app, ["identity", "resolve", "--input", str(source), "--output", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "record_id,customer_id,confidence"
    rows = {line.split(",")[0]: line.split(",")[1] for line in lines[1:]}
    assert list(rows) == ["a1", "a2", "a3", "b1"]
    assert rows["a1"] == rows["a2"] == rows["a3"] != rows["b1"]


def test_identity_resolve_without_record_id_is_a_clear_error(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text("email\nann@example.com\n")
    result = runner.invoke(app, ["identity", "resolve", "--input", str(source), "--output", str(tmp_path / "o.csv")])
    assert result.exit_code == 2 and "no record_id column" in result.output
    assert not (tmp_path / "o.csv").exists()


def test_identity_overrides_are_added_listed_and_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_HOME", str(tmp_path / "c360"))
    added = runner.invoke(app, ["identity", "override", "add", "must_link", "users:2", "users:1", "--reason", "call"])
    assert added.exit_code == 0, added.output
    assert "must_link users:1 users:2" in added.output, "stored with its records in order"
    listed = runner.invoke(app, ["identity", "override", "list"])
    assert "users:1" in listed.output and "call" in listed.output
    assert runner.invoke(app, ["identity", "override", "add", "merge", "a", "b"]).exit_code == 2
    assert runner.invoke(app, ["identity", "override", "remove", "1"]).exit_code == 0
    gone = runner.invoke(app, ["identity", "override", "remove", "1"])
    assert gone.exit_code == 2 and "no identity override 1" in gone.output
