"""Request ids: echoed or made, and an unhandled failure still answers problem details carrying the id."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from api.middleware import RequestIdMiddleware


def app() -> FastAPI:
    """An app with the middleware where the API has it: inside Starlette's own error handler."""
    application = FastAPI()
    application.add_middleware(RequestIdMiddleware)

    @application.get("/ok")
    def ok() -> dict[str, str]:
        return {"status": "ok"}

    @application.get("/boom")
    def boom() -> dict[str, str]:
        raise RuntimeError("a bug")

    return application


def call(path: str, headers: dict[str, str]) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path, headers=headers)

    return asyncio.run(go())


def test_a_plain_id_is_echoed_and_an_odd_one_replaced() -> None:
    assert call("/ok", {"X-Request-ID": "abc-1"}).headers["x-request-id"] == "abc-1"
    assert len(call("/ok", {"X-Request-ID": "a b"}).headers["x-request-id"]) == 32


def test_an_unhandled_error_is_a_problem_500_with_the_id(caplog: pytest.LogCaptureFixture) -> None:
    response = call("/boom", {"X-Request-ID": "trace-9"})
    assert response.status_code == 500 and response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "trace-9" and response.json()["detail"] == "internal error"
    assert any(record.getMessage() == "request failed" for record in caplog.records)
