"""`c360 keys`: API keys with scopes, kept hashed in the operational store."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from commands.common import console, migrated_store
from core.config import Scope
from core.errors import InvalidInputError, NotFoundError

keys_app = typer.Typer(help="API keys with scopes (stored hashed; a key is shown once).", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    scopes: Annotated[list[Scope], typer.Argument(help="scopes of the new key")],
    name: Annotated[str, typer.Option(help="who or what the key is for")] = "cli",
) -> None:
    """Make a key; it is printed once, on standard output, and only its digest is stored."""
    from api.keys import create

    with migrated_store() as session:
        try:
            record, key = create(session, name=name, scopes=[s.value for s in scopes])
        except InvalidInputError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    console.print(f"key {record.id} ({record.name}): {record.scopes}; store it now, it is not shown again")
    typer.echo(key)


@keys_app.command("list")
def keys_list(
    include_revoked: Annotated[bool, typer.Option("--all", help="revoked keys too")] = False,
) -> None:
    """The keys: id, name, first characters, scopes, when made and revoked."""
    from api.keys import list_keys

    with migrated_store() as session:
        table = Table(title="API keys")
        for column in ("id", "name", "key", "scopes", "created", "revoked"):
            table.add_column(column)
        for k in list_keys(session, include_revoked=include_revoked):
            revoked = f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else ""
            table.add_row(str(k.id), k.name, f"{k.prefix}…", k.scopes, f"{k.created_at:%Y-%m-%d %H:%M}", revoked)
        console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="the id `list` shows")]) -> None:
    """Stop a key from working (a running API notices within C360_API__KEY_CACHE_SECONDS)."""
    from api.keys import revoke

    with migrated_store() as session:
        try:
            record = revoke(session, key_id=key_id)
        except NotFoundError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    console.print(f"key {record.id} ({record.name}) revoked")
