"""The PostgreSQL worker against a real PostgreSQL holding the sample: incremental, atomic, SCD2,
schema evolution, quarantine, deletes, crashes and a source that goes away."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import psycopg
import pytest

from core.config import Settings, load_settings
from core.errors import TerminalError, TransientError
from ingest.entities import POSTGRES_ENTITIES, STORES, USERS, Entity
from ingest.sources.postgres import PostgresSource
from ingest.worker import EntityRun, Worker
from lakehouse.lake import Lake
from lakehouse.query import read_polars
from lakehouse.snapshots import current_snapshot_id, last_property
from schema import lake as tables
from schema.lake import ALL_TABLES, PROP_SCHEMA_CHANGES
from tests.support import duckdb_with_iceberg

WATCHED = [t for t in ALL_TABLES if t.layer.value in ("raw", "conformed", "ops")]
VOLATILE = ("_ingested_at", "quarantined_at")


def ingest(
    lake: Lake,
    url: str,
    *,
    reconcile: bool = False,
    batch_rows: int = 400,
    entities: tuple[Entity, ...] = POSTGRES_ENTITIES,
    **worker: object,
) -> list[EntityRun]:
    with PostgresSource(url, attempts=2) as source:
        return Worker(lake, source, batch_rows=batch_rows, **worker).run(entities, reconcile=reconcile)  # type: ignore[arg-type]


def sql(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def contents(lake: Lake) -> dict[str, list[dict[str, object]]]:
    """Every watched table's rows, sorted, without the columns that differ between runs by design."""
    out = {}
    for definition in WATCHED:
        frame = read_polars(lake.table(definition))
        frame = frame.drop([c for c in VOLATILE if c in frame.columns])
        out[definition.full_name] = frame.sort(frame.columns).to_dicts()
    return out


def snapshots(lake: Lake) -> dict[str, int | None]:
    return {t.full_name: current_snapshot_id(lake.table(t)) for t in WATCHED}


@pytest.fixture
def lake(settings: Settings) -> Lake:  # type: ignore[misc]
    with Lake.open(settings.catalog) as opened:
        opened.create()
        yield opened


def test_first_load_lands_and_conforms_every_table(lake: Lake, source_pg: str) -> None:
    runs = ingest(lake, source_pg)
    expected = {
        "products": 212,
        "stores": 10,
        "users": 244,
        "orders": 1139,
        "order_items": 2050,
        "inventory_snapshots": 3220,
    }
    assert {run.entity: run.read for run in runs} == expected
    assert all(batch.balanced and batch.read <= 400 for run in runs for batch in run.batches)
    orders = read_polars(lake.table(tables.ORDERS))
    assert len(orders) == 1139 and set(orders["source"]) == {"web", "pos"}
    assert orders["order_id"].str.starts_with("shopsphere:").all()
    users = read_polars(lake.table(tables.USERS))
    assert len(users) == 244 and users["is_current"].all()
    raw = lake.table(tables.RAW_PG_ORDERS)
    count = duckdb_with_iceberg().execute(f"SELECT count(*) FROM iceberg_scan('{raw.metadata_location}')").fetchone()
    assert count == (1139,)


def test_incremental_runs_read_only_what_changed_and_version_users(lake: Lake, source_pg: str) -> None:
    ingest(lake, source_pg)
    before_change = datetime.now(UTC)
    time.sleep(0.01)
    sql(
        source_pg,
        "UPDATE users SET email = 'brand.new@example.com', updated_at = now() WHERE user_id = 1",
        "UPDATE users SET city = 'Springfield', updated_at = now() WHERE user_id = 2",
        "INSERT INTO orders (order_id, channel, user_id, status, currency, total_amount, order_ts, updated_at) "
        "VALUES (999001, 'web', 1, 'placed', 'USD', 10.50, now(), now())",
    )
    runs = {run.entity: run for run in ingest(lake, source_pg)}
    assert runs["users"].read == 2 and runs["orders"].read == 1 and runs["products"].read == 0

    users = read_polars(lake.table(tables.USERS)).sort("user_id", "valid_from")
    first = users.filter(pl.col("user_id") == 1)
    assert first["email"].to_list()[1] == "brand.new@example.com"
    assert first["is_current"].to_list() == [False, True]
    assert first["valid_to"][0] == first["valid_from"][1], "the old version closes when the new one opens"
    second = users.filter(pl.col("user_id") == 2)
    assert len(second) == 1 and second["city"][0] == "Springfield", "untracked changes update in place"

    as_of = users.filter(
        (pl.col("valid_from") <= before_change) & (pl.col("valid_to").is_null() | (pl.col("valid_to") > before_change))
    )
    assert as_of.filter(pl.col("user_id") == 1)["email"][0] != "brand.new@example.com"
    assert len(as_of) == 244


