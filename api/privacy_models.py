"""Request and response models of the privacy endpoints."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schema.store import PrivacyRequest

REQUEST_EXAMPLE: dict[str, Any] = {
    "id": "9f728bb5e83d41b59b77177f742540ff",
    "kind": "erasure",
    "status": "completed",
    "reason": "customer asked by e-mail, ticket 4411",
    "created_at": "2026-12-04T12:00:00Z",
    "updated_at": "2026-12-04T12:00:09Z",
    "error": None,
    "receipt": {
        "verified": True,
        "identifiers_suppressed": 5,
        "identifiers_kept_shared": 1,
        "store_rows_deleted": 41,
        "tables": [
            {
                "table": "conformed.users",
                "rows_deleted": 2,
                "files_rewritten": 1,
                "files_removed": 6,
                "snapshots_expired": 3,
                "files_searched": 4,
                "clean": True,
            },
        ],
    },  # fmt: skip
}


CREATE_EXAMPLE = {"identifier_kind": "email", "value": "ann@example.com", "reason": "ticket 4411"}


class PrivacyRequestCreate(BaseModel):
    """Who the request is about: one identifier (normalised as at ingestion) or a golden customer id."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"identifier_kind": "email", "value": "ann@example.com", "reason": "ticket 4411"}]
        },
    )

    identifier_kind: Literal[
        "email", "phone", "loyalty_id", "user_id", "device_id", "marketplace_buyer_id", "customer_id"
    ] = Field(description="what `value` is")
    value: str = Field(min_length=1, max_length=320)
    reason: str = Field("", max_length=500, description="why, kept with the request")

    @model_validator(mode="after")
    def _not_blank(self) -> PrivacyRequestCreate:
        if not self.value.strip():
            raise ValueError("value must not be blank")
        return self


class PrivacyRequestPublic(BaseModel):
    """A privacy request's status and, once done, its receipt (counts only, never personal data)."""

    model_config = ConfigDict(json_schema_extra={"examples": [REQUEST_EXAMPLE]})

    id: str
    kind: Literal["erasure", "access"]
    status: Literal["received", "running", "completed", "failed"]
    reason: str
    created_at: datetime
    updated_at: datetime
    error: str | None = Field(None, description="why it failed; send the request again to retry")
    receipt: dict[str, Any] | None = Field(None, description="per table counts and the verification result")

    @classmethod
    def from_store(cls, request: PrivacyRequest) -> PrivacyRequestPublic:
        """From a store row; an access receipt's file path stays on the server."""
        receipt = json.loads(request.receipt) if request.receipt else None
        if receipt is not None:
            receipt.pop("export", None)
        return cls(
            id=request.id, kind=request.kind, status=request.status, reason=request.reason,
            created_at=request.created_at, updated_at=request.updated_at, error=request.error, receipt=receipt,
        )  # fmt: skip
