"""Who is calling: API keys sent as `X-API-Key`, looked up by digest, and a rate limit per key."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException
from fastapi.security import APIKeyHeader
from sqlalchemy import Engine
from sqlmodel import Session

from api import keys
from core.config import Scope

API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key with scopes")
_UNAUTHORIZED = {"WWW-Authenticate": "APIKey"}
_CACHE_LIMIT = 10_000  # remembered keys (unknown ones too, so guessing does not hammer the store)

Clock = Callable[[], float]


@dataclass(frozen=True)
class Caller:
    """Who is calling, as far as the API cares: their key's id and scopes."""

    key_id: int
    scopes: frozenset[Scope]

    def can(self, scope: Scope) -> bool:
        """True when the key holds `scope`."""
        return scope in self.scopes


class KeyRing:
    """Answers "whose key is this?" from the store, remembering each answer for `ttl` seconds.

    The cache keeps requests off the store; the price is that a revoked key keeps working in a
    running process for up to `ttl` seconds. It is a bounded LRU, so a flood of made-up keys
    evicts the oldest answers, not every answer.
    """

    def __init__(self, engine: Engine, *, ttl: float, clock: Clock = time.monotonic):
        self._engine = engine
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[float, Caller | None]] = OrderedDict()

    def cached(self, presented: str | None) -> Caller | None:
        """The caller behind a key when the answer is remembered (no store read); None otherwise."""
        if not presented:
            raise HTTPException(401, "missing X-API-Key header", headers=_UNAUTHORIZED)
        with self._lock:
            entry = self._cache.get(keys.digest(presented))
        if entry is None or entry[0] <= self._clock():
            return None
        return _known(entry[1])

    def caller(self, presented: str | None) -> Caller:
        """The caller behind a presented key; 401 if it is missing, unknown or revoked (reads the store)."""
        if not presented:
            raise HTTPException(401, "missing X-API-Key header", headers=_UNAUTHORIZED)
        with Session(self._engine) as session:
            record = keys.get_active(session, key=presented)
        found = None if record is None or record.id is None else Caller(record.id, _scopes(record.scopes))
        with self._lock:
            self._cache[keys.digest(presented)] = (self._clock() + self._ttl, found)
            self._cache.move_to_end(keys.digest(presented))
            while len(self._cache) > _CACHE_LIMIT:
                self._cache.popitem(last=False)
        return _known(found)


def _known(found: Caller | None) -> Caller:
    if found is None:
        raise HTTPException(401, "unknown or revoked API key", headers=_UNAUTHORIZED)
    return found


def _scopes(stored: str) -> frozenset[Scope]:
    known = {s.value: s for s in Scope}
    return frozenset(known[name] for name in stored.split() if name in known)


class RateLimiter:
    """A token bucket per key: `burst` requests at once, then `rate` per second (0 turns it off)."""

    def __init__(self, *, rate: float, burst: int, clock: Clock = time.monotonic):
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[int, tuple[float, float]] = {}  # key id -> (tokens, when counted)

    def admit(self, key_id: int) -> None:
        """Take a token for the key, or raise 429 saying when the next one is due."""
        if self._rate <= 0:
            return
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.get(key_id, (self._burst, now))
            tokens = min(self._burst, tokens + (now - then) * self._rate)
            if tokens >= 1:
                self._buckets[key_id] = (tokens - 1, now)
                return
            self._buckets[key_id] = (tokens, now)
        wait = math.ceil((1 - tokens) / self._rate)
        raise HTTPException(429, "rate limit exceeded for this API key", headers={"Retry-After": str(wait)})