def test_a_rerun_reads_nothing_and_commits_nothing(lake: Lake, source_pg: str) -> None:
    ingest(lake, source_pg)
    before = snapshots(lake)
    runs = ingest(lake, source_pg)
    assert sum(run.read for run in runs) == 0
    assert snapshots(lake) == before


@pytest.mark.parametrize(
    "crash_at", ["commit:raw.pg_orders", "committed:raw.pg_orders", "commit:conformed.orders", "commit:ops.quarantine"]
)
def test_a_crash_at_any_commit_is_repaired_by_the_next_run(crash_at: str, source_pg: str, tmp_path: Path) -> None:
    """The worker process is killed (SIGKILL) at a commit; a rerun leaves the tables as a clean run does."""
    sql(
        source_pg,
        "UPDATE orders SET total_amount = NULL, channel = 'phone', updated_at = now() WHERE order_id = 100002",
    )
    crashed = load_settings(home=tmp_path / "crashed")
    env = {**os.environ, "C360_HOME": str(crashed.home), "C360_POSTGRES__URL": source_pg, "C360_FAILPOINT": crash_at}
    command = [sys.executable, "-m", "cli", "ingest", "postgres", "--once", "--batch-rows", "500"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]

    clean = load_settings(home=tmp_path / "clean")
    with Lake.open(crashed.catalog) as after_crash, Lake.open(clean.catalog) as reference:
        reference.create()
        ingest(reference, source_pg, batch_rows=500)
        ingest(after_crash, source_pg, batch_rows=500)
        assert contents(after_crash) == contents(reference)


def test_a_new_source_column_reaches_raw_and_conformed(lake: Lake, source_pg: str) -> None:
    ingest(lake, source_pg)
    sql(
        source_pg,
        "ALTER TABLE orders ADD COLUMN gift_message text",
        "UPDATE orders SET gift_message = 'happy birthday', updated_at = now() WHERE order_id IN (100001, 100002)",
    )
    ingest(lake, source_pg)
    raw = lake.table(tables.RAW_PG_ORDERS)
    assert "gift_message" in raw.schema().column_names
    assert "added gift_message string" in (last_property(raw, PROP_SCHEMA_CHANGES) or "")
    conformed = read_polars(lake.table(tables.ORDERS)).filter(pl.col("gift_message").is_not_null())
    assert sorted(conformed["order_id"].to_list()) == ["shopsphere:100001", "shopsphere:100002"]
    assert len(lake.table(tables.ORDERS).schemas()) == 2, "the change is a schema version in the table's history"


def test_a_widened_source_column_widens_raw_and_conformed(lake: Lake, source_pg: str) -> None:
    ingest(lake, source_pg)
    sql(
        source_pg,
        "ALTER TABLE order_items ALTER COLUMN quantity TYPE bigint",
        "UPDATE order_items SET quantity = 3000000000, updated_at = now() WHERE order_id = 100001 AND line_no = 1",
    )
    ingest(lake, source_pg)
    assert str(lake.table(tables.RAW_PG_ORDER_ITEMS).schema().find_field("quantity").field_type) == "long"
    items = read_polars(lake.table(tables.ORDER_ITEMS))
    assert (
        items.filter((pl.col("order_id") == "shopsphere:100001") & (pl.col("line_no") == 1))["quantity"][0]
        == 3000000000
    )


def test_an_incompatible_value_is_quarantined_with_its_column_and_the_rest_loads(lake: Lake, source_pg: str) -> None:
    ingest(lake, source_pg)
    sql(
        source_pg,
        "ALTER TABLE orders ALTER COLUMN total_amount TYPE text",
        "UPDATE orders SET total_amount = 'N/A', updated_at = now() WHERE order_id = 100003",
        "UPDATE orders SET total_amount = '12.34', status = 'shipped', updated_at = now() WHERE order_id = 100004",
    )
    runs = {run.entity: run for run in ingest(lake, source_pg)}
    batch = runs["orders"].batches[0]
    assert (batch.read, batch.written, batch.quarantined) == (2, 1, 1)
    refused = read_polars(lake.table(tables.QUARANTINE)).filter(pl.col("record_key") == "100003")
    assert refused.select("column_name", "reason_code").row(0) == ("total_amount", "invalid_type")
    assert "N/A" in refused["payload"][0]
    with psycopg.connect(source_pg) as connection:
        updated_at = connection.execute("SELECT updated_at FROM orders WHERE order_id = 100003").fetchone()[0]  # type: ignore[index]
    assert refused["source_position"][0] == f"{updated_at.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}Z|100003"
    order = read_polars(lake.table(tables.ORDERS)).filter(pl.col("order_id") == "shopsphere:100004")
    assert (order["total_amount"][0], order["status"][0]) == (Decimal("12.34"), "shipped")
    assert str(lake.table(tables.RAW_PG_ORDERS).schema().find_field("total_amount").field_type) == "decimal(12, 2)"


