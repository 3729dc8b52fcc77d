"""Benchmark: the lakehouse's file-level merge against pyiceberg's own upsert and delete.

A 1M-row `conformed.orders` table (the project's month(order_ts) spec) is built twice; on one copy
the project's `merge.upsert` / `merge.delete_keys` run, on the other pyiceberg's `Table.upsert` /
`Table.delete`, with the same inputs. Printed per operation: seconds of each (median over --runs),
their ratio, data files each rewrote, and whether both tables end with identical contents.

Run: `python bench/lakehouse_merge.py [--rows 1000000] [--runs 3]`
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
from pyiceberg.expressions import In
from pyiceberg.table import Table

from core.config import load_settings
from lakehouse import merge, write
from lakehouse.catalog import open_catalog
from lakehouse.tables import create_table
from schema.lake import ORDERS
from schema.model import TableDef

END = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
SPAN_DAYS = 730
LINEAGE = ("_batch_id", "_ingested_at")


def orders(ids: np.ndarray, ts: np.ndarray, users: np.ndarray, amount_cents: np.ndarray, status: str) -> pa.Table:
    """Orders rows in the conformed schema from id, timestamp (epoch µs), user and amount arrays."""
    n = len(ids)
    order_ts = pa.array(ts, pa.timestamp("us", tz="UTC"))
    return pa.table(
        {
            "order_id": pa.array([f"web:{i:09d}" for i in ids]),
            "source": pa.array(["web"] * n),
            "platform": pa.array(["shopsphere"] * n),
            "source_order_id": pa.array([str(i) for i in ids]),
            "user_id": pa.array(users, pa.int64()),
            "status": pa.array([status] * n),
            "currency": pa.array(["USD"] * n),
            "total_amount": pa.array(amount_cents / 100.0).cast(pa.decimal128(12, 2)),
            "item_count": pa.array(np.ones(n, dtype=np.int32)),
            "order_ts": order_ts,
            "updated_at": order_ts,
            "is_deleted": pa.array(np.zeros(n, dtype=bool)),
            "_batch_id": pa.array(["bench"] * n),
            "_ingested_at": order_ts,
        }
    )


def initial_orders(rows: int, rng: np.random.Generator) -> pa.Table:
    """`rows` orders over two years, ids increasing with time, 100 orders per user on average."""
    end_us = int(END.timestamp() * 1_000_000)
    ts = np.sort(rng.integers(end_us - SPAN_DAYS * 86_400_000_000, end_us, rows))
    users = rng.integers(1, max(rows // 10, 2), rows)
    return orders(np.arange(rows), ts, users, rng.integers(500, 50_000, rows), "placed")


def upsert_batch(base: pa.Table, rng: np.random.Generator, updates: int, inserts: int) -> pa.Table:
    """`updates` changed orders from the last 7 days plus `inserts` new orders."""
    recent_from = int((END - timedelta(days=7)).timestamp() * 1_000_000)
    ts = base.column("order_ts").cast(pa.int64()).to_numpy()
    recent = np.flatnonzero(ts >= recent_from)
    picked = np.sort(rng.choice(recent, size=min(updates, len(recent)), replace=False))
    users = base.column("user_id").to_numpy()
    changed = orders(picked, ts[picked], users[picked], rng.integers(500, 50_000, len(picked)), "shipped")
    new_ids = np.arange(len(base), len(base) + inserts)
    new_ts = np.sort(rng.integers(recent_from, int(END.timestamp() * 1_000_000), inserts))
    new = orders(
        new_ids, new_ts, rng.integers(1, len(base) // 10, inserts), rng.integers(500, 50_000, inserts), "placed"
    )
    return pa.concat_tables([changed, new])


def fresh_table(catalog_home: Path, name: str, data: pa.Table) -> Table:
    """A new orders table (project spec and properties) loaded with `data` in one append."""
    catalog = open_catalog(load_settings(home=catalog_home).catalog)
    definition = TableDef(**{**ORDERS.__dict__, "name": name})
    table = create_table(catalog, definition)
    write.append(table, data)
    return table


def files_rewritten(table: Table, since_snapshot: int) -> int:
    """Data files removed by the snapshots committed after `since_snapshot`."""
    removed = 0
    snapshot = table.current_snapshot()
    while snapshot is not None and snapshot.snapshot_id != since_snapshot:
        removed += int(snapshot.summary.get("deleted-data-files") or 0) if snapshot.summary else 0
        snapshot = table.snapshot_by_id(snapshot.parent_snapshot_id) if snapshot.parent_snapshot_id else None
    return removed


def contents(table: Table) -> pa.Table:
    """Table rows in key order, for comparing results."""
    return table.scan().to_arrow().sort_by("order_id")


def timed(action) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def one_run(rows: int, seed: int, home: Path) -> dict[str, float]:
    """Build both tables, run both merges on each, return the figures."""
    rng = np.random.default_rng(seed)
    base = initial_orders(rows, rng)
    ours, theirs = fresh_table(home, f"orders_ours_{seed}", base), fresh_table(home, f"orders_pyiceberg_{seed}", base)
    batch = write.conform(theirs.schema().as_arrow(), upsert_batch(base, rng, 5_000, 5_000))
    figures: dict[str, float] = {"table_data_files": float(len(ours.inspect.files()))}

    start_ours, start_theirs = ours.current_snapshot().snapshot_id, theirs.current_snapshot().snapshot_id  # type: ignore[union-attr]
    figures["upsert_ours_s"] = timed(lambda: merge.upsert(ours, batch, ignore_columns=LINEAGE))
    figures["upsert_pyiceberg_s"] = timed(lambda: theirs.upsert(batch, join_cols=["order_id"]))
    figures["upsert_ours_files_rewritten"] = files_rewritten(ours, start_ours)
    figures["upsert_pyiceberg_files_rewritten"] = files_rewritten(theirs, start_theirs)
    figures["upsert_identical"] = float(contents(ours).equals(contents(theirs)))

    victims = pa.array(rng.choice(base.column("user_id").to_numpy(), 100, replace=False), pa.int64())
    start_ours, start_theirs = ours.current_snapshot().snapshot_id, theirs.current_snapshot().snapshot_id  # type: ignore[union-attr]
    figures["delete_ours_s"] = timed(lambda: merge.delete_keys(ours, pa.table({"user_id": victims})))
    figures["delete_pyiceberg_s"] = timed(lambda: theirs.delete(In("user_id", victims.to_pylist())))
    figures["delete_ours_files_rewritten"] = files_rewritten(ours, start_ours)
    figures["delete_pyiceberg_files_rewritten"] = files_rewritten(theirs, start_theirs)
    figures["delete_identical"] = float(contents(ours).equals(contents(theirs)))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="c360-bench-") as tmp:
        runs = [one_run(args.rows, seed, Path(tmp)) for seed in range(args.runs)]
    medians = {name: statistics.median(run[name] for run in runs) for name in runs[0]}
    lines = [f"rows: {args.rows}", f"runs: {args.runs}"] + [f"{name}: {value:.3f}" for name, value in medians.items()]
    lines.append(f"upsert_speedup_ratio: {medians['upsert_pyiceberg_s'] / medians['upsert_ours_s']:.1f}")
    lines.append(f"delete_speedup_ratio: {medians['delete_pyiceberg_s'] / medians['delete_ours_s']:.1f}")
    print("\n".join(lines))  # noqa: T201 - the benchmark's output is its figures


if __name__ == "__main__":
    main()
