"""Logging set-up: human-readable on a terminal, one JSON object per line otherwise.

Log records carry ids and counts, never personal data; the access log of the API keeps the path
and drops the query string, where lookups carry e-mails and phone numbers.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()) | {"message"}

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The API request being served, if any (set by the API's request-id middleware)."""


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line with its `extra=` fields, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if (request_id := request_id_var.get()) is not None:
            payload["request_id"] = request_id
        payload.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class CurrentStderrHandler(logging.StreamHandler):
    """Writes to `sys.stderr` as it is at each record, so a stream swapped in and closed later is no trap."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _replaced: Any) -> None:
        """StreamHandler assigns its stream once; this handler looks it up per record instead."""


def configure_logging(level: str = "INFO", *, json_lines: bool | None = None) -> None:
    """Install one root handler; JSON lines unless stderr is a terminal (or as forced)."""
    use_json = not sys.stderr.isatty() if json_lines is None else json_lines
    handler: logging.Handler
    if use_json:
        handler = CurrentStderrHandler()
        handler.setFormatter(JsonFormatter())
    else:
        from rich.logging import RichHandler

        handler = RichHandler(show_path=False, rich_tracebacks=True)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("pyiceberg", "httpx", "urllib3", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    protect_access_log()


def protect_access_log() -> None:
    """Install the filter that drops query strings from uvicorn's access log (idempotent)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, DropQueryString) for f in access.filters):
        access.addFilter(DropQueryString())


class DropQueryString(logging.Filter):
    """Cut the query string out of access-log lines: lookups put e-mails and phones there."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            path = record.args[2]
            if "?" in path:
                record.args = (*record.args[:2], path.split("?", 1)[0] + "?…", *record.args[3:])
        return True
