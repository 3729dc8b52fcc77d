"""`c360 quarantine`: look at what could not be loaded, and replay it after a fix."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from commands.common import console, settings

quarantine_app = typer.Typer(help="Records that could not be loaded.", no_args_is_help=True)


@quarantine_app.command("list")
def quarantine_list(
    entity: Annotated[str | None, typer.Option(help="only this entity (table name)")] = None,
    reason: Annotated[str | None, typer.Option(help="only this reason code")] = None,
    all_records: Annotated[bool, typer.Option("--all", help="replayed ones too")] = False,
    limit: Annotated[int, typer.Option(min=1)] = 50,
    show_payload: Annotated[bool, typer.Option(help="print the records themselves (personal data)")] = False,
) -> None:
    """List quarantined records: where they came from, why, and whether a replay loaded them."""
    import polars as pl

    from lakehouse.lake import Lake
    from lakehouse.query import read_polars
    from schema.lake import QUARANTINE

    config = settings()
    with Lake.open(config.catalog) as lake:
        frame = read_polars(lake.table(QUARANTINE)).sort("quarantined_at", descending=True)
    filters = [(entity, "entity"), (reason, "reason_code"), (None if all_records else "open", "status")]
    for value, column in filters:
        if value is not None:
            frame = frame.filter(pl.col(column) == value)
    table = Table(title=f"quarantine ({len(frame)} records)")
    columns = ["entity", "reason_code", "column_name", "source_position", "batch_id", "status", "message"]
    for column in columns + (["payload"] if show_payload else []):
        table.add_column(column)
    for row in frame.head(limit).iter_rows(named=True):
        table.add_row(*(str(row[c] or "") for c in columns + (["payload"] if show_payload else [])))
    console.print(table)


@quarantine_app.command("replay")
def quarantine_replay(
    entity: Annotated[str | None, typer.Option(help="only this entity (table name)")] = None,
    reason: Annotated[str | None, typer.Option(help="only this reason code")] = None,
) -> None:
    """Load open quarantined records again with the current code; those that load are marked replayed."""
    from datetime import UTC, datetime

    from ingest.model import ConformEnv
    from ingest.replay import replay
    from ingest.worker import product_catalogue
    from lakehouse.lake import Lake

    config = settings()
    with Lake.open(config.catalog) as lake:
        lake.create()
        env = ConformEnv(now=datetime.now(UTC), catalogue=lambda: product_catalogue(lake))
        report = replay(lake, env, entity=entity, reason=reason)
    console.print(
        f"replayed {report.replayed}; still refused {report.still_refused}; "
        f"fix at the source and re-run: {report.not_replayable}"
    )
