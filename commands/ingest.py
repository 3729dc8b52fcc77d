"""`c360 ingest`: the workers that bring PostgreSQL, MongoDB and export files into the lakehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from commands.common import batch_progress, console, parse_interval, print_load, settings
from core.config import Settings
from core.errors import C360Error

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data"

ingest_app = typer.Typer(help="Workers that bring the source systems into the lakehouse.", no_args_is_help=True)
OnceOption = Annotated[bool, typer.Option("--once", help="one pass over the source, then exit")]
EveryOption = Annotated[str | None, typer.Option("--every", help="run repeatedly, e.g. 30s, 5m, 1h")]
ReconcileOption = Annotated[bool, typer.Option(help="also find rows deleted from the source (a full key scan)")]
BatchOption = Annotated[int, typer.Option(min=1, help="rows per batch (one raw commit each)")]


@ingest_app.command("postgres")
def ingest_postgres(
    once: OnceOption = False,
    every: EveryOption = None,
    reconcile: ReconcileOption = False,
    batch_rows: BatchOption = 200_000,
) -> None:
    """Incrementally copy users, orders, order lines, inventory, products and stores from C360_POSTGRES__URL."""
    from ingest.entities import POSTGRES_ENTITIES
    from ingest.sources.postgres import PostgresSource

    config = settings()
    url = _required(config.postgres.url, "C360_POSTGRES__URL")
    with PostgresSource(url) as source:
        _run_worker(config, source, POSTGRES_ENTITIES, once, every, reconcile, batch_rows)


@ingest_app.command("mongo")
def ingest_mongo(
    once: OnceOption = False,
    every: EveryOption = None,
    reconcile: ReconcileOption = False,
    batch_rows: BatchOption = 5_000,
) -> None:
    """Incrementally copy marketplace orders from C360_MONGO__URL (documents need a BSON updated_at)."""
    from ingest.entities import MARKETPLACE_ORDERS
    from ingest.sources.mongo import MongoSource

    config = settings()
    url = _required(config.mongo.url, "C360_MONGO__URL")
    with MongoSource(url, config.mongo.database, config.mongo.collection) as source:
        _run_worker(config, source, (MARKETPLACE_ORDERS,), once, every, reconcile, batch_rows)


@ingest_app.command("files")
def ingest_files(directory: Annotated[Path, typer.Argument(help="folder of exports")] = SAMPLE_DIR) -> None:
    """Land a folder of exports (users.csv, ..., marketplace_orders.jsonl, events.jsonl) once."""
    from ingest.entities import ALL_ENTITIES
    from ingest.sources.files import FileSource

    config = settings()
    _run_worker(config, FileSource(directory), ALL_ENTITIES, True, None, False, 1_000_000)


def _required(value: str | None, variable: str) -> str:
    if not value:
        console.print(f"[red]error:[/red] set {variable} to the source's URL")
        raise typer.Exit(2)
    return value


def _run_worker(
    settings: Settings, source: object, entities: tuple[object, ...], once: bool, every: str | None,
    reconcile: bool, batch_rows: int,
) -> None:  # fmt: skip
    """Run a worker once or every interval, stopping cleanly on SIGTERM/SIGINT after the batch in hand."""
    import signal

    from core.db import make_engine
    from ingest.worker import Worker
    from lakehouse.lake import Lake
    from migrations import upgrade_head
    from pipeline import store_suppressor

    if once == (every is not None):
        console.print("[red]error:[/red] give exactly one of --once or --every <interval>")
        raise typer.Exit(2)
    interval = parse_interval(every) if every else 0.0
    upgrade_head(str(settings.store.url))
    engine = make_engine(str(settings.store.url))
    with Lake.open(settings.catalog) as lake:
        lake.create()
        suppressor = store_suppressor(settings, engine)
        worker = Worker(lake, source, batch_rows=batch_rows, suppressor=suppressor)  # type: ignore[arg-type]
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: worker.stop.set())
        try:
            while True:
                with batch_progress() as on_batch:
                    worker.on_batch = on_batch
                    runs = worker.run(entities, reconcile=reconcile)  # type: ignore[arg-type]
                print_load(runs)
                if once or worker.stop.wait(interval):
                    break
        except C360Error as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
        finally:
            engine.dispose()
    if worker.stop.is_set():
        console.print("stopped after the batch in hand; the next run continues from there")


@ingest_app.command("kafka")
def ingest_kafka(
    once: Annotated[bool, typer.Option("--once", help="stop once no message arrived for --idle seconds")] = False,
    idle: Annotated[float, typer.Option(min=0.1, help="seconds without messages that end a --once run")] = 5.0,
    topic: Annotated[str | None, typer.Option(help="events topic (default C360_KAFKA__EVENTS_TOPIC)")] = None,
    group: Annotated[str | None, typer.Option(help="consumer group (default C360_KAFKA__GROUP_ID)")] = None,
    metrics_port: Annotated[int | None, typer.Option(help="serve Prometheus /metrics on 127.0.0.1:PORT")] = None,
) -> None:
    """Land behavioural events from C360_KAFKA__BOOTSTRAP_SERVERS in micro-batches, exactly once.

    Events of customers already served reach their profiles in the store as each batch commits.
    """
    import signal
    import threading

    from core.db import make_engine
    from ingest.metrics import StreamMetrics
    from ingest.stream import consume_events, stream_worker
    from lakehouse.lake import Lake
    from migrations import upgrade_head
    from pipeline import serve_stream, store_suppressor

    config = settings()
    _required(config.kafka.bootstrap_servers, "C360_KAFKA__BOOTSTRAP_SERVERS")
    overrides = {"events_topic": topic, "group_id": group, "metrics_port": metrics_port}
    kafka = config.kafka.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    metrics = StreamMetrics()
    if kafka.metrics_port:
        metrics.serve(kafka.metrics_port)
    upgrade_head(str(config.store.url))
    engine = make_engine(str(config.store.url))
    try:
        with Lake.open(config.catalog) as lake:
            lake.create()
            worker = stream_worker(
                lake, kafka, metrics=metrics, on_conformed=serve_stream(lake, engine, config.risk),
                suppressor=store_suppressor(config, engine),
            )  # fmt: skip
            consume_events(worker, kafka, stop=stop, idle_seconds=idle if once else None)
    except C360Error as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    batches = worker.batches
    console.print(
        f"{len(batches)} batch(es): {sum(b.read for b in batches)} read, {sum(b.landed for b in batches)} landed, "
        f"{sum(b.skipped for b in batches)} already in the table, {sum(b.rejected for b in batches)} quarantined"
    )
