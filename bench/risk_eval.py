"""Benchmark: risk scores against the generator's injected fraud, ours and a trivial baseline in the same run.

Generates `c360 generate` data (default 20,000 persons) into a temporary folder, runs the main job on it
(the files, no Kafka, a temporary C360_HOME), which scores risk as part of the gold build, then scores
that build again to time the risk job alone. A customer is positive for a pattern when one of its
records carries that label in truth/fraud.csv (`risk.evaluate.labelled_customers`). Printed as
`name: value` lines: customers, positives (and per pattern), roc_auc, precision_at_1pct, per pattern
the recall in the top 1% and at score >= 50 (REVIEW_SCORE), the same for the baseline (lifetime value:
big spenders first), auc_ratio (ours over the baseline's), and seconds (the risk job; generation and
the pipeline beside it). Ties across the top-1% cut share its places evenly.

Run: `python bench/risk_eval.py [--customers 20000] [--seed 7]`.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import Settings, load_settings  # noqa: E402
from identity.attribution import attribute_events  # noqa: E402
from lakehouse.lake import Lake  # noqa: E402
from lakehouse.query import read_polars  # noqa: E402
from pipeline import run_pipeline  # noqa: E402
from risk.evaluate import TOP_FRACTION, labelled_customers, roc_auc, top_count  # noqa: E402
from risk.job import RiskReport, score_current_build  # noqa: E402
from risk.score import REVIEW_SCORE  # noqa: E402
from sample_data.fraud import PATTERNS  # noqa: E402
from sample_data.generate import generate  # noqa: E402
from schema import lake as tables  # noqa: E402


def scored(lake: Lake, report: RiskReport, fraud_truth: Path) -> pl.DataFrame:
    """Each customer's score of this scoring, lifetime value (the baseline) and label patterns."""
    scores = read_polars(lake.table(tables.RISK_SCORES), columns=("customer_id", "score", "scored_at"))
    scores = scores.filter(pl.col("scored_at") == report.scored_at).drop("scored_at")
    metrics = read_polars(lake.table(tables.CUSTOMER_METRICS), columns=("customer_id", "lifetime_value"))
    links = read_polars(
        lake.table(tables.IDENTITY_LINKS), columns=("customer_id", "link_type", "kind", "value", "rule")
    )
    events = read_polars(lake.table(tables.EVENTS), columns=("event_id", "device_id", "user_id")).rechunk()
    labels = labelled_customers(
        pl.read_csv(fraud_truth, infer_schema=False),
        record_links=links.filter(pl.col("link_type") == "record"),
        orders=read_polars(lake.table(tables.ORDERS), columns=("order_id", "source", "platform", "source_order_id")),
        marketplace_orders=read_polars(
            lake.table(tables.MARKETPLACE_ORDERS), columns=("doc_id", "platform", "marketplace_order_id")
        ),
        events=attribute_events(events, links.filter(pl.col("link_type") == "identifier")),
    )
    patterns = labels.group_by("customer_id").agg(pl.col("pattern"))
    frame = scores.join(metrics, on="customer_id", how="left").join(patterns, on="customer_id", how="left")
    return frame.with_columns(
        pl.col("lifetime_value").cast(pl.Float64).fill_null(0.0),
        pl.col("pattern").fill_null(pl.lit([], pl.List(pl.String))),
    )


def figures(frame: pl.DataFrame, column: str, prefix: str) -> tuple[list[str], float]:
    """`name: value` lines of one ranking (ours or the baseline's) and its ROC AUC."""
    scores, positive = frame[column], frame["pattern"].list.len() > 0
    auc = roc_auc(scores, positive)
    places = math.ceil(len(frame) * TOP_FRACTION)
    lines = [f"{prefix}roc_auc: {auc:.4f}", f"{prefix}precision_at_1pct: {top_count(scores, positive) / places:.4f}"]
    for pattern in PATTERNS:
        members = frame["pattern"].list.contains(pattern)
        total = max(int(members.sum()), 1)
        lines.append(f"{prefix}recall_at_1pct_{pattern}: {top_count(scores, members) / total:.4f}")
        if column == "score":
            reviewed = int((members & (scores >= REVIEW_SCORE)).sum())
            lines.append(f"{prefix}recall_at_{REVIEW_SCORE}_{pattern}: {reviewed / total:.4f}")
    return lines, auc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="c360-bench-risk-") as work:
        source = Path(work) / "generated"
        started = time.perf_counter()
        generate(source, customers=args.customers, seed=args.seed)
        generated = time.perf_counter()
        settings: Settings = load_settings(home=Path(work) / "c360")
        run_pipeline(settings, source, now=datetime.now(UTC))
        piped = time.perf_counter()
        with Lake.open(settings.catalog) as lake:
            report = score_current_build(lake, settings.risk, now=datetime.now(UTC))
            risk_seconds = time.perf_counter() - piped
            frame = scored(lake, report, source / "truth" / "fraud.csv")
    ours, auc = figures(frame, "score", "")
    baseline, baseline_auc = figures(frame, "lifetime_value", "baseline_")
    positive = frame["pattern"].list.len() > 0
    flagged = frame["score"] >= REVIEW_SCORE
    lines = [
        f"customers: {len(frame)}",
        f"positives: {int(positive.sum())}",
        *[f"positives_{p}: {int(frame['pattern'].list.contains(p).sum())}" for p in PATTERNS],
        *ours,
        f"flagged_at_{REVIEW_SCORE}: {int(flagged.sum())}",
        f"precision_at_{REVIEW_SCORE}: {int((flagged & positive).sum()) / max(int(flagged.sum()), 1):.4f}",
        *baseline,
        f"auc_ratio: {auc / baseline_auc:.2f}",
        f"seconds: {risk_seconds:.2f}",
        f"seconds_generate: {generated - started:.1f}",
        f"seconds_pipeline: {piped - generated:.1f}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
