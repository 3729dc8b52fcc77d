"""`c360 events`: put behavioural events on the Kafka topic (sample replay, trying the worker by hand)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from commands.common import console, settings

events_app = typer.Typer(help="Behavioural events on Kafka.", no_args_is_help=True)


@events_app.command("send")
def events_send(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON lines, one event per line")],
    topic: Annotated[str | None, typer.Option(help="default C360_KAFKA__EVENTS_TOPIC")] = None,
    partitions: Annotated[int, typer.Option(min=1, help="partitions if the topic has to be created")] = 3,
) -> None:
    """Send every line of PATH as one message, keyed by its device (or user), creating the topic if needed."""
    from core.errors import C360Error
    from ingest.replay_events import send_lines

    config = settings()
    if not config.kafka.bootstrap_servers:
        console.print("[red]error:[/red] set C360_KAFKA__BOOTSTRAP_SERVERS to the broker's host:port")
        raise typer.Exit(2)
    target = topic or config.kafka.events_topic
    try:
        sent = send_lines(config.kafka.bootstrap_servers, target, path, partitions=partitions)
    except C360Error as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"sent {sent} message(s) to {target}")
