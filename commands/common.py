"""What the command-line modules share: the console, settings loading, load reports."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from core.config import Settings, load_settings
from core.errors import C360Error
from core.logging import configure_logging
from ingest.landing import BatchCounts
from ingest.worker import EntityRun

console = Console(stderr=True)


def settings() -> Settings:
    try:
        settings = load_settings()
    except C360Error as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level)
    return settings


def batch_line(counts: BatchCounts, seconds: float) -> None:
    rate = counts.read / seconds if seconds > 0 else 0.0
    console.print(
        f"  {counts.entity}: read {counts.read}, written {counts.written}, "
        f"quarantined {counts.quarantined} ({rate:,.0f} rows/s)"
    )


def print_load(runs: list[EntityRun]) -> None:
    table = Table(title="landed and conformed")
    for column in ("entity", "read", "written", "quarantined", "conformed in", "refused by the model"):
        table.add_column(column, justify="left" if column == "entity" else "right")
    for run in runs:
        landed = [sum(getattr(b, c) for b in run.batches) for c in ("read", "written", "quarantined")]
        conformed = [sum(r.rows_in for r in run.conformed), sum(r.rows_rejected for r in run.conformed)]
        table.add_row(run.entity, *(str(n) for n in landed + conformed))
    console.print(table)
