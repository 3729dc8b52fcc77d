"""`c360 identity`: resolve any file of person records into customers, outside the lakehouse."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from commands.common import console, migrated_store, settings
from core.errors import C360Error, InvalidInputError, NotFoundError

if TYPE_CHECKING:
    import networkx as nx

    from identity.graph import Node

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
    from identity.job import engine_options
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
            build_id="file",
            match_threshold=threshold if threshold is not None else options.match_threshold,
            **engine_options(options),
        )
    result = assignments(records, resolution.membership)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    result.write_csv(output_path)
    console.print(
        f"{len(result):,} records -> {result['customer_id'].n_unique():,} customers "
        f"({len(resolution.linkage.matches):,} probabilistic links kept, {len(resolution.cuts):,} links cut, "
        f"{len(resolution.untrusted):,} identifiers set aside) in {time.perf_counter() - started:.1f} s"
    )
    console.print(f"written to {output_path}")


NODE_HELP = "record:SOURCE:KEY (record:users:42) or an identifier as typed (email:Ann@Example.com, phone:...)"


@identity_app.command("explain")
def identity_explain(node: Annotated[str, typer.Argument(help=NODE_HELP)]) -> None:
    """Print, as JSON, the graph of the customer holding a record or identifier (last build), every edge's rule."""
    from identity.explain import component_json

    graph, start = _customer_graph(node)
    sys.stdout.write(json.dumps(component_json(graph, start), indent=2) + "\n")


@identity_app.command("why")
def identity_why(
    a: Annotated[str, typer.Argument(help=NODE_HELP)], b: Annotated[str, typer.Argument(help=NODE_HELP)]
) -> None:
    """Print, as JSON, the strongest chain of evidence linking two records or identifiers of one customer."""
    from identity.explain import evidence_path, parse_node

    graph, start = _customer_graph(a)
    try:
        path = evidence_path(graph, start, parse_node(b, default_region=settings().identity.default_region))
    except C360Error as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    sys.stdout.write(json.dumps(path, indent=2) + "\n")


def _customer_graph(text: str) -> tuple[nx.Graph, Node]:
    """The graph of the customer holding the node `text` names, read from `gold.identity_evidence`."""
    from identity.explain import parse_node
    from identity.job import customer_evidence
    from identity.state import linkage_of
    from lakehouse.lake import Lake

    config = settings()
    try:
        node = parse_node(text, default_region=config.identity.default_region)
        with Lake.open(config.catalog) as lake:
            evidence = customer_evidence(lake, node)
    except C360Error as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    return linkage_of(evidence).networkx(), node


override_app = typer.Typer(
    help="Manual must-link and cannot-link decisions, applied on every build.", no_args_is_help=True
)
identity_app.add_typer(override_app, name="override")


@override_app.command("add")
def override_add(
    rule: Annotated[str, typer.Argument(help="must_link or cannot_link")],
    left_record: Annotated[str, typer.Argument(help="a record id, e.g. users:42")],
    right_record: Annotated[str, typer.Argument(help="another record id, e.g. orders:pos:100731")],
    reason: Annotated[str, typer.Option(help="why, for whoever reads the merge log")] = "",
) -> None:
    """Record that two records are one person (must_link) or two (cannot_link); the next build applies it."""
    from identity.overrides import create

    with migrated_store() as session:
        try:
            override = create(session, rule=rule, left_record=left_record, right_record=right_record, reason=reason)
        except InvalidInputError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        console.print(f"override {override.id}: {override.rule} {override.left_record} {override.right_record}")


@override_app.command("list")
def override_list() -> None:
    """Every override in force."""
    from identity.overrides import list_overrides

    with migrated_store() as session:
        table = Table(title="identity overrides")
        for column in ("id", "rule", "left", "right", "reason", "created"):
            table.add_column(column)
        for o in list_overrides(session):
            table.add_row(str(o.id), o.rule, o.left_record, o.right_record, o.reason, f"{o.created_at:%Y-%m-%d %H:%M}")
        console.print(table)


@override_app.command("remove")
def override_remove(override_id: Annotated[int, typer.Argument(help="the id `list` shows")]) -> None:
    """Forget an override; the next build no longer applies it."""
    from identity.overrides import delete

    with migrated_store() as session:
        try:
            delete(session, override_id=override_id)
        except NotFoundError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    console.print(f"override {override_id} removed")
