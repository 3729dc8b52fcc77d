"""API keys and rate limits: digests in the store, a cache that forgets revocations in time, token buckets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import HTTPException
from sqlalchemy import Engine
from sqlmodel import Session

from api import keys
from api.auth import KeyRing, RateLimiter
from core.config import Scope
from core.db import make_engine
from core.errors import InvalidInputError
from migrations import upgrade_head


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade_head(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def test_a_key_resolves_to_its_scopes_until_revoked_and_the_cache_expires(engine: Engine) -> None:
    clock = Clock()
    ring = KeyRing(engine, ttl=5.0, clock=clock)
    with Session(engine) as session:
        record, key = keys.create(session, name="dashboard", scopes=["pii:read", "profile:read"])
    assert ring.cached(key) is None, "nothing remembered before the first look-up"
    caller = ring.caller(key)
    assert caller.scopes == {Scope.PROFILE_READ, Scope.PII_READ} and caller.key_id == record.id
    with Session(engine) as session:
        assert record.id is not None
        keys.revoke(session, key_id=record.id)
    clock.now += 4.9
    assert ring.cached(key) == caller, "remembered for the cache time"
    clock.now += 0.2
    assert ring.cached(key) is None, "forgotten after it"
    with pytest.raises(HTTPException) as refused:
        ring.caller(key)
    assert refused.value.status_code == 401
    with pytest.raises(HTTPException):
        ring.cached(key)  # the refusal is remembered too: guessing does not reach the store


def test_the_cache_evicts_the_oldest_answers_first(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("api.auth._CACHE_LIMIT", 2)
    ring = KeyRing(engine, ttl=60.0, clock=Clock())
    with Session(engine) as session:
        _, key = keys.create(session, name="dashboard", scopes=["profile:read"])
    ring.caller(key)
    for guess in ("c360_guess-one-000000000000000", "c360_guess-two-000000000000000"):
        with pytest.raises(HTTPException):
            ring.caller(guess)
    assert ring.cached(key) is None, "the oldest answer went first"


@pytest.mark.parametrize("presented", [None, "", "c360_never-issued-0000000000000000"])
def test_missing_and_unknown_keys_are_401(engine: Engine, presented: str | None) -> None:
    with pytest.raises(HTTPException) as refused:
        KeyRing(engine, ttl=5.0).caller(presented)
    assert refused.value.status_code == 401 and refused.value.headers == {"WWW-Authenticate": "APIKey"}


def test_registering_is_idempotent_and_validates(engine: Engine) -> None:
    key = "c360_a-key-chosen-elsewhere-000000"
    with Session(engine) as session:
        first = keys.register(session, key=key, name="demo", scopes=["profile:read"])
        again = keys.register(session, key=key, name="other", scopes=["pii:read"])
        assert again.id == first.id and again.scopes == "profile:read" and first.prefix == key[:12]
        with pytest.raises(InvalidInputError, match="scopes must be"):
            keys.register(session, key=key + "x", name="demo", scopes=["root"])
        with pytest.raises(InvalidInputError, match="at least"):
            keys.register(session, key="short", name="demo", scopes=["profile:read"])
        with pytest.raises(InvalidInputError, match="name"):
            keys.register(session, key=key + "y", name="  ", scopes=["profile:read"])


def test_a_bucket_admits_the_burst_then_the_rate_and_says_when_to_retry() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    for _ in range(3):
        limiter.admit(1)
    with pytest.raises(HTTPException) as limited:
        limiter.admit(1)
    assert limited.value.status_code == 429 and limited.value.headers == {"Retry-After": "1"}
    limiter.admit(2)  # another key has its own bucket
    clock.now += 0.5  # one token back at 2/s
    limiter.admit(1)
    with pytest.raises(HTTPException):
        limiter.admit(1)


def test_a_zero_rate_turns_limits_off() -> None:
    limiter = RateLimiter(rate=0, burst=1, clock=Clock())
    for _ in range(100):
        limiter.admit(1)
