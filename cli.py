"""`c360`: the command line of the Customer 360 service."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

import sample_data
from commands.common import batch_progress, console, print_load, settings, store_session
from commands.events import events_app
from commands.identity import identity_app
from commands.ingest import ingest_app
from commands.keys import keys_app
from commands.maintain import maintain_app
from commands.privacy import access, erase
from commands.quarantine import quarantine_app
from commands.score import score
from core.config import KafkaSettings, Scope, Settings

app = typer.Typer(help="ShopSphere Customer 360 on an Iceberg lakehouse.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(events_app, name="events")
app.add_typer(maintain_app, name="maintain")
app.add_typer(identity_app, name="identity")
app.add_typer(keys_app, name="keys")
app.command("score")(score)
app.command("erase")(erase)
app.command("access")(access)
logger = logging.getLogger("c360")

SAMPLE_DIR = Path(sample_data.__file__).resolve().parent
DEMO_KEY_FILE = "demo_api_key"


def _demo_key(settings: Settings) -> str:
    """The local demo key with every scope: kept under C360_HOME (mode 600) and registered in the store.

    A demo key someone revoked is replaced by a new one.
    """
    from api.keys import new_api_key, register

    path = settings.home / DEMO_KEY_FILE
    key = path.read_text().strip() if path.exists() else ""
    with store_session(str(settings.store.url)) as session:
        if not key or register(session, key=key, name="demo", scopes=list(Scope)).revoked_at is not None:
            key = new_api_key()
            register(session, key=key, name="demo", scopes=list(Scope))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)  # created afresh with mode 600: never readable by others, even briefly
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
                file.write(key + "\n")
    return key


@app.command()
def run(
    source: Annotated[Path, typer.Option(help="folder of source files")] = SAMPLE_DIR,
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="serve the API when done")] = True,
    stream: Annotated[
        bool, typer.Option("--stream/--no-stream", help="send events through Kafka (the bundled broker if none set)")
    ] = True,
) -> None:
    """Build the lakehouse from the sample (or --source), resolve customers, and serve the API."""
    config = settings()
    kafka, broker = _stream_broker(config) if stream else (None, None)
    # uvicorn re-raises SIGTERM after its graceful shutdown; as an exception it unwinds through the
    # `finally` below, so the bundled broker stops too instead of outliving the run.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        _run(config, source, kafka, serve_api)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if broker is not None:
            broker.stop()


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _run(config: Settings, source: Path, kafka: KafkaSettings | None, serve_api: bool) -> None:
    from pipeline import run_pipeline

    with batch_progress() as on_batch:
        report = run_pipeline(config, source, step=lambda name: console.log(name), on_batch=on_batch, kafka=kafka)
    print_load(report.load)
    if report.stream is not None:
        batches = report.stream
        console.print(
            f"stream worker: {sum(b.read for b in batches)} messages read in {len(batches)} micro-batch(es), "
            f"{sum(b.landed for b in batches)} landed, {sum(b.skipped for b in batches)} already in the table, "
            f"{sum(b.rejected for b in batches)} quarantined"
        )
    if report.identity is None:
        console.print("no input changed since the last build: the gold layer and the served profiles are current")
    else:
        identity = report.identity
        console.print(
            f"identity build {identity.build_id} ({identity.mode}): {identity.customers} customers "
            f"from {identity.records} records ({identity.untrusted_identifiers} identifiers set aside)"
        )
    key = _demo_key(config)
    base = f"http://{config.api.host}:{config.api.port}"
    email = _example_email(config) or "<an e-mail from sample_data/users.csv>"
    console.print(f"\nDemo API key (all scopes): [bold]{key}[/bold]", soft_wrap=True)
    console.print(f'Try: curl -H "X-API-Key: {key}" "{base}/v1/customers?email={email}"', soft_wrap=True)
    console.print(f"Docs: {base}/docs", soft_wrap=True)
    if kafka is not None:
        console.print(
            f"Events: C360_KAFKA__BOOTSTRAP_SERVERS={kafka.bootstrap_servers} c360 events send FILE  (the stream "
            "worker lands them within seconds while the API runs; `c360 build` folds them into the profiles)",
            soft_wrap=True,
        )
    if serve_api:
        with _streaming(config, kafka):
            _serve(config)


def _stream_broker(config: Settings) -> tuple[KafkaSettings | None, Any]:
    """The configured Kafka, else the bundled broker started for this run, else none (events from the file)."""
    from ingest.sources.broker import LocalBroker, tansu_binary

    if config.kafka.bootstrap_servers:
        return config.kafka, None
    if tansu_binary() is None:
        console.print("no Kafka broker configured or bundled: events are loaded from the file instead")
        return None, None
    config.home.mkdir(parents=True, exist_ok=True)
    broker = LocalBroker(log_path=config.home / "broker.log")
    console.log(f"started the bundled Kafka-protocol broker (Tansu) on {broker.bootstrap_servers}")
    return config.kafka.model_copy(update={"bootstrap_servers": broker.bootstrap_servers}), broker


@contextmanager
def _streaming(config: Settings, kafka: KafkaSettings | None) -> Iterator[None]:
    """Keep a stream worker running in the background while the API serves; it serves fresh events too."""
    if kafka is None:
        yield
        return
    import threading

    from core.db import make_engine
    from ingest.stream import consume_events, stream_worker
    from lakehouse.lake import Lake
    from pipeline import serve_stream, store_suppressor

    stop = threading.Event()
    lake = Lake.open(config.catalog)
    engine = make_engine(str(config.store.url))
    worker = stream_worker(
        lake, kafka, on_conformed=serve_stream(lake, engine, config.risk), suppressor=store_suppressor(config, engine)
    )
    thread = threading.Thread(target=consume_events, args=(worker, kafka), kwargs={"stop": stop}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)
        lake.close()
        engine.dispose()


def _example_email(settings: Settings) -> str | None:
    from profiles.service import example_email

    with store_session(str(settings.store.url)) as session:
        return example_email(session)


def _serve(settings: Settings) -> None:
    import uvicorn

    from api.main import create_app
    from migrations import upgrade_head

    upgrade_head(str(settings.store.url))
    api = settings.api
    with _privacy_worker(settings):
        if api.workers == 1:
            uvicorn.run(create_app(settings), host=api.host, port=api.port, log_config=None)
        else:  # each worker process builds its app from the same environment
            uvicorn.run(
                "api.main:app_from_environment", factory=True, workers=api.workers, host=api.host, port=api.port,
                log_config=None,
            )  # fmt: skip


@contextmanager
def _privacy_worker(config: Settings) -> Iterator[None]:
    """Carry out the privacy requests the API takes in, in a background thread, while it serves."""
    import threading

    from core.db import make_engine
    from lakehouse.lake import Lake
    from privacy.worker import PrivacyWorker

    stop = threading.Event()
    lake = Lake.open(config.catalog)
    engine = make_engine(str(config.store.url))
    thread = threading.Thread(target=PrivacyWorker(config, lake, engine).watch, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(60)
        lake.close()
        engine.dispose()


@app.command()
def serve() -> None:
    """Serve the REST API (C360_API__WORKERS processes; keys from the store, the demo key too if one was made)."""
    config = settings()
    if (config.home / DEMO_KEY_FILE).exists():
        _demo_key(config)
    _serve(config)


@app.command()
def generate(
    customers: Annotated[int, typer.Option(min=1, help="number of people to generate")] = 300,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("generated"),
    seed: Annotated[int, typer.Option(help="random seed")] = 7,
) -> None:
    """Generate messy omnichannel source data with ground truth (deterministic for a seed)."""
    from sample_data.generate import generate as generate_files

    counts = generate_files(out, customers=customers, seed=seed)
    for name, rows in counts.items():
        console.print(f"{name}: {rows}")


@app.command()
def build() -> None:
    """Resolve identities, compute metrics and project profiles from the conformed tables (if they changed)."""
    from datetime import UTC, datetime

    from core.errors import ErasureFencedError
    from lakehouse.lake import Lake
    from migrations import upgrade_head
    from pipeline import build_gold

    config = settings()
    upgrade_head(str(config.store.url))
    with Lake.open(config.catalog) as lake, console.status("building") as status:
        lake.create()
        try:
            identity, _ = build_gold(config, lake, now=datetime.now(UTC), step=lambda name: status.update(name))
        except ErasureFencedError as exc:
            console.print(f"[red]stopped:[/red] {exc}; run `c360 build` again")
            raise typer.Exit(1) from exc
    console.print(
        "gold layer current" if identity is None else f"built {identity.build_id}: {identity.customers} customers"
    )


schema_app = typer.Typer(help="The table model as code, and the documents generated from it.")
app.add_typer(schema_app, name="schema")


@schema_app.command("docs")
def schema_docs(check: Annotated[bool, typer.Option(help="only report drift; exit 1 if any")] = False) -> None:
    """Write (or --check) schema/ddl/*.sql, schema/erd.mmd and schema/erd.png from schema/lake.py."""
    from schema import docs

    raise typer.Exit(docs.main(["--check"] if check else []))


@app.command()
def openapi(
    out: Annotated[Path, typer.Option(help="where to write the OpenAPI document")] = Path("api/openapi.json"),
    check: Annotated[bool, typer.Option(help="only compare with --out; exit 1 if it differs")] = False,
) -> None:
    """Write (or --check) the API's OpenAPI document, a snapshot reviewed with every API change."""
    from api.main import openapi_json

    rendered = openapi_json()
    if check:
        same = out.exists() and out.read_text() == rendered
        if not same:
            console.print(f"{out} differs from the API; run `c360 openapi`")
        raise typer.Exit(0 if same else 1)
    out.write_text(rendered)


if __name__ == "__main__":
    app()