def test_soft_and_hard_deletes_reach_the_conformed_tables(lake: Lake, source_pg: str) -> None:
    ingest(lake, source_pg)
    sql(
        source_pg,
        "UPDATE orders SET deleted_at = now(), updated_at = now() WHERE order_id = 100005",
        "DELETE FROM orders WHERE order_id = 100006",
        "DELETE FROM users WHERE user_id = 3",
    )
    runs = {run.entity: run for run in ingest(lake, source_pg, reconcile=True)}
    assert (runs["orders"].deleted, runs["users"].deleted) == (1, 1)
    orders = read_polars(lake.table(tables.ORDERS)).filter(
        pl.col("order_id").is_in(["shopsphere:100005", "shopsphere:100006"])
    )
    assert orders["is_deleted"].to_list() == [True, True]
    user = read_polars(lake.table(tables.USERS)).filter((pl.col("user_id") == 3) & pl.col("is_current"))
    assert user["deleted_at"][0] is not None
    tombstones = read_polars(lake.table(tables.RAW_PG_ORDERS)).filter(pl.col("_op") == "delete")
    assert tombstones["order_id"].to_list() == [100006], "the hard delete is recorded in raw"
    assert sum(r.deleted for r in ingest(lake, source_pg, reconcile=True)) == 0, "recorded once"


def test_a_source_that_goes_away_mid_run_fails_clearly_and_the_next_run_completes(
    lake: Lake, source_pg: str, postgres_admin_url: str, tmp_path: Path
) -> None:
    database = source_pg.split("?")[0].rsplit("/", 1)[1]

    def cut_off(counts, _seconds) -> None:  # type: ignore[no-untyped-def]
        if counts.entity == "users":
            sql(
                postgres_admin_url,
                f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false',
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'",
            )

    entities = (STORES, USERS)
    with pytest.raises(TransientError, match="gave up reading"):
        ingest(lake, source_pg, batch_rows=100, on_batch=cut_off, entities=entities)
    landed = read_polars(lake.table(tables.RAW_PG_USERS))
    assert 0 < len(landed) < 244, "batches committed before the cut stay; none is half-written"
    sql(postgres_admin_url, f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    ingest(lake, source_pg, batch_rows=100, entities=entities)
    with Lake.open(load_settings(home=tmp_path / "reference").catalog) as reference:
        reference.create()
        ingest(reference, source_pg, batch_rows=100, entities=entities)
        assert contents(lake) == contents(reference)


def test_a_wrong_url_or_a_missing_table_is_a_clear_error(lake: Lake, source_pg: str) -> None:
    with pytest.raises(TransientError, match=r"PostgreSQL at postgresql://nobody@127\.0\.0\.1:1/nowhere"):
        ingest(lake, "postgresql://nobody:secret@127.0.0.1:1/nowhere")
    sql(source_pg, "DROP TABLE stores")
    with pytest.raises(TerminalError, match=r"table public\.stores does not exist"):
        ingest(lake, source_pg)


def test_sigterm_stops_the_worker_cleanly_between_batches(source_pg: str, tmp_path: Path) -> None:
    env = {**os.environ, "C360_HOME": str(tmp_path / "c360"), "C360_POSTGRES__URL": source_pg}
    command = [sys.executable, "-m", "cli", "ingest", "postgres", "--every", "1s", "--batch-rows", "200"]
    worker = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    with Lake.open(load_settings(home=tmp_path / "c360").catalog) as lake:
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if (
                lake.catalog.table_exists(tables.RAW_PG_USERS.identifier)
                and lake.table(tables.RAW_PG_USERS).current_snapshot()
            ):
                break
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=120)
        assert worker.returncode == 0, stderr[-2000:]
        assert "stopped after the batch in hand" in stderr
        raw = read_polars(lake.table(tables.RAW_PG_USERS))
        assert raw["user_id"].n_unique() == len(raw), "no batch landed twice"


def test_the_command_names_what_is_missing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("C360_")} | {"C360_HOME": str(tmp_path)}
    missing_url = subprocess.run(
        [sys.executable, "-m", "cli", "ingest", "postgres", "--once"], env=env, capture_output=True, text=True
    )
    assert missing_url.returncode == 2 and "C360_POSTGRES__URL" in missing_url.stderr
    env["C360_POSTGRES__URL"] = "postgresql://localhost/x"
    no_mode = subprocess.run(
        [sys.executable, "-m", "cli", "ingest", "postgres"], env=env, capture_output=True, text=True
    )
    assert no_mode.returncode == 2 and "--once or --every" in no_mode.stderr
