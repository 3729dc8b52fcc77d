"""API keys sent as `X-API-Key`, each with scopes; compared in constant time."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import HTTPException, Request
from fastapi.security import APIKeyHeader

from core.config import Scope

API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key with scopes")
_UNAUTHORIZED = {"WWW-Authenticate": "APIKey"}


@dataclass(frozen=True)
class Caller:
    """Who is calling, as far as the API cares: the scopes of their key."""

    scopes: frozenset[Scope]

    def can(self, scope: Scope) -> bool:
        """True when the key holds `scope`."""
        return scope in self.scopes


def new_api_key() -> str:
    """A fresh random key (URL-safe, 256 bits)."""
    return "c360_" + secrets.token_urlsafe(32)


def authenticate(request: Request, presented: str | None) -> Caller:
    """The caller behind a presented key; 401 if it is missing or unknown."""
    if not presented:
        raise HTTPException(401, "missing X-API-Key header", headers=_UNAUTHORIZED)
    keys: dict[str, list[Scope]] = request.app.state.settings.api_keys
    for key, scopes in keys.items():
        if hmac.compare_digest(key.encode(), presented.encode()):
            return Caller(frozenset(scopes))
    raise HTTPException(401, "unknown API key", headers=_UNAUTHORIZED)
