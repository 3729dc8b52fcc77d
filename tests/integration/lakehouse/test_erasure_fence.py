"""A build's writes are fenced against erasures: outputs computed from rows read before an erasure
are refused, so they cannot put the erased subject back."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from core.errors import ErasureFencedError
from lakehouse import merge, write
from lakehouse.lake import Lake
from lakehouse.maintenance import expire_and_sweep
from lakehouse.query import read_arrow
from lakehouse.snapshots import erasure_properties, erasure_since
from privacy.erase import mark_tables
from schema import lake as tables
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
        with pytest.raises(ErasureFencedError, match="erasure req-1"):
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


def test_fenced_work_refused_by_an_erasure_runs_again_and_reads_afresh(lake: Lake) -> None:
    """The first run reads the table, an erasure commits, and its write is refused; the second run, a clock
    margin later, reads the table as the erasure left it. Work an erasure refuses every time gives up."""
    write.append(lake.table(ORDERS), pa.concat_tables([one_order("web:1", "10.00"), one_order("web:2", "20.00")]))
    runs: list[set[str]] = []

    def copy_with_one_more() -> str:
        read = read_arrow(lake.table(ORDERS))
        runs.append(set(read["order_id"].to_pylist()))
        if len(runs) == 1:
            erase(lake, "web:1")
        copied = [*runs[-1], f"web:{2 + len(runs)}"]
        write.replace_all(lake.table(ORDERS), pa.concat_tables([one_order(i, "1.00") for i in sorted(copied)]))
        return "done"

    assert write.fenced_retrying(copy_with_one_more, what="copying") == "done"
    assert runs == [{"web:1", "web:2"}, {"web:2"}]
    assert order_ids(lake) == {"web:2", "web:4"}

    def always_refused() -> None:
        write.mark(lake.table(ORDERS), erasure_properties("req-2", datetime.now(UTC)))  # a mark as erasures make
        write.append(lake.table(ORDERS), one_order("web:9", "9.00"))

    with pytest.raises(ErasureFencedError):
        write.fenced_retrying(always_refused, what="appending", attempts=2)
    assert "web:9" not in order_ids(lake)


def test_an_erasure_marks_every_table_even_those_without_the_subjects_rows(lake: Lake) -> None:
    """A writer that read before the mark is refused on any table, whether or not the erasure deletes there."""
    write.append(lake.table(ORDERS), one_order("web:1", "10.00"))
    started = datetime.now(UTC)
    mark_tables(lake, request_id="req-3")

    since = int(started.timestamp() * 1000)
    assert all(erasure_since(lake.table(definition), since) == "req-3" for definition in tables.ALL_TABLES)
    assert order_ids(lake) == {"web:1"}, "a mark deletes nothing"
    with write.fenced_against_erasure(started), pytest.raises(ErasureFencedError, match="req-3"):
        write.append(lake.table(ORDERS), one_order("web:2", "20.00"))


def test_an_append_planned_while_an_erasure_purges_the_files_it_read_is_planned_again(lake: Lake) -> None:
    """The purge deletes the manifest list of the snapshot the append was planned on: not a crash, a re-plan."""
    write.append(lake.table(ORDERS), pa.concat_tables([one_order("web:1", "10.00"), one_order("web:2", "20.00")]))
    write.append(lake.table(ORDERS), one_order("web:3", "30.00"))
    plans = 0

    def plan(_: object) -> tuple[pa.Table, dict[str, str]]:
        nonlocal plans
        plans += 1
        if plans == 1:
            erase(lake, "web:1", purge=True)
        return one_order("web:4", "40.00"), {}

    write.append_checked(lake.table(ORDERS), plan)

    assert plans == 2 and order_ids(lake) == {"web:2", "web:3", "web:4"}
