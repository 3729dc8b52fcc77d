"""What the command-line modules share: the console, settings loading, load reports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel import Session

from core.config import Settings, load_settings
from core.db import make_engine
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


@contextmanager
def store_session(url: str) -> Iterator[Session]:
    """A session on the operational store at `url`; its engine is disposed afterwards."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


@contextmanager
def migrated_store() -> Iterator[Session]:
    """A session on the configured operational store, migrated first (it may be the first thing it holds)."""
    from migrations import upgrade_head

    url = str(settings().store.url)
    upgrade_head(url)
    with store_session(url) as session:
        yield session


@contextmanager
def batch_progress() -> Iterator[Callable[[BatchCounts, float], None]]:
    """Per-batch reporting: a live progress bar with rows/s on a terminal; elsewhere the structured
    `landed ...` log lines the worker writes already say the same, so nothing more is printed."""
    if not console.is_terminal:
        yield lambda _counts, _seconds: None
        return
    columns = (
        TextColumn("{task.description:<20}"),
        TextColumn("{task.completed:>10,.0f} rows"),
        TextColumn("{task.fields[rate]:>10,.0f} rows/s"),
        TextColumn("{task.fields[quarantined]:>6} quarantined"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        tasks: dict[str, TaskID] = {}

        def update(counts: BatchCounts, seconds: float) -> None:
            if counts.entity not in tasks:
                tasks[counts.entity] = progress.add_task(counts.entity, total=None, rate=0.0, quarantined=0, busy=0.0)
            task = progress.tasks[tasks[counts.entity]]
            busy = task.fields["busy"] + seconds
            done = task.completed + counts.read
            progress.update(
                task.id, completed=done, rate=done / max(busy, 1e-6), busy=busy,
                quarantined=task.fields["quarantined"] + counts.quarantined,
            )  # fmt: skip

        yield update


def print_load(runs: list[EntityRun]) -> None:
    table = Table(title="landed and conformed")
    for column in ("entity", "read", "written", "quarantined", "suppressed", "conformed in", "refused by the model"):
        table.add_column(column, justify="left" if column == "entity" else "right")
    for run in runs:
        landed = [sum(getattr(b, c) for b in run.batches) for c in ("read", "written", "quarantined", "suppressed")]
        conformed = [sum(r.rows_in for r in run.conformed), sum(r.rows_rejected for r in run.conformed)]
        table.add_row(run.entity, *(str(n) for n in landed + conformed))
    console.print(table)


def parse_interval(text: str) -> float:
    """'30s', '5m', '1h' or plain seconds -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    try:
        seconds = float(number) * units[unit]
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not an interval like 30s, 5m or 1h") from exc
    if seconds <= 0:
        raise typer.BadParameter("the interval must be positive")
    return seconds
