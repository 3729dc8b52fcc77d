"""`c360 maintain`: compaction and snapshot expiry, safe to run while the workers write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from commands.common import console, parse_interval, settings
from schema.lake import ALL_TABLES, table_by_name
from schema.model import TableDef

maintain_app = typer.Typer(help="Table maintenance: small files and old snapshots.", no_args_is_help=True)
TableOption = Annotated[
    list[str] | None, typer.Option("--table", help="e.g. conformed.events; repeatable; default all")
]


@maintain_app.command("compact")
def maintain_compact(
    tables: TableOption = None,
    partition: Annotated[str | None, typer.Option(help="only this partition, e.g. event_ts_day=2026-11-27")] = None,
    target_mb: Annotated[int | None, typer.Option(min=1, help="target file size (default: the table's)")] = None,
    min_files: Annotated[int, typer.Option(min=2, help="rewrite a partition from this many small files")] = 2,
) -> None:
    """Rewrite each partition's small files into target-size files, sorted by the table's sort order."""
    from lakehouse.compaction import compact
    from lakehouse.lake import Lake

    config = settings()
    target = target_mb * 1024 * 1024 if target_mb else None
    with Lake.open(config.catalog) as lake:
        for definition in _chosen(tables):
            result = compact(lake.table(definition), target_file_bytes=target, min_files=min_files, partition=partition)
            if result.partitions:
                console.print(
                    f"{result.table}: {result.files_removed} files -> {result.files_added} in "
                    f"{result.partitions} partition(s), {result.rows:,} rows"
                )
            else:
                console.print(f"{result.table}: nothing to compact")


@maintain_app.command("expire")
def maintain_expire(
    tables: TableOption = None,
    older_than: Annotated[str, typer.Option(help="expire snapshots older than this, e.g. 7d, 12h, 30m")] = "7d",
    retain_last: Annotated[int, typer.Option(min=1, help="always keep this many newest snapshots")] = 10,
    min_file_age: Annotated[str, typer.Option(help="never delete files younger than this (commits in flight)")] = "1h",
) -> None:
    """Expire old snapshots and delete the files no remaining snapshot references."""
    from lakehouse.lake import Lake
    from lakehouse.maintenance import expire_and_sweep

    config = settings()
    cutoff = datetime.now(UTC) - timedelta(seconds=_days_or_interval(older_than))
    with Lake.open(config.catalog) as lake:
        for definition in _chosen(tables):
            result = expire_and_sweep(
                lake.table(definition), older_than=cutoff, retain_last=retain_last,
                min_age_seconds=_days_or_interval(min_file_age),
            )  # fmt: skip
            console.print(
                f"{result.table}: {result.snapshots_expired} snapshot(s) expired, "
                f"{result.files_deleted} file(s) deleted ({result.bytes_deleted / 1e6:.1f} MB)"
            )


def _chosen(names: list[str] | None) -> list[TableDef]:
    try:
        return [table_by_name(name) for name in names] if names else list(ALL_TABLES)
    except KeyError as exc:
        console.print(f"[red]error:[/red] {exc.args[0]}")
        raise typer.Exit(2) from exc


def _days_or_interval(text: str) -> float:
    """'7d' or anything parse_interval takes, in seconds."""
    if text.endswith("d"):
        return parse_interval(text[:-1]) * 86400
    return parse_interval(text)
