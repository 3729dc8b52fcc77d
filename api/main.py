"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api import errors
from api.auth import KeyRing, RateLimiter
from api.deps import LakeHandle
from api.middleware import RequestIdMiddleware
from api.routes import customers, health, identity, inventory, privacy, risk
from core.config import Settings
from core.db import make_engine
from core.logging import protect_access_log
from profiles.service import Documents

DESCRIPTION = """Customer 360 over the ShopSphere lakehouse.

Send an API key in the `X-API-Key` header (`c360 keys create SCOPE...` makes one). Keys carry scopes:
`profile:read` to read profiles, `pii:read` to see personal values unmasked, `identity:write`,
`inventory:read`, `risk:read`, `privacy:admin`. Each key may make `C360_API__RATE_LIMIT_PER_SECOND`
requests per second (429 with `Retry-After` beyond). Every response carries `X-Request-ID`.
Errors are `application/problem+json`.
"""


def create_app(settings: Settings) -> FastAPI:
    """An app serving the store and catalog named by `settings`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(str(settings.store.url))
        app.state.engine = engine
        app.state.documents = Documents(engine)
        app.state.keyring = KeyRing(engine, ttl=settings.api.key_cache_seconds)
        app.state.limiter = RateLimiter(rate=settings.api.rate_limit_per_second, burst=settings.api.rate_limit_burst)
        app.state.lake = LakeHandle(settings.catalog)
        yield
        engine.dispose()
        app.state.lake.close()

    protect_access_log()
    app = FastAPI(title="ShopSphere Customer 360", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.add_middleware(RequestIdMiddleware)
    errors.install(app)
    app.include_router(customers.hot_router)  # first: routes are tried in order, and profiles are the hottest
    app.include_router(customers.router)
    app.include_router(health.router)
    app.include_router(identity.router)
    app.include_router(inventory.router)
    app.include_router(risk.router)
    app.include_router(privacy.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def app_from_environment() -> FastAPI:
    """The app for one of several uvicorn worker processes: settings read from C360_* variables."""
    from core.config import load_settings
    from core.logging import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with error responses declared as problem details, as they are sent."""
    if app.openapi_schema is None:
        document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        app.openapi_schema = errors.document_problem_responses(document)
    return app.openapi_schema


def openapi_json() -> str:
    """The OpenAPI document as committed in api/openapi.json (stable key order, trailing newline)."""
    import json

    from core.config import Settings

    return json.dumps(create_app(Settings()).openapi(), indent=2, sort_keys=True) + "\n"
