"""Time window, money and id formatting shared by every generator, so all files agree on one format."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

T = TypeVar("T")

DAY_S = 86_400
HOUR_S = 3_600
HISTORY_DAYS = 730
# Fixed, not now(): the same seed must give the same bytes on any day.
WINDOW_END_S = int(datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC).timestamp())
WINDOW_START_S = WINDOW_END_S - HISTORY_DAYS * DAY_S
PRIME_FIELD_FROM_S = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
SHIP_NODE_FROM_S = int(datetime(2025, 10, 1, tzinfo=UTC).timestamp())
FX_GBP_PER_USD = (79, 100)  # GB prices are the USD list price converted at a fixed rate


# Formatting timestamps is the hot spot of big runs, so the pieces are looked up, not formatted.
_DAYS: dict[int, str] = {}  # day number -> "YYYY-MM-DD", filled on first use
_CLOCK = [f"T{s // HOUR_S:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(DAY_S)]
_MILLIS = [f".{ms:03d}Z" for ms in range(1000)]


def iso_date(ts: int) -> str:
    """Calendar date of a timestamp."""
    day = ts // DAY_S
    text = _DAYS.get(day)
    if text is None:
        text = _DAYS[day] = time.strftime("%Y-%m-%d", time.gmtime(day * DAY_S))
    return text


def iso_s(ts: int) -> str:
    """Second-precision ISO 8601 UTC, the PostgreSQL export format."""
    return iso_date(ts) + _CLOCK[ts % DAY_S] + "Z"


def iso_ms(ts_ms: int) -> str:
    """Millisecond-precision ISO 8601 UTC, as event producers emit."""
    ts = ts_ms // 1000
    return iso_date(ts) + _CLOCK[ts % DAY_S] + _MILLIS[ts_ms % 1000]


def between(rng: random.Random, low: int, high: int) -> int:
    """Uniform int in [low, high]; a cheaper randint for the hot loops."""
    return low + int(rng.random() * (high - low + 1))


def pick(rng: random.Random, options: Sequence[T]) -> T:
    """Uniform element; a cheaper random.choice for the hot loops."""
    return options[int(rng.random() * len(options))]


def weighted(rng: random.Random, options: Sequence[T], weights: Sequence[int]) -> T:
    """Element drawn by integer weights, without random.choices' per-call set-up."""
    roll = rng.random() * sum(weights)
    for option, weight in zip(options, weights, strict=False):
        roll -= weight
        if roll < 0:
            return option
    return options[-1]


def money(cents: int) -> str:
    """Decimal string with two places; integer cents avoid float rounding drift."""
    return f"{cents // 100}.{cents % 100:02d}"


def to_gbp(usd_cents: int) -> int:
    """Convert a USD price to GBP at the fixed rate."""
    num, den = FX_GBP_PER_USD
    return max(1, (usd_cents * num + den // 2) // den)


def uuid_like(rng: random.Random) -> str:
    """UUID-shaped id (version nibble 4) from the seeded RNG; uuid4() would break determinism."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:]}"


def digits(rng: random.Random, count: int) -> str:
    """A random digit string of fixed width."""
    return f"{int(rng.random() * 10**count):0{count}d}"


class UniqueIds:
    """Draw random-looking ids without repeats; the set is only probed, never iterated."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def draw(self, make: Callable[[], str]) -> str:
        """Call make() until it returns an id not handed out before."""
        while True:
            value = make()
            if value not in self._seen:
                self._seen.add(value)
                return value

    def claim(self, value: str) -> bool:
        """Reserve a specific id; False when it was taken already."""
        if value in self._seen:
            return False
        self._seen.add(value)
        return True
