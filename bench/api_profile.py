"""Benchmark: Customer 360 profiles under load, against a trivial endpoint of the same body size.

Projects N generated customers (default 1,000,000; each with an e-mail, phone and account, three
orders, three events and an account version) into a fresh operational store with the build's
own `profiles.projection.project`, serves the API with `c360 serve` (uvicorn, one worker per core)
and a constant-JSON FastAPI route the same way, and drives each with a bounded keep-alive load
generator on loopback (`bench/api_load.py`): `GET /v1/customers/{id}` for random ids, the lookup
by e-mail, then the constant route. Each run's connections are spread evenly over the workers
(re-dialled until they are): which worker accepts a connection is otherwise chance, and one worker
holding all eight halved a run's figure. Everything shares this machine's cores, as the ratio intends.
Printed: each run's requests/s and p50/p99 latency per scenario, their medians, and
`profile_ratio` / `lookup_ratio` (median requests/s over the constant route's; target >= 0.6) and
the profile p99 (target <= 10 ms).

Run: `python bench/api_profile.py [--customers 1000000] [--runs 3] [--seconds 10] [--connections 8]`.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_load import LoadResult, Owner, connection_owner, run_load  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402

from api.keys import register  # noqa: E402
from core.db import make_engine  # noqa: E402
from ingest.sources.broker import free_port  # noqa: E402
from migrations import upgrade_head  # noqa: E402
from profiles.document import render  # noqa: E402
from profiles.projection import project  # noqa: E402
from schema.store import (  # noqa: E402
    CustomerEvent,
    CustomerIdentifier,
    CustomerOrder,
    CustomerProfile,
    CustomerVersion,
    ServingBuild,
)

KEY = "c360_bench-key-0000000000000000000000"
BUILD = "bench"
START = datetime(2025, 1, 1, tzinfo=UTC)
FIRST = ["ann", "bob", "cara", "dev", "eli", "fay", "gus", "hana", "ivan", "jo"]
LAST = ["lee", "khan", "moreau", "silva", "novak", "ito", "berg", "cole", "diaz", "ford"]


def figure(line: str) -> None:
    """One `name: value` line of the benchmark's output."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def customer_id(i: pl.Expr) -> pl.Expr:
    return pl.format("C-{}", i.cast(pl.String).str.zfill(12))


