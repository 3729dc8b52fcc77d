"""Privacy requests in the operational store: taking them in (idempotently), and what erasure does there.

A request keeps the identifier it was given, then the subject's keys, in `pending` until it is
done; then `pending` is cleared and only the salted subject hash and the receipt (counts) remain.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import and_, delete, or_, update
from sqlmodel import Session, col, select

from core.db import lock_for_writing
from core.errors import InvalidInputError, NotFoundError
from identity.normalize import IDENTIFIER_KINDS, IdentifierKind, normalize_identifier
from privacy.hashing import identifier_hash
from privacy.subject import Subject
from schema.store import (
    SERVING_MODELS,
    CustomerRedirect,
    IdentityOverride,
    PrivacyRequest,
    ServingBuild,
    Suppression,
)

RequestKind = Literal["erasure", "access"]
SubjectKind = Literal["email", "phone", "loyalty_id", "user_id", "device_id", "marketplace_buyer_id", "customer_id"]
DONE, FAILED = "completed", "failed"
# Serving tables keyed by customer, derived so a new one is erased from too.
CUSTOMER_TABLES = tuple(m for m in SERVING_MODELS if "customer_id" in m.model_fields)


def submit(
    session: Session,
    *,
    kind: RequestKind,
    subject_kind: SubjectKind,
    value: str,
    reason: str,
    key: bytes,
    default_region: str,
    now: datetime,
) -> tuple[PrivacyRequest, bool]:
    """Take a request in; (request, created). The same request again is that one; a failed one is queued again.

    A failed erasure keeps the subject's keys it resolved, so running it again finishes the job even
    though the subject can no longer be resolved from the lake.
    """
    normalised = value.strip() if subject_kind == "customer_id" else _normalised(subject_kind, value, default_region)
    subject_hash = identifier_hash(key, subject_kind, normalised)
    earlier = session.exec(
        select(PrivacyRequest)
        .where(PrivacyRequest.kind == kind, PrivacyRequest.subject_hash == subject_hash)
        .order_by(col(PrivacyRequest.created_at).desc())
    ).first()
    if earlier is not None:
        if earlier.status == FAILED:
            earlier.status, earlier.error, earlier.updated_at = "received", None, now
            session.add(earlier)
            session.commit()
            session.refresh(earlier)
        return earlier, False
    request = PrivacyRequest(
        id=uuid.uuid4().hex, kind=kind, status="received", subject_hash=subject_hash, reason=reason, created_at=now,
        updated_at=now, pending=json.dumps({"kind": subject_kind, "value": normalised}),
    )  # fmt: skip
    session.add(request)
    session.commit()
    session.refresh(request)
    return request, True


def _normalised(kind: IdentifierKind, value: str, default_region: str) -> str:
    normalised = normalize_identifier(kind, value, default_region=default_region)
    if normalised is None:
        raise InvalidInputError(f"the {kind} given cannot be normalised")
    return normalised


def get(session: Session, request_id: str) -> PrivacyRequest:
    """One request; NotFoundError when there is none."""
    request = session.get(PrivacyRequest, request_id)
    if request is None:
        raise NotFoundError(f"no privacy request {request_id}")
    return request


STALE = timedelta(minutes=15)  # a running request untouched this long lost its runner (each step touches it)


def claim(session: Session, request_id: str, *, now: datetime, takeover: bool = False) -> bool:
    """Take a request to carry it out: one waiting, one whose runner went silent for STALE, or (`takeover`,
    an operator resuming after a crash) any unfinished one. At most one runner wins the update."""
    taken = or_(
        col(PrivacyRequest.status) == "received",
        and_(col(PrivacyRequest.status) == "running", col(PrivacyRequest.updated_at) < now - STALE),
    )
    if takeover:
        taken = col(PrivacyRequest.status).in_(("received", "running"))
    result = session.execute(
        update(PrivacyRequest)
        .where(col(PrivacyRequest.id) == request_id, taken)
        .values(status="running", updated_at=now)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def unfinished(session: Session) -> list[str]:
    """Requests taken in or started and not finished: what a restarted worker resumes, oldest first."""
    statement = select(PrivacyRequest.id).where(col(PrivacyRequest.status).in_(("received", "running")))
    return list(session.exec(statement.order_by(col(PrivacyRequest.created_at))))


def suppress(session: Session, subject: Subject, *, request_id: str, key: bytes, now: datetime) -> int:
    """Record salted hashes of the identifiers only the subject held, and their account ids; how many are new."""
    values = {*subject.identifiers, *(("user_id", str(u)) for u in subject.user_ids)}
    hashes = {(kind, identifier_hash(key, kind, value)) for kind, value in values if kind in IDENTIFIER_KINDS}
    stored = select(Suppression.kind, Suppression.value_hash).where(
        col(Suppression.value_hash).in_([h for _, h in hashes])
    )
    new = sorted(hashes - {(k, h) for k, h in session.exec(stored)})
    session.add_all(Suppression(kind=k, value_hash=h, request_id=request_id, created_at=now) for k, h in new)
    return len(new)


def forget_in_store(session: Session, subject: Subject) -> int:
    """Delete the subject's serving rows, redirects and identity overrides; rows deleted.

    Takes turns with a build's serving swap (`core.db.lock_for_writing`), so the swap either lands
    first and its rows are deleted here, or lands after and finds the erasure (see `project`).
    """
    lock_for_writing(session, ServingBuild.__tablename__)
    ids = list(subject.customer_ids)
    records = [*(f"users:{u}" for u in subject.user_ids), *(f"orders:{o}" for o in subject.order_ids)]
    statements = [delete(model).where(col(model.customer_id).in_(ids)) for model in CUSTOMER_TABLES]  # type: ignore[attr-defined]
    # redirects into the subject; one from an old id split between them and a member is the member's
    statements.append(delete(CustomerRedirect).where(col(CustomerRedirect.new_customer_id).in_(ids)))
    statements.append(
        delete(IdentityOverride).where(
            or_(col(IdentityOverride.left_record).in_(records), col(IdentityOverride.right_record).in_(records))
        )
    )
    return sum(session.execute(statement).rowcount for statement in statements)  # type: ignore[attr-defined]
