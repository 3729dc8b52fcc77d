"""Retrying transient failures with exponential backoff, saying what is being retried and why."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from core.errors import TransientError

logger = logging.getLogger(__name__)

T = TypeVar("T")


def retrying(
    action: Callable[[], T],
    *,
    attempts: int,
    what: str,
    base_delay: float = 0.5,
    max_delay: float = 15.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `action`, retrying TransientError up to `attempts` times; the last error propagates."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except TransientError as exc:
            if attempt == attempts:
                raise TransientError(
                    f"gave up {what} after {attempts} attempts: {exc}", source=exc.source, batch_id=exc.batch_id
                ) from exc
            delay = min(max_delay, base_delay * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
            logger.warning("%s failed (attempt %d of %d), retrying in %.1fs: %s", what, attempt, attempts, delay, exc)
            sleep(delay)
    raise AssertionError("unreachable")
