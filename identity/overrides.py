"""Manual identity overrides: must-link and cannot-link decisions kept in the operational store.

A data steward who knows two records are one person (or two people) records it once; every build
applies it (`identity.resolve`: a must-link is an edge no cut removes, a cannot-link a constraint
cut at the weakest evidence). A pair is stored with its records in sorted order, so recording the
same decision twice is one row.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.errors import InvalidInputError, NotFoundError
from identity.constraints import MANUAL, CannotLink
from schema.store import IdentityOverride

Rule = Literal["must_link", "cannot_link"]
RULES: tuple[Rule, ...] = ("must_link", "cannot_link")


def create(session: Session, *, rule: str, left_record: str, right_record: str, reason: str = "") -> IdentityOverride:
    """Record a decision (idempotent: the same rule for the same pair returns the stored one)."""
    if rule not in RULES:
        raise InvalidInputError(f"rule must be one of {', '.join(RULES)}, not {rule!r}")
    left, right = sorted((left_record.strip(), right_record.strip()))
    if not left or left == right:
        raise InvalidInputError("an override needs two different, non-empty record ids")
    stored = select(IdentityOverride).where(
        IdentityOverride.rule == rule, IdentityOverride.left_record == left, IdentityOverride.right_record == right
    )
    existing = session.exec(stored).first()
    if existing is not None:
        return existing
    override = IdentityOverride(
        rule=rule, left_record=left, right_record=right, reason=reason, created_at=datetime.now(UTC)
    )
    session.add(override)
    try:
        session.commit()
    except IntegrityError:  # recorded concurrently by someone else: theirs is the stored decision
        session.rollback()
        return session.exec(stored).one()
    session.refresh(override)
    return override


def list_overrides(session: Session) -> list[IdentityOverride]:
    """Every override, oldest first."""
    return list(session.exec(select(IdentityOverride).order_by(IdentityOverride.id)))  # type: ignore[arg-type]


def delete(session: Session, *, override_id: int) -> None:
    """Forget a decision; the next build no longer applies it."""
    override = session.get(IdentityOverride, override_id)
    if override is None:
        raise NotFoundError(f"no identity override {override_id}")
    session.delete(override)
    session.commit()


def fingerprint(overrides: list[IdentityOverride]) -> str:
    """A digest of the decisions in force: the gold layer is rebuilt when it changes."""
    lines = sorted(f"{o.rule}\t{o.left_record}\t{o.right_record}" for o in overrides)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16] if lines else ""


def as_constraints(overrides: list[IdentityOverride]) -> tuple[list[tuple[str, str]], list[CannotLink]]:
    """(must-link pairs, cannot-links) for `identity.resolve`."""
    must = [(o.left_record, o.right_record) for o in overrides if o.rule == "must_link"]
    cannot = [
        CannotLink(o.left_record, o.right_record, f"{MANUAL}{o.reason or 'cannot_link'}")
        for o in overrides
        if o.rule == "cannot_link"
    ]
    return must, cannot
