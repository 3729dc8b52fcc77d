"""Logging set-up: human-readable on a terminal, one JSON object per line otherwise.

Log records carry ids and counts, never personal data: callers pass identifiers through
:func:`redact` before they reach a message.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()) | {"message"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line with its `extra=` fields, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        payload.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(level: str = "INFO", *, json_lines: bool | None = None) -> None:
    """Install one root handler; JSON lines unless stderr is a terminal (or as forced)."""
    use_json = not sys.stderr.isatty() if json_lines is None else json_lines
    handler: logging.Handler
    if use_json:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
    else:
        from rich.logging import RichHandler

        handler = RichHandler(show_path=False, rich_tracebacks=True)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("pyiceberg", "httpx", "urllib3", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def redact(value: str | None, keep: int = 2) -> str:
    """Mask a personal value for logs and masked API responses: 'jane@x.com' -> 'ja***@x.com'."""
    if not value:
        return ""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:keep]}***@{domain}"
    return f"{value[:keep]}***{value[-2:]}" if len(value) > keep + 4 else "***"
