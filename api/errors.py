"""Errors as RFC 9457 problem details (`application/problem+json`), mapped in one place."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import (
    C360Error,
    CommitConflictError,
    ConfigurationError,
    CustomerMovedError,
    InvalidInputError,
    NotFoundError,
)

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_STATUS_BY_ERROR: tuple[tuple[type[C360Error], int], ...] = (
    (NotFoundError, 404),
    (InvalidInputError, 422),
    (CommitConflictError, 409),
    (ConfigurationError, 503),
)


def problem(status: int, detail: str, *, headers: dict[str, str] | None = None, **extensions: object) -> JSONResponse:
    """A problem-details response; `extensions` become extra members (RFC 9457 section 3.2)."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    return JSONResponse({**body, **extensions}, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_PROBLEM_REF = {"$ref": "#/components/schemas/ProblemPublic"}
_ERROR_SCHEMAS = ("#/components/schemas/ProblemPublic", "#/components/schemas/HTTPValidationError")


def document_problem_responses(document: dict[str, Any]) -> dict[str, Any]:
    """Declare every error response of `document` as `application/problem+json` ProblemPublic.

    FastAPI documents error models as `application/json` and validation errors in its own shape;
    both are sent as problem details by the handlers below, so the document says so.
    """
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if status.startswith(("3", "4", "5")) and schema.get("$ref") in _ERROR_SCHEMAS:
                    response["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def status_for(error: C360Error) -> int:
    """The HTTP status of a domain error; unknown families are server errors."""
    for family, status in _STATUS_BY_ERROR:
        if isinstance(error, family):
            return status
    return 500


def moved(request: Request, exc: CustomerMovedError) -> JSONResponse:
    """308 to the same resource of the one customer a merged id became; 300 listing a split id's customers."""
    path, query = request.url.path, f"?{request.url.query}" if request.url.query else ""
    locations = [path.replace(f"/{exc.customer_id}", f"/{new}", 1) + query for new in exc.current_ids]
    if len(locations) == 1:
        return problem(308, str(exc), headers={"Location": locations[0]})
    return problem(300, str(exc), candidates=exc.current_ids, locations=locations)


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(C360Error)
    async def domain_error(_request: Request, exc: C360Error) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            logger.error("request failed: %s", type(exc).__name__)
        return problem(status, str(exc) if status < 500 else "internal error")

    @app.exception_handler(CustomerMovedError)
    async def customer_moved(request: Request, exc: CustomerMovedError) -> JSONResponse:
        return moved(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [{"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in exc.errors()]
        return problem(422, "; ".join(f"{f['field']}: {f['message']}" for f in fields), errors=fields)
