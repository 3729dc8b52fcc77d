"""The baseline of `bench/api_profile.py`: a FastAPI route returning a constant JSON body.

Served by uvicorn exactly like the API (same workers, same loopback), it measures what the server
and framework cost on their own; the body is padded to C360_BENCH_BODY_BYTES, the size of a profile.
"""

from __future__ import annotations

import json
import os

from fastapi import FastAPI, Response


def create() -> FastAPI:
    """The baseline app."""
    size = int(os.environ.get("C360_BENCH_BODY_BYTES", "2048"))
    body = json.dumps({"pad": "x" * max(0, size - 11)}).encode()
    app = FastAPI()

    @app.get("/constant")
    async def constant() -> Response:
        return Response(body, media_type="application/json")

    return app
