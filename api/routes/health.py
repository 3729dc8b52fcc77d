"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import LakeHandleDep, SessionDep
from api.models import HealthPublic

logger = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthPublic)
def healthz() -> HealthPublic:
    """The process is up."""
    return HealthPublic(status="ok")


@router.get("/readyz", response_model=HealthPublic, responses={503: {"model": HealthPublic}})
def readyz(session: SessionDep, lake: LakeHandleDep) -> HealthPublic | JSONResponse:
    """The Iceberg catalog and the operational store answer."""
    checks: dict[str, str] = {}
    probes = (("catalog", lambda: lake.get().ping()), ("store", lambda: session.exec(text("SELECT 1"))))  # type: ignore[call-overload]
    for name, probe in probes:
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:  # any failure means not ready; the reason is logged, not returned
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            checks[name] = "unavailable"
    if all(v == "ok" for v in checks.values()):
        return HealthPublic(status="ok", checks=checks)
    return JSONResponse(HealthPublic(status="unavailable", checks=checks).model_dump(), status_code=503)
