"""Response and request models of the identity endpoints: graphs, evidence paths, overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schema.store import IdentityOverride

OVERRIDE_EXAMPLE: dict[str, Any] = {
    "id": 7, "rule": "cannot_link", "left_record": "users:8", "right_record": "users:9", "reason": "twins",
    "created_at": "2026-11-30T09:00:00Z",
}  # fmt: skip


class GraphNode(BaseModel):
    """A record (`record:users:42`) or an identifier (`email:…`, masked without `pii:read`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"id": "email:jane.doe@example.com", "type": "email"}]})

    id: str
    type: str = Field(description="record or the identifier kind")


class EvidenceStep(BaseModel):
    """One link: its rule and, for a probabilistic match, its probability and comparison levels."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [{"from": "record:users:1042", "to": "email:jane.doe@example.com", "rule": "exact:email"}]
        },
    )

    source: str = Field(alias="from")
    to: str
    rule: str
    probability: float | None = None
    evidence: str | None = None


class IdentityGraphPublic(BaseModel):
    """A customer's identity graph as the last build left it."""

    customer_id: str
    nodes: list[GraphNode]
    edges: list[EvidenceStep]


class EvidencePathPublic(BaseModel):
    """The strongest chain of links between two records or identifiers of one customer."""

    customer_id: str
    steps: list[EvidenceStep]


class OverrideCreate(BaseModel):
    """A steward's decision about two records, applied on the next identity build."""

    rule: Literal["must_link", "cannot_link"]
    left_record: str = Field(min_length=1, max_length=200, examples=["users:42"])
    right_record: str = Field(min_length=1, max_length=200, examples=["orders:pos:100731"])
    reason: str = Field("", max_length=500)


class OverridePublic(BaseModel):
    """A stored override."""

    model_config = ConfigDict(json_schema_extra={"examples": [OVERRIDE_EXAMPLE]})

    id: int
    rule: str
    left_record: str
    right_record: str
    reason: str
    created_at: datetime

    @classmethod
    def from_store(cls, override: IdentityOverride) -> OverridePublic:
        """From a store row."""
        return cls.model_validate(override, from_attributes=True)


class OverridesPublic(BaseModel):
    """Every override in force."""

    data: list[OverridePublic]
    count: int
