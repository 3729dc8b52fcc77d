"""One pagination style everywhere: `limit` and an opaque `cursor` in; `data` and `next_cursor` out.

A cursor is the key of the last row a page held (keyset paging), so pages stay consistent while
rows are added and no page costs more than its own rows.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from core.errors import InvalidInputError

Limit = Annotated[int, Query(ge=1, le=500, description="rows per page")]
Cursor = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` of the previous page; omit for the first")
]


Item = TypeVar("Item", bound=BaseModel)


class Page(BaseModel, Generic[Item]):
    """A page of a list, in the list's order."""

    data: list[Item]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


def encode(*parts: str) -> str:
    """An opaque cursor holding the key parts of a page's last row."""
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def decode(cursor: str, arity: int) -> list[str]:
    """The key parts of a cursor this API gave; InvalidInputError for anything else."""
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise InvalidInputError("cursor: not a cursor this API gave") from exc
    if not isinstance(parts, list) or len(parts) != arity or not all(isinstance(p, str) for p in parts):
        raise InvalidInputError("cursor: not a cursor this API gave")
    return parts


def decode_keyset(cursor: str | None) -> tuple[datetime, str] | None:
    """A (time, id) keyset from a cursor of a time-ordered list, or None for the first page."""
    if cursor is None:
        return None
    at, key = decode(cursor, 2)
    try:
        when = datetime.fromisoformat(at)
    except ValueError as exc:
        raise InvalidInputError("cursor: not a cursor this API gave") from exc
    if when.tzinfo is None:  # this API only writes UTC times
        raise InvalidInputError("cursor: not a cursor this API gave")
    return when, key
