"""`c360 identity`: resolve any file of person records into customers, outside the lakehouse."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated

import typer

from commands.common import console, settings
from core.errors import InvalidInputError

identity_app = typer.Typer(help="Identity resolution.", no_args_is_help=True)
logger = logging.getLogger(__name__)


@identity_app.command("resolve")
def identity_resolve(
    input_path: Annotated[Path, typer.Option("--input", help="records: .csv or .parquet with a record_id column")],
    output_path: Annotated[Path, typer.Option("--output", help="where to write record_id,customer_id,confidence")],
    threshold: Annotated[
        float | None, typer.Option(min=0.5, max=0.999999, help="match probability to link (default from settings)")
    ] = None,
) -> None:
    """Resolve the records of a file into customers and write one line per record."""
    from identity.contract import assignments, read_input
    from identity.records import identifiers
    from identity.resolve import resolve

    options = settings().identity
    started = time.perf_counter()
    with console.status("reading and normalising records"):
        try:
            records = read_input(input_path)
        except InvalidInputError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        found = identifiers(records, default_region=options.default_region)
    with console.status(f"resolving {len(records):,} records"):
        resolution = resolve(
            records,
            found,
            max_people=options.junk_max_people,
            default_region=options.default_region,
            build_id="file",
            match_threshold=threshold if threshold is not None else options.match_threshold,
            limits=options.per_customer_limits,
        )
    result = assignments(records, resolution.membership)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    result.write_csv(output_path)
    console.print(
        f"{len(result):,} records -> {result['customer_id'].n_unique():,} customers "
        f"({len(resolution.matches):,} probabilistic links, {len(resolution.cuts):,} links cut, "
        f"{len(resolution.untrusted):,} identifiers set aside) in {time.perf_counter() - started:.1f} s"
    )
    console.print(f"written to {output_path}")
