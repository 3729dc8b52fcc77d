"""Benchmark: resolving a million identity records, time and peak memory.

The records are `c360 generate` data (default 135,000 persons: accounts, web and till orders,
marketplace documents and (device, account) sessions from the events, about 1,030,000 records),
written once as contract records to Parquet. Each run is a fresh process that reads them,
normalises the identifiers and resolves all but the latest 10,000 unnamed ones (orders and
device sessions), so its peak RSS is resolution's alone (the generator's memory is not counted).
Printed: records, seconds and peak RSS of each run, their medians, and each median over its
target (60 s, 4 GB); then the next build's incremental path: the oldest 100 of those records,
the oldest 1,000, then all 10,000, each attached to the resolution read back from its evidence
(or why they cannot be), in seconds and over the full resolution's (peak RSS is the full one's,
measured before).

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
from identity.incremental import Declined, attach, merged  # noqa: E402
from identity.records import identifiers  # noqa: E402
from identity.resolve import Resolution, resolve  # noqa: E402
from identity.state import evidence_frame, restore  # noqa: E402
from sample_data.generate import generate  # noqa: E402

REGION = "US"
TARGET_SECONDS = 60.0
TARGET_RSS_GB = 4.0
ATTACH_BATCHES = (100, 1_000, 10_000)  # the latest unnamed records, oldest first


def resolve_once(path: Path) -> dict[str, float | str]:
    """Normalise and resolve the records but the latest unnamed ones; seconds from read to customers, peak RSS.

    Then the next build's way with those latest ones (see `attach_once`).
    """
    everything = pl.read_parquet(path)
    unnamed = everything.filter(pl.col("first_name").is_null() & pl.col("last_name").is_null())
    latest = unnamed.sort("seen_at", "record_id").tail(max(ATTACH_BATCHES))
    records = everything.join(latest.select("record_id"), on="record_id", how="anti")
    started = time.perf_counter()
    found = identifiers(records, default_region=REGION)
    resolution = resolve(records, found, max_people=3, default_region=REGION, build_id="bench")
    seconds = time.perf_counter() - started
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # Linux reports KiB
    result: dict[str, float | str] = {
        "records": len(records),
        "customers": len(resolution.customers),
        "seconds": seconds,
        "peak_gb": peak_gb,
    }
    for size in ATTACH_BATCHES:
        outcome, attach_seconds = attach_once(records, found, resolution, latest.head(size))
        result[f"attach_{size}"], result[f"attach_{size}_seconds"] = outcome, attach_seconds
    return result


def attach_once(
    records: pl.DataFrame, found: pl.DataFrame, resolution: Resolution, new: pl.DataFrame
) -> tuple[str, float]:
    """What became of the new records, attached to the resolution read back from its evidence, and the seconds.

    The answer is the records attached, or why the batch needs a full recompute. Timed from the
    evidence frame (what a build reads back) to the merged resolution.
    """
    evidence = evidence_frame(resolution, records)
    started = time.perf_counter()
    previous = restore(customers=resolution.customers, links=resolution.links, evidence=evidence)
    fresh = identifiers(new, default_region=REGION)
    attachment = attach(previous, records, found, new, fresh, max_people=3, default_region=REGION, build_id="next")
    if isinstance(attachment, Declined):
        return attachment.reason, time.perf_counter() - started
    merged(previous, attachment, records, found, new, fresh, build_id="next")
    return f"{len(attachment.membership)} of {len(new)} records joined a customer", time.perf_counter() - started


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
            for size in ATTACH_BATCHES:
                sys.stdout.write(f"run{run}_attach_{size}_seconds: {result[f'attach_{size}_seconds']:.1f}\n")
                sys.stdout.write(f"run{run}_attach_{size}: {result[f'attach_{size}']}\n")
            sys.stdout.flush()
    seconds = statistics.median(r["seconds"] for r in runs)
    peak = statistics.median(r["peak_gb"] for r in runs)
    lines = [
        f"records: {int(runs[0]['records'])}",
        f"customers: {int(runs[0]['customers'])}",
        f"seconds: {seconds:.1f}",
        f"peak_rss_gb: {peak:.2f}",
        f"seconds_to_target_ratio: {seconds / TARGET_SECONDS:.2f}",
        f"peak_rss_to_target_ratio: {peak / TARGET_RSS_GB:.2f}",
    ]
    for size in ATTACH_BATCHES:
        attach_seconds = statistics.median(float(r[f"attach_{size}_seconds"]) for r in runs)
        lines += [
            f"attach_{size}_seconds: {attach_seconds:.1f}",
            f"attach_{size}_to_full_ratio: {attach_seconds / seconds:.2f}",
        ]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
