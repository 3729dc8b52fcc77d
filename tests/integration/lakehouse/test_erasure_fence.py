"""A build's writes are fenced against erasures: outputs computed from rows read before an erasure
are refused, so they cannot put the erased subject back."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from core.errors import ErasedDuringBuildError
from lakehouse import merge, write
from lakehouse.lake import Lake
from lakehouse.maintenance import expire_and_sweep
from lakehouse.query import read_arrow
from lakehouse.snapshots import erasure_properties
from schema.lake import ORDERS
from tests.integration.lakehouse.test_catalogs import one_order


def order_ids(lake: Lake) -> set[str]:
    return set(read_arrow(lake.table(ORDERS))["order_id"].to_pylist())


def erase(lake: Lake, order_id: str, *, purge: bool = False) -> None:
    """An erasure's delete (and its purge of every older snapshot), committed by another thread, the
    privacy worker's, outside any build's fence."""
    done: list[object] = []
    keys = pa.table({"order_id": [order_id]})

    def run() -> None:
        merge.delete_keys(lake.table(ORDERS), keys, properties=erasure_properties("req-1", datetime.now(UTC)))
        if purge:
            expire_and_sweep(lake.table(ORDERS), older_than=datetime.now(UTC), min_age_seconds=0)
        done.append(True)

    eraser = threading.Thread(target=run)
    eraser.start()
    eraser.join()
    assert done, "the erasure's delete did not commit"


@pytest.mark.parametrize("purged", [False, True], ids=["deleted", "deleted-and-purged"])
def test_a_write_computed_before_an_erasure_is_refused_and_the_subject_stays_gone(lake: Lake, purged: bool) -> None:
    table = lake.table(ORDERS)
    write.append(table, pa.concat_tables([one_order("web:1", "10.00"), one_order("web:2", "20.00")]))
    read_before = read_arrow(table)  # the build reads...

    with write.fenced_against_erasure(datetime.now(UTC)):
        erase(lake, "web:1", purge=purged)  # ...an erasure commits (and may expire every older snapshot)...
        with pytest.raises(ErasedDuringBuildError, match="erasure req-1"):
            write.replace_all(lake.table(ORDERS), read_before)  # ...and the build's output would bring web:1 back

    assert order_ids(lake) == {"web:2"}


def test_writes_pass_the_fence_when_no_erasure_came_after_it_went_up(lake: Lake) -> None:
    write.append(lake.table(ORDERS), pa.concat_tables([one_order("web:1", "10.00"), one_order("web:2", "20.00")]))
    erase(lake, "web:1")
    later = datetime.now(UTC) + timedelta(seconds=write.CLOCK_MARGIN_MS / 1000 + 1)

    with write.fenced_against_erasure(later):
        write.replace_all(lake.table(ORDERS), one_order("web:3", "30.00"))
    write.append(lake.table(ORDERS), one_order("web:4", "40.00"))  # no fence at all

    assert order_ids(lake) == {"web:3", "web:4"}


def test_the_fence_is_held_by_the_building_thread_only(lake: Lake) -> None:
    """The stream worker's threads keep committing while a build is fenced."""
    write.append(lake.table(ORDERS), one_order("web:1", "10.00"))
    errors: list[BaseException] = []

    def stream_commit() -> None:
        try:
            write.append(lake.table(ORDERS), one_order("web:5", "50.00"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    with write.fenced_against_erasure(datetime.now(UTC)):
        erase(lake, "web:1")
        other = threading.Thread(target=stream_commit)
        other.start()
        other.join()

    assert not errors and order_ids(lake) == {"web:5"}
