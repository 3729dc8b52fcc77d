"""GDPR erasure and access requests: taken in here, carried out by the privacy worker.

The API only records a request (202 with its id): rewriting lake tables does not belong in a web
worker. `c360 run` and `c360 serve` run the privacy worker beside the API; `c360 erase --resume`
carries out whatever is waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.responses import FileResponse

from api.deps import PrivacyAdmin, SessionDep, SettingsDep
from api.models import ProblemPublic, error_responses
from api.privacy_models import PrivacyRequestCreate, PrivacyRequestPublic
from privacy import requests
from privacy.hashing import salt
from privacy.requests import RequestKind

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])
ERRORS = error_responses("privacy:admin")
ONE_REQUEST: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"model": ProblemPublic, "description": "no such request"},
}
RequestId = Annotated[str, Path(min_length=32, max_length=32, pattern="^[0-9a-f]{32}$")]
EXPORT_EXAMPLE = {
    "customer_ids": ["C-3f9a0c21d4e5"],
    "tables": {"conformed.users": [{"user_id": 42, "email": "ann@example.com"}]},
}


def _submit(kind: RequestKind, body: PrivacyRequestCreate, request: Request, session: SessionDep, settings: SettingsDep,
            response: Response) -> PrivacyRequestPublic:  # fmt: skip
    stored, _ = requests.submit(
        session, kind=kind, subject_kind=body.identifier_kind, value=body.value, reason=body.reason,
        key=salt(settings), default_region=settings.identity.default_region, now=datetime.now(UTC),
    )  # fmt: skip
    response.headers["Location"] = str(request.url_for(f"get_{kind}_request", request_id=stored.id))
    return PrivacyRequestPublic.from_store(stored)


def _get(kind: RequestKind, request_id: str, session: SessionDep) -> PrivacyRequestPublic:
    stored = requests.get(session, request_id)
    if stored.kind != kind:
        raise HTTPException(404, f"no {kind} request {request_id}")
    return PrivacyRequestPublic.from_store(stored)


@router.post("/erasure-requests", response_model=PrivacyRequestPublic, status_code=202, responses=ERRORS)
def create_erasure_request(
    body: PrivacyRequestCreate, request: Request, session: SessionDep, settings: SettingsDep, response: Response,
    _caller: PrivacyAdmin,
) -> PrivacyRequestPublic:  # fmt: skip
    """Ask for a data subject to be erased everywhere: lake tables, old snapshots and files, the store.

    Idempotent: the same subject again returns that request; a failed one is queued again and resumes.
    """
    return _submit("erasure", body, request, session, settings, response)


@router.get("/erasure-requests/{request_id}", response_model=PrivacyRequestPublic, responses=ONE_REQUEST)
def get_erasure_request(request_id: RequestId, session: SessionDep, _caller: PrivacyAdmin) -> PrivacyRequestPublic:
    """An erasure's status and, once completed, its receipt: per table rows deleted, files rewritten and
    removed, and whether a search of every file found the subject's values nowhere."""
    return _get("erasure", request_id, session)


@router.post("/access-requests", response_model=PrivacyRequestPublic, status_code=202, responses=ERRORS)
def create_access_request(
    body: PrivacyRequestCreate, request: Request, session: SessionDep, settings: SettingsDep, response: Response,
    _caller: PrivacyAdmin,
) -> PrivacyRequestPublic:  # fmt: skip
    """Ask for a JSON export of every row held about a data subject, history and events included."""
    return _submit("access", body, request, session, settings, response)


@router.get("/access-requests/{request_id}", response_model=PrivacyRequestPublic, responses=ONE_REQUEST)
def get_access_request(request_id: RequestId, session: SessionDep, _caller: PrivacyAdmin) -> PrivacyRequestPublic:
    """An access request's status; once completed its export can be downloaded."""
    return _get("access", request_id, session)


@router.get(
    "/access-requests/{request_id}/export",
    response_class=FileResponse,
    responses={
        **ONE_REQUEST,
        200: {"content": {"application/json": {"example": EXPORT_EXAMPLE}}, "description": "the export"},
        409: {"model": ProblemPublic, "description": "the export is not ready yet"},
    },
)
def download_access_export(
    request_id: RequestId, session: SessionDep, settings: SettingsDep, _caller: PrivacyAdmin
) -> FileResponse:
    """Every row held about the subject, by table, as JSON."""
    stored = _get("access", request_id, session)
    if stored.status != requests.DONE:
        raise HTTPException(409, f"the export is not ready: the request is {stored.status}")
    folder = settings.privacy.exports_dir
    path = folder / f"{request_id}.json" if folder is not None else None
    if path is None or not path.exists():
        raise HTTPException(404, "the export is no longer kept")
    return FileResponse(path, media_type="application/json", filename=f"access-{request_id}.json")
