"""Dependencies of the routes, as `Annotated` aliases."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from api.auth import API_KEY_HEADER, Caller, KeyRing
from core.config import CatalogSettings, Scope, Settings
from lakehouse.lake import Lake


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _session(request: Request) -> AsyncIterator[Session]:
    """A store session per request; made on the event loop (it connects lazily, in the route's thread)."""
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


async def _lake_handle(request: Request) -> LakeHandle:
    handle: LakeHandle = request.app.state.lake
    return handle


async def _authenticate(request: Request, key: str | None) -> Caller:
    """Authenticate and rate-limit on the event loop: a remembered key costs a digest, not a thread hop;
    only a key not remembered is looked up in the store, in a worker thread."""
    ring: KeyRing = request.app.state.keyring
    caller = ring.cached(key)
    if caller is None:
        caller = await run_in_threadpool(ring.caller, key)
    request.app.state.limiter.admit(caller.key_id)
    return caller


SettingsDep = Annotated[Settings, Depends(_settings)]
SessionDep = Annotated[Session, Depends(_session)]
LakeHandleDep = Annotated[LakeHandle, Depends(_lake_handle)]


def require(scope: Scope) -> Callable[[Request, str | None], Coroutine[Any, Any, Caller]]:
    """A dependency that lets the request through only when the caller's key holds `scope`.

    One dependency for the key, the limit and the scope: each dependency FastAPI solves costs tens of
    microseconds on every request, a sizeable share of a profile read.
    """

    async def check(request: Request, key: Annotated[str | None, Security(API_KEY_HEADER)]) -> Caller:
        return await _authorize(request, scope, key)

    return check


async def authorize(request: Request, scope: Scope) -> Caller:
    """What `require(scope)` checks, for the hottest routes to call in their body instead.

    The key's dependency costs ~35 µs a request to solve, a tenth of a profile read; a route calling
    this declares `SECURED` so its OpenAPI operation still names the key scheme.
    """
    return await _authorize(request, scope, request.headers.get(API_KEY_HEADER.model.name) or None)


async def _authorize(request: Request, scope: Scope, key: str | None) -> Caller:
    caller = await _authenticate(request, key)
    if not caller.can(scope):
        raise HTTPException(403, f"this API key lacks the {scope.value} scope")
    return caller


SECURED: dict[str, Any] = {"security": [{API_KEY_HEADER.scheme_name: []}]}


ProfileReader = Annotated[Caller, Depends(require(Scope.PROFILE_READ))]
IdentityWriter = Annotated[Caller, Depends(require(Scope.IDENTITY_WRITE))]
InventoryReader = Annotated[Caller, Depends(require(Scope.INVENTORY_READ))]
RiskReader = Annotated[Caller, Depends(require(Scope.RISK_READ))]
PrivacyAdmin = Annotated[Caller, Depends(require(Scope.PRIVACY_ADMIN))]
