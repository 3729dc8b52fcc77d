"""Benchmark: erase one data subject from a lakehouse of 10M events and 1M orders.

Fills a fresh local lakehouse (SQLite catalog) with generated rows written straight into the
tables, raw and conformed alike: N_USERS accounts, each with a golden customer and identity links;
1M orders; 10M events with their raw messages, landed as they happen (ingestion day = event day).
One account is the subject: ten orders, a hundred events over ten of the ninety days. Then the
erasure the privacy worker runs (`privacy.erase`: resolve, mark every table, resolve again, delete
by key, expire and sweep, search every file) is timed, and independently of it every data file that
held one of the subject's rows before is counted, to compare with the files it rewrote.

Printed: `seconds` (the erasure, median of --runs fresh lakes), the steps' seconds, `files_rewritten`,
`files_holding_subject` (before), `rewritten_ratio` (rewritten / holding; 1.0 means only files that
held the subject were rewritten), `data_files` (in all tables before) and `verified`.
Targets: under 30 s, and only files that held the subject rewritten.

Run: `python bench/erasure.py [--events 10000000] [--orders 1000000] [--runs 3]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import load_settings  # noqa: E402
from lakehouse import write  # noqa: E402
from lakehouse.lake import Lake  # noqa: E402
from privacy.erase import delete_rows, mark_tables, purge_history, verify  # noqa: E402
from privacy.subject import find_subject  # noqa: E402
from schema import lake as tables  # noqa: E402

N_USERS = 100_000
SUBJECT = 4_242  # the subject's account id
START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 90
ACTIVE_DAYS = 10  # the subject's events fall on the first ten days
STEPS = ("resolve", "mark", "resolve_again", "delete", "purge", "verify")


def figure(line: str) -> None:
    """One `name: value` line of the benchmark's output."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _anyone_else(n: pl.Expr) -> pl.Expr:
    """An account id other than the subject's, cycling through them all."""
    user = n % (N_USERS - 1) + 1
    return user + (user >= SUBJECT).cast(pl.Int64)


def _email(user: pl.Expr) -> pl.Expr:
    return pl.format("person{}@example.com", user)


