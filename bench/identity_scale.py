"""Benchmark: resolving a million identity records, time and peak memory.

The records are `c360 generate` data (default 135,000 persons: accounts, web and till orders,
marketplace documents and (device, account) sessions from the events, about 1,030,000 records),
written once as contract records to Parquet. Each run is a fresh process that reads them,
normalises the identifiers and resolves them, so its peak RSS is resolution's alone (the
generator's memory is not counted). Printed: records, seconds and peak RSS of each run, their
medians, and each median over its target (60 s, 4 GB); then the next build's incremental path,
10,000 new orders attached to the resolution read back from its evidence, in seconds and over the
full resolution's (peak RSS is the full resolution's, measured before the attach).

Run: `python bench/identity_scale.py [--persons 135000] [--runs 3]`.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import identity_inputs  # noqa: E402

from identity.contract import contract_records  # noqa: E402
from identity.incremental import attach, merged  # noqa: E402
from identity.records import identifiers  # noqa: E402
from identity.resolve import Resolution, resolve  # noqa: E402
from identity.state import evidence_frame, restore  # noqa: E402
from sample_data.generate import generate  # noqa: E402

REGION = "US"
TARGET_SECONDS = 60.0
TARGET_RSS_GB = 4.0
ATTACHED_ORDERS = 10_000


def resolve_once(path: Path) -> dict[str, float]:
    """Read the records, normalise and resolve them; seconds from read to customers, and peak RSS.

    Then the next build's way: the resolution read back from its evidence and a day of repeat web
    orders attached to it (see `attach_once`).
    """
    records = pl.read_parquet(path)
    started = time.perf_counter()
    found = identifiers(records, default_region=REGION)
    resolution = resolve(records, found, max_people=3, default_region=REGION, build_id="bench")
    seconds = time.perf_counter() - started
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # Linux reports KiB
    attached, attach_seconds = attach_once(records, found, resolution)
    return {
        "records": len(records),
        "customers": len(resolution.customers),
        "seconds": seconds,
        "peak_gb": peak_gb,
        "attached": attached,
        "attach_seconds": attach_seconds,
    }


def attach_once(records: pl.DataFrame, found: pl.DataFrame, resolution: Resolution) -> tuple[int, float]:
    """Records attached and seconds for ATTACHED_ORDERS new orders of known accounts (each a web order again).

    Timed from the evidence frame to the merged resolution: restore, normalise the new orders, attach, merge.
    """
    evidence = evidence_frame(resolution, records)
    web = records.filter((pl.col("source") == "web") & pl.col("user_id").is_not_null()).head(ATTACHED_ORDERS)
    new = web.with_columns(pl.concat_str(pl.col("record_id"), pl.lit(":again")).alias("record_id"))
    started = time.perf_counter()
    previous = restore(
        records, found, customers=resolution.customers, links=resolution.links, evidence=evidence,
        max_people=3, default_region=REGION,
    )  # fmt: skip
    fresh = identifiers(new, default_region=REGION)
    attachment = attach(previous, records, found, new, fresh, max_people=3, default_region=REGION, build_id="next")
    if attachment is None:
        return 0, time.perf_counter() - started
    merged(previous, attachment, new, fresh, build_id="next")
    return len(attachment.membership), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=135_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--resolve", type=Path, help=argparse.SUPPRESS)  # one run, in a child process
    args = parser.parse_args()
    if args.resolve:
        sys.stdout.write(json.dumps(resolve_once(args.resolve)) + "\n")
        return
    with tempfile.TemporaryDirectory(prefix="c360-bench-scale-") as work:
        folder, path = Path(work) / "generated", Path(work) / "records.parquet"
        generate(folder, customers=args.persons, seed=7)
        raw, _ = identity_inputs.generated(folder)
        contract_records(raw, origin="generated").write_parquet(path)
        del raw
        runs = []
        for run in range(1, args.runs + 1):
            child = subprocess.run(
                [sys.executable, __file__, "--resolve", str(path)], check=True, capture_output=True, text=True
            )
            result = json.loads(child.stdout.splitlines()[-1])
            runs.append(result)
            sys.stdout.write(f"run{run}_seconds: {result['seconds']:.1f}\n")
            sys.stdout.write(f"run{run}_peak_rss_gb: {result['peak_gb']:.2f}\n")
            sys.stdout.write(f"run{run}_attach_seconds: {result['attach_seconds']:.1f}\n")
            sys.stdout.flush()
    seconds = statistics.median(r["seconds"] for r in runs)
    peak = statistics.median(r["peak_gb"] for r in runs)
    attach_seconds = statistics.median(r["attach_seconds"] for r in runs)
    lines = [
        f"records: {int(runs[0]['records'])}",
        f"customers: {int(runs[0]['customers'])}",
        f"seconds: {seconds:.1f}",
        f"peak_rss_gb: {peak:.2f}",
        f"seconds_to_target_ratio: {seconds / TARGET_SECONDS:.2f}",
        f"peak_rss_to_target_ratio: {peak / TARGET_RSS_GB:.2f}",
        f"attached_records: {int(runs[0]['attached'])}",
        f"attach_seconds: {attach_seconds:.1f}",
        f"attach_to_full_ratio: {attach_seconds / seconds:.2f}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
