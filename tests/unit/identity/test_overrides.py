"""Manual overrides: stored once per pair, validated, forgotten on request, applied by every build."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from core.db import make_engine
from core.errors import InvalidInputError, NotFoundError
from identity import overrides
from identity.records import identifiers
from identity.resolve import resolve
from migrations import upgrade_head
from tests.unit.identity.test_resolve import partition, records


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade_head(url)
    engine = make_engine(url)
    with Session(engine) as opened:
        yield opened
    engine.dispose()


def test_a_decision_is_stored_once_whatever_the_order_of_its_records(session: Session) -> None:
    first = overrides.create(session, rule="must_link", left_record="users:9", right_record="orders:1", reason="call")
    again = overrides.create(session, rule="must_link", left_record="orders:1", right_record="users:9")
    assert again.id == first.id and (first.left_record, first.right_record) == ("orders:1", "users:9")
    overrides.create(session, rule="cannot_link", left_record="users:9", right_record="orders:1")
    assert [o.rule for o in overrides.list_overrides(session)] == ["must_link", "cannot_link"]


@pytest.mark.parametrize(
    ("rule", "left", "right", "message"),
    [
        ("merge", "a", "b", "rule must be one of"),
        ("must_link", "a", "a", "two different"),
        ("must_link", " ", "b", "non-empty"),
    ],
)
def test_bad_overrides_are_refused(session: Session, rule: str, left: str, right: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        overrides.create(session, rule=rule, left_record=left, right_record=right)


def test_deleting_an_unknown_override_is_a_clear_error(session: Session) -> None:
    created = overrides.create(session, rule="must_link", left_record="a", right_record="b")
    overrides.delete(session, override_id=created.id or 0)
    assert overrides.list_overrides(session) == []
    with pytest.raises(NotFoundError, match="no identity override"):
        overrides.delete(session, override_id=created.id or 0)


def test_the_fingerprint_changes_with_the_decisions(session: Session) -> None:
    assert overrides.fingerprint([]) == ""
    overrides.create(session, rule="must_link", left_record="a", right_record="b")
    one = overrides.fingerprint(overrides.list_overrides(session))
    overrides.create(session, rule="cannot_link", left_record="a", right_record="c")
    assert one and overrides.fingerprint(overrides.list_overrides(session)) not in ("", one)


def test_a_must_link_joins_records_with_nothing_in_common_and_a_cannot_link_wins_over_it(session: Session) -> None:
    frame = records([
        {"record_id": "users:1", "source": "users", "record_key": "1", "user_id": "1", "email": "ann@example.com"},
        {"record_id": "orders:7", "source": "orders", "record_key": "7", "loyalty_id": "LOY-000777"},
    ])  # fmt: skip
    found = identifiers(frame, default_region="US")
    overrides.create(session, rule="must_link", left_record="users:1", right_record="orders:7")
    must, cannot = overrides.as_constraints(overrides.list_overrides(session))
    joined = resolve(frame, found, max_people=3, default_region="US", build_id="b", must_links=must)
    assert partition(joined) == {frozenset({"1", "7"})}
    overrides.create(session, rule="cannot_link", left_record="users:1", right_record="orders:7", reason="two people")
    must, cannot = overrides.as_constraints(overrides.list_overrides(session))
    parted = resolve(
        frame, found, max_people=3, default_region="US", build_id="b", must_links=must, cannot_links=cannot
    )
    assert partition(parted) == {frozenset({"1"}), frozenset({"7"})}
    assert parted.cuts.select("reason", "rule").rows() == [("manual:two people", "manual:must_link")]
