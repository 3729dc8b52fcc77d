"""`c360 identity explain` and `why` answer from the evidence the last build kept in the lake."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from cli import app
from lakehouse.lake import Lake
from lakehouse.query import read_polars
from schema import lake as tables
from tests.conftest import Built

runner = CliRunner()


@pytest.fixture
def home(built: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_HOME", str(built.settings.home))


def an_account_with_orders(built: Built) -> tuple[str, str, str]:
    """(account record, its e-mail as stored, an order of the same customer carrying only that e-mail)."""
    with Lake.open(built.settings.catalog) as lake:
        evidence = read_polars(lake.table(tables.IDENTITY_EVIDENCE))
    emails = evidence.filter((pl.col("edge") == "identifier") & (pl.col("target_kind") == "email"))
    accounts = emails.filter(pl.col("record_id").str.starts_with("users:"))
    orders = emails.filter(pl.col("record_id").str.starts_with("orders:")).select("record_id", "target_value")
    pair = (
        accounts.join(orders, on="target_value", suffix="_order")
        .sort("record_id", "record_id_order")
        .row(0, named=True)
    )
    return pair["record_id"], pair["target_value"], pair["record_id_order"]


def test_why_names_the_shared_email_between_an_account_and_its_order(built: Built, home: None) -> None:
    account, email, order = an_account_with_orders(built)
    shouted = email.upper()  # identifiers are normalised as ingestion normalises them
    result = runner.invoke(app, ["identity", "why", f"record:{account}", f"email:{shouted}"])
    assert result.exit_code == 0, result.output
    path = json.loads(result.stdout)
    assert path == [{"from": f"record:{account}", "to": f"email:{email}", "rule": "exact:email"}]
    to_order = json.loads(runner.invoke(app, ["identity", "why", f"record:{order}", f"record:{account}"]).stdout)
    assert to_order[0]["from"] == f"record:{order}" and to_order[-1]["to"] == f"record:{account}"


def test_explain_prints_the_customer_graph_holding_the_node(built: Built, home: None) -> None:
    account, email, order = an_account_with_orders(built)
    result = runner.invoke(app, ["identity", "explain", f"email:{email}"])
    assert result.exit_code == 0, result.output
    graph = json.loads(result.stdout)
    ids = {node["id"] for node in graph["nodes"]}
    assert {f"record:{account}", f"record:{order}", f"email:{email}"} <= ids
    assert all(edge["from"] in ids and edge["to"] in ids for edge in graph["edges"])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["explain", "email:nobody@nowhere.example"], "belongs to no customer"),
        (["explain", "fax:123"], "names no record or identifier"),
        (["why", "email:not-an-address", "record:users:1"], "no valid email"),
    ],
)
def test_unknown_or_malformed_nodes_are_clear_errors(home: None, arguments: list[str], message: str) -> None:
    result = runner.invoke(app, ["identity", *arguments])
    assert result.exit_code == 1
    assert message in result.output