def synthesize(n: int) -> dict[type[SQLModel], pl.DataFrame]:
    """Serving rows of `n` customers (three orders and events each), as a build would project them."""
    i = pl.int_range(0, n, eager=True).alias("i")
    people = pl.DataFrame(i).with_columns(
        customer_id(pl.col("i")).alias("customer_id"),
        pl.col("i").mod(len(FIRST)).replace_strict(dict(enumerate(FIRST))).alias("first_name"),
        (pl.col("i") // 10).mod(len(LAST)).replace_strict(dict(enumerate(LAST))).alias("last_name"),
    )
    people = people.with_columns(
        pl.format("{}.{}{}@example.com", "first_name", "last_name", "i").alias("email"),
        pl.format("+1415{}", pl.col("i").cast(pl.String).str.zfill(7)).alias("phone"),
    )
    per = pl.DataFrame({"k": [0, 1, 2]})
    orders = people.join(per, how="cross").with_columns(
        pl.format("shopsphere:{}", pl.col("i") * 3 + pl.col("k")).alias("order_id"),
        pl.col("k").replace_strict({0: "web", 1: "pos", 2: "marketplace"}).alias("source"),
        pl.col("k").replace_strict({0: "shopsphere", 1: "shopsphere", 2: "amazon"}).alias("platform"),
        pl.lit("delivered").alias("status"),
        pl.lit("USD").alias("currency"),
        ((pl.col("i") * 7919 + pl.col("k") * 104729) % 50_000 + 500).alias("total_cents"),
        pl.lit(2).alias("item_count"),
        pl.lit(None, pl.String).alias("store_id"),
        (pl.lit(START) + pl.duration(minutes=(pl.col("i") * 13 + pl.col("k") * 100_003) % 900_000)).alias("order_ts"),
    )
    events = people.join(per, how="cross").with_columns(
        pl.format("ev-{}", pl.col("i") * 3 + pl.col("k")).alias("event_id"),
        pl.col("k").replace_strict({0: "view", 1: "add_to_cart", 2: "purchase"}).alias("event_type"),
        (pl.lit(START) + pl.duration(minutes=(pl.col("i") * 17 + pl.col("k") * 7) % 900_000)).alias("event_ts"),
        pl.format("s-{}", "i").alias("session_id"),
        pl.format("dev-{}", "i").alias("device_id"),
        pl.lit("P00001").alias("product_id"),
        pl.lit(None, pl.Int64).alias("order_id"),
        pl.lit("/p/P00001").alias("page_url"),
    )
    kinds = (("email", pl.col("email")), ("phone", pl.col("phone")), ("user_id", pl.col("i").cast(pl.String)))
    identifiers = pl.concat(
        [
            people.select(pl.lit(k).alias("kind"), v.alias("value"), "customer_id", pl.lit(f"exact:{k}").alias("rule"))
            for k, v in kinds
        ]
    )
    totals = orders.group_by("customer_id").agg(
        pl.col("total_cents").sum().alias("lifetime_value_cents"),
        pl.col("order_ts").min().alias("first_order_ts"),
        pl.col("order_ts").max().alias("last_order_ts"),
        *[
            pl.col("total_cents").filter(pl.col("source") == s).sum().alias(f"{s}_value_cents")
            for s in ("web", "pos", "marketplace")
        ],
    )
    profiles = people.join(totals, on="customer_id").with_columns(
        pl.lit(None, pl.Date).alias("dob"),
        pl.lit("1 Market St").alias("street"),
        pl.lit("San Francisco").alias("city"),
        pl.lit("94105").alias("postcode"),
        pl.lit("US").alias("country"),
        pl.format("LOY-{}", "i").alias("loyalty_id"),
        pl.lit('{"email": {"record": "users:1", "rule": "source_priority"}}').alias("lineage"),
        pl.lit(7).alias("record_count"),
        pl.col("first_order_ts").alias("first_seen"),
        pl.col("last_order_ts").alias("last_seen"),
        pl.lit(3).alias("order_count"),
        (pl.col("lifetime_value_cents") // 3).alias("average_order_value_cents"),
        *[pl.lit(1).alias(f"{s}_order_count") for s in ("web", "pos", "marketplace")],
        pl.lit(3).alias("event_count"),
        pl.col("last_order_ts").alias("last_event_ts"),
        pl.lit(BUILD).alias("build_id"),
    )
    versions = people.select(
        "customer_id", pl.col("i").alias("user_id"), pl.lit(START).alias("valid_from"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("valid_to"), "email", "phone", "first_name", "last_name",
        pl.format("LOY-{}", "i").alias("loyalty_id"),
    )  # fmt: skip
    profiles = profiles.select([c for c in CustomerProfile.model_fields if c != "document"])
    orders, events = orders.select(list(CustomerOrder.model_fields)), events.select(list(CustomerEvent.model_fields))
    return {
        CustomerProfile: profiles.with_columns(render(profiles, identifiers, orders, events)),
        CustomerIdentifier: identifiers,
        CustomerOrder: orders,
        CustomerEvent: events,
        CustomerVersion: versions,
    }


def build_store(home: Path, customers: int) -> float:
    """Project the customers into a fresh store; seconds taken."""
    url = f"sqlite:///{home / 'store.db'}"
    upgrade_head(url)
    engine = make_engine(url)
    started = time.perf_counter()
    rows = synthesize(customers)
    build = ServingBuild(build_id=BUILD, created_at=datetime.now(UTC), customers=customers)
    project(engine, build, rows)
    with Session(engine) as session:
        register(session, key=KEY, name="bench", scopes=["profile:read", "pii:read"])
    engine.dispose()
    return time.perf_counter() - started


def start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """Start a server and wait until it answers on `port`."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{command[0]} did not start on port {port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="c360-api-bench-") as tmp:
        home = Path(tmp)
        figure(f"customers: {args.customers}")
        figure(f"build_seconds: {build_store(home, args.customers):.1f}")
        api_port, trivial_port = free_port(), free_port()
        env = {
            **os.environ, "C360_HOME": str(home), "C360_API__PORT": str(api_port),
            "C360_API__WORKERS": str(args.workers), "C360_API__RATE_LIMIT_PER_SECOND": "0", "C360_LOG_LEVEL": "WARNING",
        }  # fmt: skip
        api = start([str(Path(sys.executable).parent / "c360"), "serve"], env, api_port)
        headers = {"X-API-Key": KEY}
        try:
            size = len(
                httpx.get(f"http://127.0.0.1:{api_port}/v1/customers/{'C-' + '0' * 12}", headers=headers).content
            )
            figure(f"profile_body_bytes: {size}")
            trivial = start(
                [sys.executable, "-m", "uvicorn", "--factory", "api_trivial:create", "--workers", str(args.workers),
                 "--app-dir", str(Path(__file__).parent), "--port", str(trivial_port), "--log-level", "warning"],
                {**env, "C360_BENCH_BODY_BYTES": str(size)}, trivial_port,
            )  # fmt: skip
            try:
                servers = {
                    api_port: connection_owner(api.pid, api_port),
                    trivial_port: connection_owner(trivial.pid, trivial_port),
                }
                measure(args, servers, api_port, trivial_port, headers)
            finally:
                trivial.terminate()
                trivial.wait()
        finally:
            api.terminate()
            api.wait()


def measure(
    args: argparse.Namespace, servers: dict[int, Owner], api_port: int, trivial_port: int, headers: dict[str, str]
) -> None:
    """Run every scenario `runs` times, interleaved, and print each figure and the medians; each run's
    connections are spread evenly over the server's workers (`servers`: who holds a connection, by port)."""
    rng = random.Random(7)
    scenarios = {
        "profile": (api_port, lambda: f"/v1/customers/C-{rng.randrange(args.customers):012d}"),
        "lookup": (api_port, lambda: f"/v1/customers?email={_email(rng.randrange(args.customers))}"),
        "trivial": (trivial_port, lambda: "/constant"),
    }
    results: dict[str, list[LoadResult]] = {name: [] for name in scenarios}
    for run in range(1, args.runs + 1):
        for name, (port, path) in scenarios.items():
            spread = {"owner": servers[port], "workers": args.workers, "connections": args.connections}
            run_load("127.0.0.1", port, path, headers=headers, seconds=1.0, **spread)  # warm-up
            result = run_load("127.0.0.1", port, path, headers=headers, seconds=args.seconds, **spread)
            assert set(result.statuses) == {200}, f"{name}: {result.statuses}"
            results[name].append(result)
            figure(f"run{run}_{name}_rps: {result.rps:.0f}")
            figure(f"run{run}_{name}_p50_ms: {result.p50_ms:.2f}")
            figure(f"run{run}_{name}_p99_ms: {result.p99_ms:.2f}")
    medians = {name: statistics.median(r.rps for r in rs) for name, rs in results.items()}
    for name, rs in results.items():
        figure(f"{name}_rps: {medians[name]:.0f}")
        figure(f"{name}_p50_ms: {statistics.median(r.p50_ms for r in rs):.2f}")
        figure(f"{name}_p99_ms: {statistics.median(r.p99_ms for r in rs):.2f}")
    figure(f"profile_ratio: {medians['profile'] / medians['trivial']:.2f}")
    figure(f"lookup_ratio: {medians['lookup'] / medians['trivial']:.2f}")


def _email(i: int) -> str:
    return f"{FIRST[i % len(FIRST)]}.{LAST[(i // 10) % len(LAST)]}{i}@example.com"


if __name__ == "__main__":
    main()
