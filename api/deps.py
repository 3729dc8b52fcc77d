"""Dependencies of the routes, as `Annotated` aliases."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from sqlmodel import Session

from api.auth import API_KEY_HEADER, Caller
from core.config import CatalogSettings, Scope, Settings
from lakehouse.lake import Lake


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


class LakeHandle:
    """The catalog, opened on first use (once, whatever the concurrency) and closed at shutdown."""

    def __init__(self, settings: CatalogSettings):
        self._settings = settings
        self._lock = threading.Lock()
        self._lake: Lake | None = None

    def get(self) -> Lake:
        """The open lake; ConfigurationError when the catalog cannot be reached."""
        with self._lock:
            if self._lake is None:
                self._lake = Lake.open(self._settings, ensure_namespaces=False)
            return self._lake

    def close(self) -> None:
        """Release the catalog's connections."""
        with self._lock:
            if self._lake is not None:
                self._lake.close()
                self._lake = None


def _lake_handle(request: Request) -> LakeHandle:
    handle: LakeHandle = request.app.state.lake
    return handle


def _caller(request: Request, key: Annotated[str | None, Security(API_KEY_HEADER)]) -> Caller:
    caller: Caller = request.app.state.keyring.caller(key)
    request.app.state.limiter.admit(caller.key_id)
    return caller


SettingsDep = Annotated[Settings, Depends(_settings)]
SessionDep = Annotated[Session, Depends(_session)]
LakeHandleDep = Annotated[LakeHandle, Depends(_lake_handle)]
CallerDep = Annotated[Caller, Depends(_caller)]


def require(scope: Scope) -> Callable[[Caller], Caller]:
    """A dependency that lets the request through only when the caller's key holds `scope`."""

    def check(caller: CallerDep) -> Caller:
        if not caller.can(scope):
            raise HTTPException(403, f"this API key lacks the {scope.value} scope")
        return caller

    return check


ProfileReader = Annotated[Caller, Depends(require(Scope.PROFILE_READ))]
IdentityWriter = Annotated[Caller, Depends(require(Scope.IDENTITY_WRITE))]
InventoryReader = Annotated[Caller, Depends(require(Scope.INVENTORY_READ))]
RiskReader = Annotated[Caller, Depends(require(Scope.RISK_READ))]
