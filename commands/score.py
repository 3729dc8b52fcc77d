"""`c360 score`: score every customer of the current gold build again, appending to `gold.risk_scores`
and serving the new scores."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import typer
from rich.table import Table

from commands.common import console, settings
from core.errors import C360Error

TOP = 10


def score() -> None:
    """Score the last gold build's customers again with the current risk settings and show the riskiest."""
    from core.db import make_engine
    from lakehouse.lake import Lake
    from lakehouse.query import equal_to, read_polars
    from profiles.projection import project_risk, risk_rows
    from risk.job import score_current_build
    from risk.score import REVIEW_SCORE
    from schema import lake as tables

    config = settings()
    try:
        with Lake.open(config.catalog) as lake, console.status("scoring"):
            report = score_current_build(lake, config.risk, now=datetime.now(UTC))
            build = read_polars(lake.table(tables.RISK_SCORES), row_filter=equal_to(build_id=report.build_id))
        engine = make_engine(str(config.store.url))
        try:
            project_risk(engine, risk_rows(build))
        finally:
            engine.dispose()
    except C360Error as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    flagged = f"{report.flagged:,} at {REVIEW_SCORE} or more"
    console.print(f"scored {report.customers:,} customers of build {report.build_id}: {flagged}")
    latest = build.filter(pl.col("scored_at") == report.scored_at)
    console.print(_riskiest(latest.sort(["score", "customer_id"], descending=[True, False]).head(TOP)))


def _riskiest(rows: pl.DataFrame) -> Table:
    """Customer ids (no PII), scores and reason codes of the top of this scoring."""
    table = Table(title=f"the {TOP} highest scores")
    for column in ("customer", "score", "reasons"):
        table.add_column(column, justify="right" if column == "score" else "left")
    for customer_id, points, reasons in rows.select("customer_id", "score", "reasons").iter_rows():
        codes = ", ".join(f"{r['code']} +{r['contribution']}" for r in json.loads(reasons))
        table.add_row(customer_id, str(points), codes)
    return table
