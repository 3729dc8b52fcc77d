"""The identity graph behind a customer, the evidence linking two identifiers, and manual overrides."""

from __future__ import annotations

from typing import Annotated, Any

import networkx as nx
from fastapi import APIRouter, Path, Query, Response
from sqlmodel import Session

from api.deps import IdentityWriter, ProfileReader, SessionDep, SettingsDep
from api.identity_models import (
    EvidencePathPublic,
    EvidenceStep,
    GraphNode,
    IdentityGraphPublic,
    OverrideCreate,
    OverridePublic,
    OverridesPublic,
)
from api.models import ProblemPublic, error_responses
from api.routes.customers import ERRORS, ONE_CUSTOMER, CustomerId
from core.config import Scope
from core.errors import NotFoundError
from core.masking import mask
from identity import overrides
from identity.explain import component_json, evidence_path, parse_node
from identity.graph import Node
from identity.state import linkage_of
from profiles import service
from profiles.projection import model_frame
from schema.store import EvidenceEdge

router = APIRouter(prefix="/v1", tags=["identity"])
WRITE_ERRORS = error_responses("identity:write")
NODE_HELP = "record:SOURCE:KEY (record:users:42) or an identifier as typed (email:Ann@Example.com, phone:…)"
Node_ = Annotated[str, Query(min_length=3, max_length=400, description=NODE_HELP)]


def _graph(session: Session, customer_id: str) -> nx.Graph:
    edges = service.list_graph_edges(session, customer_id=customer_id)
    frame = model_frame(EvidenceEdge, edges)
    return linkage_of(frame).networkx()


def _label(label: str, *, unmasked: bool) -> str:
    """A node label as the caller may see it: identifier values masked, and the device id inside a
    device session's record id (`record:devices:<device>|<user>`)."""
    kind, _, value = label.partition(":")
    if unmasked or kind == "user_id":
        return label
    if kind == "record":
        source, _, key = value.partition(":")
        device, bar, user = key.partition("|")
        return f"record:devices:{mask(device)}{bar}{user}" if source == "devices" else label
    return f"{kind}:{mask(value)}"


def _step(step: dict[str, Any], *, unmasked: bool) -> EvidenceStep:
    labelled = {**step, "from": _label(step["from"], unmasked=unmasked), "to": _label(step["to"], unmasked=unmasked)}
    return EvidenceStep.model_validate(labelled)


@router.get("/customers/{customer_id}/identity", response_model=IdentityGraphPublic, responses=ONE_CUSTOMER)
def get_identity_graph(customer_id: CustomerId, session: SessionDep, caller: ProfileReader) -> IdentityGraphPublic:
    """The customer's identity graph: every record and identifier, every link with its rule and score."""
    service.get(session, customer_id=customer_id)
    graph = _graph(session, customer_id)
    unmasked = caller.can(Scope.PII_READ)
    records = sorted(n for n in graph if n[0] == "record")
    whole = component_json(graph, records[0]) if records else {"nodes": [], "edges": []}
    return IdentityGraphPublic(
        customer_id=customer_id,
        nodes=[GraphNode(id=_label(n["id"], unmasked=unmasked), type=_node_type(n["id"])) for n in whole["nodes"]],
        edges=[_step(e, unmasked=unmasked) for e in whole["edges"]],
    )


def _node_type(label: str) -> str:
    return label.partition(":")[0]


@router.get(
    "/identity/why",
    response_model=EvidencePathPublic,
    responses={**ERRORS, 404: {"model": ProblemPublic, "description": "unknown, or not one customer"}},
)
def explain_link(
    a: Node_, b: Node_, session: SessionDep, settings: SettingsDep, caller: ProfileReader
) -> EvidencePathPublic:
    """Why two records or identifiers are one customer: the strongest chain of evidence between them."""
    region = settings.identity.default_region
    first, second = parse_node(a, default_region=region), parse_node(b, default_region=region)
    shared = _customers_of(session, first) & _customers_of(session, second)
    if not shared:
        raise NotFoundError("a and b belong to different customers")
    customer_id = min(shared)
    steps = evidence_path(_graph(session, customer_id), first, second)
    return EvidencePathPublic(
        customer_id=customer_id, steps=[_step(s, unmasked=caller.can(Scope.PII_READ)) for s in steps]
    )


def _customers_of(session: Session, node: Node) -> set[str]:
    if node[0] == "record":
        return service.customers_of_node(session, record_id=node[1], kind=None, value=None)
    return service.customers_of_node(session, record_id=None, kind=node[1], value=node[2])


@router.get("/identity/overrides", response_model=OverridesPublic, responses=WRITE_ERRORS)
def list_overrides(session: SessionDep, _caller: IdentityWriter) -> OverridesPublic:
    """Every must-link and cannot-link in force."""
    data = [OverridePublic.from_store(o) for o in overrides.list_overrides(session)]
    return OverridesPublic(data=data, count=len(data))


@router.post("/identity/overrides", response_model=OverridePublic, status_code=201, responses=WRITE_ERRORS)
def create_override(body: OverrideCreate, session: SessionDep, _caller: IdentityWriter) -> OverridePublic:
    """Record that two records are one person (must_link) or two (cannot_link); the next build applies it.

    Idempotent: the same decision about the same pair returns the stored one.
    """
    created = overrides.create(
        session, rule=body.rule, left_record=body.left_record, right_record=body.right_record, reason=body.reason
    )
    return OverridePublic.from_store(created)


@router.delete(
    "/identity/overrides/{override_id}",
    status_code=204,
    responses={**WRITE_ERRORS, 404: {"model": ProblemPublic, "description": "no such override"}},
)
def delete_override(
    override_id: Annotated[int, Path(ge=1, le=2**62)], session: SessionDep, _caller: IdentityWriter
) -> Response:
    """Forget an override; the next build no longer applies it."""
    overrides.delete(session, override_id=override_id)
    return Response(status_code=204)
