"""API keys in the operational store: created, listed and revoked; kept only as SHA-256 digests.

A key is a 256-bit random token shown once, at creation. The store keeps its digest (a leaked
store gives no usable key), its first characters to recognise it, its scopes and whether it was
revoked. Requests look keys up by digest, so no key is ever compared or logged in the clear.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.config import Scope
from core.errors import InvalidInputError, NotFoundError
from schema.store import ApiKey

KEY_PREFIX = "c360_"
SHOWN_CHARACTERS = 12  # "c360_" and 7 random characters: enough to tell keys apart, useless to an attacker
MIN_KEY_LENGTH = 24


def new_api_key() -> str:
    """A fresh random key (URL-safe, 256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> str:
    """The hex SHA-256 the store keeps instead of the key."""
    return hashlib.sha256(key.encode()).hexdigest()


def parse_scopes(scopes: Iterable[str]) -> list[Scope]:
    """Known scopes in a stable order; InvalidInputError naming the unknown ones."""
    names = set(scopes)
    unknown = sorted(names - {s.value for s in Scope})
    if unknown or not names:
        known = ", ".join(s.value for s in Scope)
        raise InvalidInputError(f"scopes must be one or more of {known}; got {', '.join(unknown) or 'none'}")
    return [s for s in Scope if s.value in names]


def create(session: Session, *, name: str, scopes: Iterable[str]) -> tuple[ApiKey, str]:
    """Store a new key; returns its record and the key itself, which is never shown again."""
    key = new_api_key()
    return register(session, key=key, name=name, scopes=scopes), key


def register(session: Session, *, key: str, name: str, scopes: Iterable[str]) -> ApiKey:
    """Store a key chosen elsewhere (the demo key kept under C360_HOME); idempotent per key."""
    if len(key) < MIN_KEY_LENGTH:
        raise InvalidInputError(f"an API key needs at least {MIN_KEY_LENGTH} characters")
    name = name.strip()
    if not name:
        raise InvalidInputError("give the key a name saying who or what it is for")
    stored = select(ApiKey).where(ApiKey.key_hash == digest(key))
    if (existing := session.exec(stored).first()) is not None:
        return existing
    record = ApiKey(
        name=name,
        prefix=key[:SHOWN_CHARACTERS],
        scopes=" ".join(s.value for s in parse_scopes(scopes)),
        created_at=datetime.now(UTC),
        key_hash=digest(key),
    )
    session.add(record)
    try:
        session.commit()
    except IntegrityError:  # registered concurrently: the stored row is the key's record
        session.rollback()
        return session.exec(stored).one()
    session.refresh(record)
    return record


def list_keys(session: Session, *, include_revoked: bool = False) -> list[ApiKey]:
    """Keys in creation order; revoked ones only when asked."""
    statement = select(ApiKey).order_by(col(ApiKey.id))
    if not include_revoked:
        statement = statement.where(col(ApiKey.revoked_at).is_(None))
    return list(session.exec(statement))


def revoke(session: Session, *, key_id: int) -> ApiKey:
    """Stop a key from working (running APIs notice within their key cache time); idempotent."""
    record = session.get(ApiKey, key_id)
    if record is None:
        raise NotFoundError(f"no API key {key_id}")
    if record.revoked_at is None:
        record.revoked_at = datetime.now(UTC)
        session.add(record)
        session.commit()
        session.refresh(record)
    return record


def get_active(session: Session, *, key: str) -> ApiKey | None:
    """The live (not revoked) record of a presented key, or None."""
    statement = select(ApiKey).where(ApiKey.key_hash == digest(key), col(ApiKey.revoked_at).is_(None))
    return session.exec(statement).first()
