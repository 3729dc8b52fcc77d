"""Dependencies of the routes, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from sqlmodel import Session

from api.auth import API_KEY_HEADER, Caller, authenticate
from core.config import Scope, Settings
from lakehouse.lake import Lake


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


def _lake(request: Request) -> Lake:
    lake: Lake = request.app.state.lake()
    return lake


def _caller(request: Request, key: Annotated[str | None, Security(API_KEY_HEADER)]) -> Caller:
    return authenticate(request, key)


SettingsDep = Annotated[Settings, Depends(_settings)]
SessionDep = Annotated[Session, Depends(_session)]
LakeDep = Annotated[Lake, Depends(_lake)]
CallerDep = Annotated[Caller, Depends(_caller)]


def require(scope: Scope) -> Callable[[Caller], Caller]:
    """A dependency that lets the request through only when the caller's key holds `scope`."""

    def check(caller: CallerDep) -> Caller:
        if not caller.can(scope):
            raise HTTPException(403, f"this API key lacks the {scope.value} scope")
        return caller

    return check


CustomersReader = Annotated[Caller, Depends(require(Scope.CUSTOMERS_READ))]
