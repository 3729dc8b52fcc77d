"""DirectRoute: the same parameters, answers, 422s and OpenAPI as FastAPI's own route, without its handler."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.routing import APIRoute

from api.routing import DirectRoute


async def item(
    request: Request,
    item_id: Annotated[str, Path(max_length=8)],
    size: Annotated[int, Query(ge=1, le=100)] = 10,
    kind: Annotated[str | None, Query(alias="type", max_length=5)] = None,
) -> Response:
    """Echoes what it was called with."""
    return Response(f"{item_id}|{size}|{kind}|{request.url.path}", media_type="text/plain")


def app(route_class: type[APIRoute]) -> FastAPI:
    router = APIRouter(prefix="/v1", route_class=route_class)
    router.get("/items/{item_id}")(item)
    application = FastAPI()
    application.include_router(router)
    return application


def call(application: FastAPI, path: str, params: dict[str, str] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path, params=params)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/items/a1", None),
        ("/v1/items/a1", {"size": "7", "type": "shoe"}),
        ("/v1/items/a1", {"kind": "ignored-because-the-alias-is-type"}),
        ("/v1/items/far-too-long-an-id", None),
        ("/v1/items/a1", {"size": "0"}),
        ("/v1/items/a1", {"size": "many", "type": "too-long"}),
        ("/v1/items/far-too-long-an-id", {"size": "101"}),
    ],
)
def test_answers_and_validation_errors_are_fastapis_own(path: str, params: dict[str, str] | None) -> None:
    direct, plain = call(app(DirectRoute), path, params), call(app(APIRoute), path, params)
    assert (direct.status_code, direct.text) == (plain.status_code, plain.text)


def test_the_openapi_operation_is_the_same() -> None:
    def operation(route_class: type[APIRoute]) -> dict[str, Any]:
        return app(route_class).openapi()["paths"]["/v1/items/{item_id}"]["get"]  # type: ignore[no-any-return]

    assert operation(DirectRoute) == operation(APIRoute)


def _with_dependency(request: Request, user: Annotated[str, Depends(lambda: "u")]) -> Response:
    return Response()


def _with_header(request: Request, token: Annotated[str, Header()]) -> Response:
    return Response()


def _without_request(item_id: str) -> Response:
    return Response()


@pytest.mark.parametrize("endpoint", [_with_dependency, _with_header, _without_request])
def test_endpoints_needing_fastapis_handler_are_refused_when_declared(endpoint: Any) -> None:
    router = APIRouter(route_class=DirectRoute)
    with pytest.raises(TypeError, match="DirectRoute"):
        router.get("/things/{item_id}")(endpoint)