def fill(lake: Lake, *, events: int, orders: int) -> None:
    """Generated rows in every table the subject reaches."""
    now = datetime.now(UTC)
    lineage = {"_batch_id": pl.lit("bench"), "_ingested_at": pl.lit(now)}
    raw_lineage = {**lineage, "_source": pl.lit("bench"), "_op": pl.lit("upsert")}
    users = pl.DataFrame({"user_id": pl.int_range(1, N_USERS + 1, eager=True)}).with_columns(
        _email(pl.col("user_id")).alias("email"),
        pl.format("+1415{}", pl.col("user_id").cast(pl.String).str.zfill(7)).alias("phone"),
        pl.lit(START).alias("updated_at"),
    )
    write.append(lake.table(tables.RAW_PG_USERS), users.with_columns(**raw_lineage).to_arrow())
    write.append(lake.table(tables.USERS), users.with_columns(
        pl.lit(START).alias("valid_from"), pl.lit(True).alias("is_current"), pl.lit("h").alias("attr_hash"), **lineage,
    ).to_arrow())  # fmt: skip
    # orders: the subject's ten first, then everyone's
    owner = pl.when(pl.col("n") < 10).then(SUBJECT).otherwise(_anyone_else(pl.col("n")))
    order_rows = pl.DataFrame({"n": pl.int_range(0, orders, eager=True)}).with_columns(
        owner.alias("user_id"), (pl.col("n") + 100_000).alias("source_id"),
        (pl.lit(START) + pl.duration(minutes=pl.col("n") * 7 % (DAYS * 24 * 60))).alias("order_ts"),
    )  # fmt: skip
    write.append(lake.table(tables.RAW_PG_ORDERS), order_rows.select(
        pl.col("source_id").alias("order_id"), "user_id", _email(pl.col("user_id")).alias("email"),
        pl.col("order_ts").alias("updated_at"), "order_ts", **raw_lineage,
    ).to_arrow())  # fmt: skip
    write.append(lake.table(tables.ORDERS), order_rows.select(
        pl.format("shopsphere:{}", "source_id").alias("order_id"), pl.lit("web").alias("source"),
        pl.lit("shopsphere").alias("platform"), pl.col("source_id").cast(pl.String).alias("source_order_id"),
        "user_id", _email(pl.col("user_id")).alias("email"), "order_ts", pl.col("order_ts").alias("updated_at"),
        pl.lit(False).alias("is_deleted"), **lineage,
    ).to_arrow())  # fmt: skip
    # events: the subject's hundred over ten of the ninety days, everyone else's around them
    first_days = pl.col("n") < events * ACTIVE_DAYS // DAYS
    theirs = first_days & (pl.col("n") % (events * ACTIVE_DAYS // DAYS // 100) == 0)
    user = pl.when(theirs).then(SUBJECT).otherwise(_anyone_else(pl.col("n")))
    event_rows = pl.DataFrame({"n": pl.int_range(0, events, eager=True)}).with_columns(
        user.alias("user_id"), pl.format("ev-{}", "n").alias("event_id"),
        (pl.lit(START) + pl.duration(seconds=pl.col("n") * (DAYS * 86_400) // events)).alias("event_ts"),
    )  # fmt: skip
    event_rows = event_rows.with_columns(pl.format("dev-{}", "user_id").alias("device_id"))
    landed = {"_batch_id": pl.lit("bench"), "_ingested_at": pl.col("event_ts")}  # streamed as they happen
    write.append(lake.table(tables.EVENTS), event_rows.select(
        "event_id", pl.lit("view").alias("event_type"), "event_ts", "device_id", "user_id",
        pl.lit("events").alias("_topic"), pl.lit(0).alias("_partition"), pl.col("n").alias("_offset"), **landed,
    ).to_arrow())  # fmt: skip
    write.append(lake.table(tables.RAW_EVENTS), event_rows.select(
        pl.lit("events").alias("topic"), pl.lit(0).alias("partition"), pl.col("n").alias("offset"),
        pl.col("device_id").alias("message_key"),
        pl.concat_str(pl.lit('{"event_id": "'), "event_id", pl.lit('", "user_id": '), pl.col("user_id").cast(pl.String),
                      pl.lit(', "device_id": "'), "device_id", pl.lit('"}')).alias("payload"),
        **raw_lineage | landed,
    ).to_arrow())  # fmt: skip
    # the identity build: one customer per account
    customers = users.select(pl.format("C-{}", "user_id").alias("customer_id"), "email", "phone")
    write.append(lake.table(tables.CUSTOMERS), customers.with_columns(pl.lit("b").alias("build_id")).to_arrow())
    links = pl.concat([
        users.select(pl.format("C-{}", "user_id").alias("customer_id"), pl.lit(link).alias("link_type"),
                     pl.lit(kind).alias("kind"), value.alias("value"), pl.lit(rule).alias("rule"))
        for link, kind, value, rule in (
            ("record", "users", pl.col("user_id").cast(pl.String), "component"),
            ("identifier", "user_id", pl.col("user_id").cast(pl.String), "exact:user_id"),
            ("identifier", "email", pl.col("email"), "exact:email"),
            ("identifier", "device_id", pl.format("dev-{}", "user_id"), "exact:device_id"),
        )
    ] + [order_rows.select(pl.format("C-{}", "user_id").alias("customer_id"), pl.lit("record").alias("link_type"),
                           pl.lit("orders").alias("kind"), pl.format("shopsphere:{}", "source_id").alias("value"),
                           pl.lit("component").alias("rule"))])  # fmt: skip
    write.append(lake.table(tables.IDENTITY_LINKS), links.with_columns(pl.lit("b").alias("build_id")).to_arrow())


def files_holding_subject(lake: Lake) -> tuple[int, int]:
    """(data files holding one of the subject's rows, data files in all tables), read file by file."""
    values = [f"person{SUBJECT}@example.com", f"dev-{SUBJECT}", f"C-{SUBJECT}", str(SUBJECT)]
    in_payload = f'"user_id": {SUBJECT},'
    holding = total = 0
    for definition in tables.ALL_TABLES:
        for path in lake.table(definition).inspect.files().column("file_path").to_pylist():
            total += 1
            rows = pl.DataFrame(pq.read_table(path.removeprefix("file://")))
            theirs = [pl.col(c) == SUBJECT for c in ("user_id",) if c in rows.columns]
            theirs += [pl.col(c).is_in(values) for c, t in rows.schema.items() if t == pl.String]
            theirs += [pl.col(c).str.contains(in_payload, literal=True) for c in ("payload",) if c in rows.columns]
            holding += bool(theirs) and bool(rows.select(pl.any_horizontal(theirs).any()).item())
    return holding, total


def run_once(events: int, orders: int) -> dict[str, float]:
    """One fresh lake: fill it, count the subject's files, erase, verify."""
    with tempfile.TemporaryDirectory(prefix="c360-erasure-bench-") as tmp:
        settings = load_settings(home=Path(tmp))
        with Lake.open(settings.catalog) as lake:
            lake.create()
            started = time.perf_counter()
            fill(lake, events=events, orders=orders)
            filled = time.perf_counter() - started
            holding, total = files_holding_subject(lake)
            marks = [time.perf_counter()]
            subject = find_subject(lake, [f"C-{SUBJECT}"])
            marks.append(time.perf_counter())
            mark_tables(lake, request_id="bench")
            marks.append(time.perf_counter())
            subject = subject.union(find_subject(lake, [f"C-{SUBJECT}"]))
            marks.append(time.perf_counter())
            receipts = delete_rows(lake, subject, request_id="bench")
            marks.append(time.perf_counter())
            purge_history(lake, receipts, min_age_seconds=0)  # nothing else writes to this lake
            marks.append(time.perf_counter())
            report = verify(lake, subject, receipts)
            marks.append(time.perf_counter())
            steps = {f"{name}_seconds": b - a for name, a, b in zip(STEPS, marks, marks[1:], strict=False)}
            seconds = marks[-1] - marks[0]
        rewritten = sum(t.files_rewritten for t in report.tables)
        return {
            "fill_seconds": filled, "seconds": seconds, **steps, "files_rewritten": rewritten,
            "files_holding_subject": holding, "data_files": total,
            "rows_deleted": sum(t.rows_deleted for t in report.tables), "verified": float(report.verified),
        }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    figure(f"events: {args.events}")
    figure(f"orders: {args.orders}")
    runs = []
    for run in range(1, args.runs + 1):
        result = run_once(args.events, args.orders)
        runs.append(result)
        for name, value in result.items():
            figure(f"run{run}_{name}: {value:.2f}" if name.endswith("seconds") else f"run{run}_{name}: {value:g}")
    for name in runs[0]:
        value = statistics.median(r[name] for r in runs)
        figure(f"{name}: {value:.2f}" if name.endswith("seconds") else f"{name}: {value:g}")
    ratios = [r["files_rewritten"] / r["files_holding_subject"] for r in runs if r["files_holding_subject"]]
    figure(f"rewritten_ratio: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
