"""`c360 erase` and `c360 access`: GDPR erasure and access requests from the command line.

The same requests the API takes (`/v1/privacy/...`), carried out in this process; `--resume`
finishes every request a crash or a stop left unfinished.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, cast

import typer
from rich.table import Table

from commands.common import console, settings
from core.errors import C360Error
from schema.store import PrivacyRequest

SUBJECT_OPTIONS = ("email", "phone", "loyalty_id", "user_id", "device_id", "marketplace_buyer_id", "customer_id")

Email = Annotated[str | None, typer.Option(help="the subject's e-mail")]
Phone = Annotated[str | None, typer.Option(help="the subject's phone number")]
Loyalty = Annotated[str | None, typer.Option(help="the subject's loyalty id")]
UserId = Annotated[str | None, typer.Option(help="the subject's web account id")]
Device = Annotated[str | None, typer.Option(help="a device id of the subject")]
Buyer = Annotated[str | None, typer.Option(help="the subject's marketplace buyer id")]
Customer = Annotated[str | None, typer.Option(help="the subject's golden customer id")]
Reason = Annotated[str, typer.Option(help="why (kept with the request)")]


def erase(
    email: Email = None, phone: Phone = None, loyalty_id: Loyalty = None, user_id: UserId = None,
    device_id: Device = None, marketplace_buyer_id: Buyer = None, customer_id: Customer = None,
    reason: Reason = "", resume: Annotated[bool, typer.Option(help="finish unfinished requests instead")] = False,
) -> None:  # fmt: skip
    """Erase a data subject from every lake table, its old snapshots and files, and the operational store."""
    given = _one_subject(locals(), allow_none=resume)
    _run("erasure", given, reason, resume=resume)


def access(
    email: Email = None, phone: Phone = None, loyalty_id: Loyalty = None, user_id: UserId = None,
    device_id: Device = None, marketplace_buyer_id: Buyer = None, customer_id: Customer = None, reason: Reason = "",
) -> None:  # fmt: skip
    """Export every row held about a data subject to a JSON file only this service's user can read."""
    _run("access", _one_subject(locals(), allow_none=False), reason, resume=False)


def _one_subject(options: dict[str, object], *, allow_none: bool) -> tuple[str, str] | None:
    given = [(name, str(value)) for name in SUBJECT_OPTIONS if (value := options.get(name)) is not None]
    if len(given) > 1 or (not given and not allow_none):
        console.print(
            "[red]error:[/red] give exactly one of --" + ", --".join(o.replace("_", "-") for o in SUBJECT_OPTIONS)
        )
        raise typer.Exit(2)
    return given[0] if given else None


def _run(kind: str, given: tuple[str, str] | None, reason: str, *, resume: bool) -> None:
    from core.db import make_engine
    from lakehouse.lake import Lake
    from migrations import upgrade_head
    from privacy import requests
    from privacy.hashing import salt
    from privacy.worker import PrivacyWorker

    config = settings()
    upgrade_head(str(config.store.url))
    engine = make_engine(str(config.store.url))
    try:
        with Lake.open(config.catalog) as lake:
            worker = PrivacyWorker(config, lake, engine)
            if resume or given is None:
                done = worker.resume_all(takeover=True)  # the operator says the last runner is gone
            else:
                from sqlmodel import Session

                with Session(engine) as session:
                    request, _ = requests.submit(
                        session, kind=cast(requests.RequestKind, kind),
                        subject_kind=cast(requests.SubjectKind, given[0]), value=given[1], reason=reason,
                        key=salt(config), default_region=config.identity.default_region, now=datetime.now(UTC),
                    )  # fmt: skip
                with console.status(f"{kind} request {request.id}"):
                    done = [worker.run(request.id)]
            worker.expire_exports()
    except C360Error as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    for request in done:
        _show(request)
    if any(r.status != requests.DONE for r in done):
        raise typer.Exit(1)


def _show(request: PrivacyRequest) -> None:
    """A request's outcome: status, and per table counts of an erasure (no personal data)."""
    console.print(
        f"{request.kind} request {request.id}: {request.status}" + (f" ({request.error})" if request.error else "")
    )
    receipt = json.loads(request.receipt or "{}")
    if "export" in receipt:
        console.print(f"export: {receipt['export']}")
    if "tables" not in receipt:
        return
    table = Table(title="erasure receipt")
    for column in ("table", "rows deleted", "files rewritten", "files removed", "files searched", "clean"):
        table.add_column(column, justify="left" if column == "table" else "right")
    for row in receipt["tables"]:
        if row["rows_deleted"] or not row["clean"]:
            table.add_row(row["table"], *(str(row[k]) for k in ("rows_deleted", "files_rewritten", "files_removed",
                                                                 "files_searched", "clean")))  # fmt: skip
    console.print(table)
    console.print(f"verified: every file of every table searched, none holds the subject ({receipt['verified']})")
