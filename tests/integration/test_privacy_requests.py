"""Privacy requests end to end on a lakehouse of the sample's first lines: erasure through the worker and
`c360 erase` (a crash mid-erasure resumes and completes), idempotent requests, the hash-chained
append-only ledger, and access exports."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import polars as pl
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session, select

from core.config import Settings
from core.db import make_engine
from core.errors import ErasureFencedError
from ingest.entities import USERS
from ingest.sources.files import FileSource
from ingest.stream import consume_events, stream_worker
from ingest.worker import Worker
from lakehouse.lake import Lake
from lakehouse.query import read_polars
from lakehouse.write import CLOCK_MARGIN_MS
from pipeline import store_suppressor
from privacy import requests
from privacy.hashing import identifier_hash, salt
from privacy.ledger import verify_chain
from privacy.suppression import StoreSuppressor
from privacy.worker import PrivacyWorker
from schema import lake as tables
from schema.store import CustomerProfile, LedgerEntry, PrivacyRequest, Suppression
from tests.conftest import ALL_KEY, READ_KEY, SMALL_ROWS, register_test_keys
from tests.streams import kafka_settings, produce
from tests.support import SAMPLE_DIR, serving

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def settings(small: Settings) -> Settings:
    """The small lakehouse, with erasure sweeping every unreferenced file (nothing else writes to it)."""
    return small.model_copy(update={"privacy": small.privacy.model_copy(update={"sweep_min_age_seconds": 0})})


@pytest.fixture(scope="module")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(str(settings.store.url))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def lake(settings: Settings) -> Iterator[Lake]:
    with Lake.open(settings.catalog) as opened:
        yield opened


def accounts(lake: Lake) -> pl.DataFrame:
    """Current accounts of served customers with an e-mail only they hold, most records first."""
    links = read_polars(lake.table(tables.IDENTITY_LINKS))
    emails = links.filter(pl.col("kind") == "email", pl.col("rule").str.starts_with("exact:"))
    users = read_polars(lake.table(tables.USERS), row_filter="is_current == true", columns=("user_id", "email"))
    sizes = links.group_by("customer_id").len()
    owners = links.filter(pl.col("kind") == "users").select(
        "customer_id", pl.col("value").cast(pl.Int64).alias("user_id")
    )
    joined = owners.join(users, on="user_id").join(emails.select("customer_id"), on="customer_id", how="semi")
    return joined.join(sizes, on="customer_id").sort("len", "customer_id", descending=True)


def submit(engine: Engine, settings: Settings, kind: str, subject_kind: str, value: str) -> tuple[PrivacyRequest, bool]:
    with Session(engine) as session:
        return requests.submit(
            session, kind=kind, subject_kind=subject_kind, value=value, reason="test", key=salt(settings),  # type: ignore[arg-type]
            default_region="US", now=NOW,
        )  # fmt: skip


def test_an_erasure_request_completes_verified_leaves_a_receipt_and_is_idempotent(
    settings: Settings, engine: Engine, lake: Lake
) -> None:
    subject = accounts(lake).row(0, named=True)
    request, created = submit(engine, settings, "erasure", "email", subject["email"].upper())
    assert created and request.status == "received"

    done = PrivacyWorker(settings, lake, engine, clock=lambda: NOW).run(request.id)

    assert done.status == "completed", done.error
    receipt = json.loads(done.receipt or "{}")
    assert receipt["verified"] and receipt["identifiers_suppressed"] > 0 and receipt["store_rows_deleted"] > 0
    assert subject["email"] not in (done.receipt or "") and done.pending is None, "the request keeps no PII"
    with Session(engine) as session:
        assert session.get(CustomerProfile, subject["customer_id"]) is None
        entries = session.exec(select(LedgerEntry)).all()
        assert [e.request_id for e in entries] == [request.id] and verify_chain(session)
        assert session.exec(select(Suppression).where(Suppression.request_id == request.id)).all()
    again, created = submit(engine, settings, "erasure", "email", subject["email"])
    assert (again.id, created) == (request.id, False), "a repeated request is the same request"
    assert PrivacyWorker(settings, lake, engine).run(request.id).status == "completed"
    with Session(engine) as session:
        assert len(session.exec(select(LedgerEntry)).all()) == 1, "a completed request is not carried out twice"


def test_an_erased_subject_leaves_no_trace_in_the_stores_files(settings: Settings, engine: Engine, lake: Lake) -> None:
    """SQLite keeps deleted and overwritten rows in free pages and in its write-ahead log until reused: the
    store's files are read as bytes, independently of SQLite, for the subject's e-mail. They are read by
    another process: closing a file this process opened would drop its SQLite connections' POSIX locks."""
    subject = accounts(lake).row(0, named=True)
    store = Path(str(settings.store.url).removeprefix("sqlite:///"))
    search = (
        "import sys, pathlib; store = pathlib.Path(sys.argv[1]); needle = sys.argv[2].encode()\n"
        "print(*(p.name for p in sorted(store.parent.glob(store.name + '*')) if needle in p.read_bytes()))"
    )

    def traces() -> list[str]:
        found = subprocess.run([sys.executable, "-c", search, store, subject["email"]], capture_output=True, check=True)
        return found.stdout.decode().split()

    assert traces(), "the served profile holds the e-mail before"
    request, _ = submit(engine, settings, "erasure", "email", subject["email"])

    assert PrivacyWorker(settings, lake, engine).run(request.id).status == "completed"
    assert traces() == []


def test_the_ledger_refuses_updates_and_deletes(engine: Engine) -> None:
    for statement in ("UPDATE privacy_ledger SET receipt = '{}'", "DELETE FROM privacy_ledger"):
        with engine.begin() as connection, pytest.raises(DatabaseError, match="append-only"):
            connection.execute(text(statement))


def test_a_crash_mid_erasure_resumes_and_completes(settings: Settings, engine: Engine, lake: Lake) -> None:
    """`c360 erase` is killed after deleting rows and before purging old files; `c360 erase --resume` finishes."""
    subject = accounts(lake).row(1, named=True)
    env = {**os.environ, "C360_HOME": str(settings.home), "C360_PRIVACY__SWEEP_MIN_AGE_SECONDS": "0"}
    command = [str(Path(sys.executable).parent / "c360"), "erase", "--email", subject["email"]]
    crashed = subprocess.run(command, env={**env, "C360_FAILPOINT": "erase:purge"}, capture_output=True, check=False)
    assert crashed.returncode == -9, crashed.stderr.decode()
    with Session(engine) as session:
        interrupted = session.exec(select(PrivacyRequest).where(PrivacyRequest.status == "running")).one()
        assert interrupted.step == "deleted" and interrupted.pending
    resumed = subprocess.run([*command[:2], "--resume"], env=env, capture_output=True, check=False)
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert f"{interrupted.id}: completed" in resumed.stderr.decode()
    with Session(engine) as session:
        finished = session.get(PrivacyRequest, interrupted.id)
        assert finished is not None and json.loads(finished.receipt or "{}")["verified"]
    users = read_polars(lake.table(tables.USERS), columns=("user_id",))
    assert subject["user_id"] not in set(users["user_id"])


def test_an_access_request_exports_the_subjects_rows_only_to_the_service_user(
    settings: Settings, engine: Engine, lake: Lake
) -> None:
    subject = accounts(lake).row(0, named=True)
    request, _ = submit(engine, settings, "access", "customer_id", subject["customer_id"])

    done = PrivacyWorker(settings, lake, engine, clock=lambda: NOW).run(request.id)

    assert done.status == "completed", done.error
    path = Path(json.loads(done.receipt or "{}")["export"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    export = json.loads(path.read_text())
    rows = export["tables"]
    assert {r["user_id"] for r in rows[tables.USERS.full_name]} == {subject["user_id"]}
    assert {r["customer_id"] for r in rows[tables.CUSTOMERS.full_name]} == {subject["customer_id"]}
    assert rows[tables.ORDERS.full_name] and rows[tables.EVENTS.full_name] and rows[tables.RAW_PG_USERS.full_name]
    with Session(engine) as session:
        assert not session.exec(select(LedgerEntry).where(LedgerEntry.request_id == request.id)).all()
    erasure, _ = submit(engine, settings, "erasure", "customer_id", subject["customer_id"])
    erased = PrivacyWorker(settings, lake, engine).run(erasure.id)
    assert json.loads(erased.receipt or "{}")["access_exports_deleted"] == 1 and not path.exists()


@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[str]:
    """The API over the small lakehouse; the tests play the privacy worker themselves."""
    from api.main import create_app

    register_test_keys(settings)
    with serving(create_app(settings)) as base:
        yield base


def test_the_api_takes_requests_in_and_shows_them_carried_out(
    api: str, settings: Settings, engine: Engine, lake: Lake
) -> None:
    subject = accounts(lake).row(0, named=True)
    body = {"identifier_kind": "user_id", "value": str(subject["user_id"]), "reason": "ticket 7"}
    with httpx.Client(base_url=api, headers={"X-API-Key": ALL_KEY}) as client:
        assert (
            client.post("/v1/privacy/erasure-requests", json=body, headers={"X-API-Key": READ_KEY}).status_code == 403
        )
        assert client.post("/v1/privacy/erasure-requests", json={**body, "value": " "}).status_code == 422
        taken = client.post("/v1/privacy/erasure-requests", json=body)
        assert taken.status_code == 202 and taken.json()["status"] == "received"
        request_id = taken.json()["id"]
        assert taken.headers["location"].endswith(f"/v1/privacy/erasure-requests/{request_id}")
        assert client.post("/v1/privacy/erasure-requests", json=body).json()["id"] == request_id
        other = accounts(lake).row(1, named=True)["customer_id"]
        access_body = {**body, "identifier_kind": "customer_id", "value": other}
        access = client.post("/v1/privacy/access-requests", json=access_body)
        export_url = f"/v1/privacy/access-requests/{access.json()['id']}/export"
        assert client.get(export_url).status_code == 409, "not ready before the worker ran"
        assert client.get(f"/v1/privacy/access-requests/{request_id}").status_code == 404, "an erasure is no access"

        PrivacyWorker(settings, lake, engine).resume_all()

        done = client.get(f"/v1/privacy/erasure-requests/{request_id}").json()
        assert done["status"] == "completed" and done["receipt"]["verified"], done
        assert sum(t["rows_deleted"] for t in done["receipt"]["tables"]) > 0
        export = client.get(export_url)
        assert export.status_code == 200 and export.json()["tables"][tables.USERS.full_name]
        assert "export" not in client.get(f"/v1/privacy/access-requests/{access.json()['id']}").json()["receipt"]


def test_replaying_the_event_stream_does_not_bring_an_erased_subject_back(
    settings: Settings, engine: Engine, lake: Lake, kafka_bootstrap: str, topic: str
) -> None:
    """The sample's event lines go through the topic again after an erasure: the subject's are dropped unwritten
    (their offsets still pass), everyone else's events land, and the counts add up."""
    subject = accounts(lake).row(0, named=True)
    request, _ = submit(engine, settings, "erasure", "customer_id", subject["customer_id"])
    assert PrivacyWorker(settings, lake, engine).run(request.id).status == "completed"
    lines = (SAMPLE_DIR / "events.jsonl").read_text().splitlines()[: SMALL_ROWS * 5]
    events = [json.loads(line) for line in lines]
    theirs = {e["event_id"] for e in events if e.get("user_id") == subject["user_id"]}
    assert theirs, "the subject had no events to replay"
    produce(kafka_bootstrap, topic, events)
    kafka = kafka_settings(kafka_bootstrap, topic)

    worker = consume_events(
        stream_worker(lake, kafka, suppressor=store_suppressor(settings, engine)), kafka,
        stop=threading.Event(), idle_seconds=1.0,
    )  # fmt: skip

    batches = worker.batches
    assert sum(b.suppressed for b in batches) >= len(theirs)
    assert sum(b.read for b in batches) == sum(b.landed + b.skipped + b.suppressed for b in batches) == len(events)
    landed = read_polars(lake.table(tables.EVENTS), columns=("event_id",))["event_id"]
    assert not theirs & set(landed), "a replayed event of the erased subject landed"
    assert set(landed) & ({e["event_id"] for e in events} - theirs), "nobody else's events landed"
    raw = read_polars(lake.table(tables.RAW_EVENTS), columns=("topic", "payload")).filter(pl.col("topic") == topic)
    assert not raw["payload"].str.contains(f'"user_id": {subject["user_id"]},', literal=True).any()


def test_loading_an_erased_subjects_account_again_drops_it_and_the_counts_add_up(
    settings: Settings, engine: Engine, lake: Lake, tmp_path: Path
) -> None:
    """A new export holding the subject's account row (as the source spells it) and someone else's."""
    subject = accounts(lake).row(0, named=True)
    other = accounts(lake).row(1, named=True)
    request, _ = submit(engine, settings, "erasure", "customer_id", subject["customer_id"])
    assert PrivacyWorker(settings, lake, engine).run(request.id).status == "completed"
    header, *rows = (SAMPLE_DIR / "users.csv").read_text().splitlines()
    lines = [r for r in rows if r.split(",", 1)[0] in (str(subject["user_id"]), str(other["user_id"]))]
    (tmp_path / "users.csv").write_text("\n".join([header, *lines]) + "\n")

    worker = Worker(lake, FileSource(tmp_path), suppressor=store_suppressor(settings, engine))
    [run] = worker.run((USERS,))

    [counts] = run.batches
    assert (counts.read, counts.written, counts.suppressed) == (2, 1, 1) and counts.balanced
    users = read_polars(lake.table(tables.RAW_PG_USERS), columns=("user_id",))["user_id"]
    assert subject["user_id"] not in set(users) and other["user_id"] in set(users)


def erasure_after_first_check(
    monkeypatch: pytest.MonkeyPatch, suppressor: StoreSuppressor, run_erasure: Callable[[], PrivacyRequest]
) -> list[PrivacyRequest]:
    """The privacy worker's thread carries an erasure out right after a batch first reads the suppression
    list, before the batch commits; what it did is appended to the list returned."""
    done: list[PrivacyRequest] = []
    check = suppressor.active

    def check_then_erasure() -> bool:
        answer = check()
        if not done:
            worker = threading.Thread(target=lambda: done.append(run_erasure()))
            worker.start()
            worker.join()
        return answer

    monkeypatch.setattr(suppressor, "active", check_then_erasure)
    return done


def test_a_batch_that_read_the_suppression_list_before_an_erasure_lands_again_without_the_subject(
    settings: Settings, engine: Engine, lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The erasure completes between the batch's suppression check and its commit: the erasure's mark refuses
    the commit, and the landing runs again, now dropping the subject's account."""
    subject = accounts(lake).row(0, named=True)
    other = accounts(lake).row(1, named=True)
    request, _ = submit(engine, settings, "erasure", "customer_id", subject["customer_id"])
    header, *rows = (SAMPLE_DIR / "users.csv").read_text().splitlines()
    lines = [r for r in rows if r.split(",", 1)[0] in (str(subject["user_id"]), str(other["user_id"]))]
    (tmp_path / "users.csv").write_text("\n".join([header, *lines]) + "\n")
    suppressor = store_suppressor(settings, engine)
    privacy = PrivacyWorker(settings, lake, engine)
    erased = erasure_after_first_check(monkeypatch, suppressor, lambda: privacy.run(request.id))

    [run] = Worker(lake, FileSource(tmp_path), suppressor=suppressor).run((USERS,))

    assert erased and erased[0].status == "completed", erased and erased[0].error
    [counts] = run.batches
    assert (counts.read, counts.written, counts.suppressed) == (2, 1, 1) and counts.balanced
    for table in (tables.RAW_PG_USERS, tables.USERS):
        users = set(read_polars(lake.table(table), columns=("user_id",))["user_id"])
        assert subject["user_id"] not in users and other["user_id"] in users, table.full_name


def test_a_stream_batch_planned_before_an_erasure_commits_without_the_subject(
    settings: Settings, engine: Engine, lake: Lake, kafka_bootstrap: str, topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The erasure completes while the first micro-batch is planned: its mark makes the batch's commit
    conflict, and the batch is planned again, reading the suppression list again."""
    events = [json.loads(line) for line in (SAMPLE_DIR / "events.jsonl").read_text().splitlines()[: SMALL_ROWS * 5]]
    active = {e.get("user_id") for e in events}
    subject = next(a for a in accounts(lake).iter_rows(named=True) if a["user_id"] in active)
    request, _ = submit(engine, settings, "erasure", "customer_id", subject["customer_id"])
    theirs = {e["event_id"] for e in events if e.get("user_id") == subject["user_id"]}
    produce(kafka_bootstrap, topic, events)
    kafka = kafka_settings(kafka_bootstrap, topic)
    suppressor = store_suppressor(settings, engine)
    privacy = PrivacyWorker(settings, lake, engine)
    erased = erasure_after_first_check(monkeypatch, suppressor, lambda: privacy.run(request.id))

    worker = consume_events(
        stream_worker(lake, kafka, suppressor=suppressor), kafka, stop=threading.Event(), idle_seconds=1.0
    )

    assert erased and erased[0].status == "completed", erased and erased[0].error
    batches = worker.batches
    assert sum(b.suppressed for b in batches) >= len(theirs)
    assert sum(b.read for b in batches) == sum(b.landed + b.skipped + b.suppressed for b in batches) == len(events)
    landed = set(read_polars(lake.table(tables.EVENTS), columns=("event_id",))["event_id"])
    assert not theirs & landed and landed & ({e["event_id"] for e in events} - theirs)


def test_a_failed_request_says_why_and_sending_it_again_queues_it_again(
    settings: Settings, engine: Engine, lake: Lake
) -> None:
    request, _ = submit(engine, settings, "erasure", "customer_id", "C-000000000000")
    failed = PrivacyWorker(settings, lake, engine).run(request.id)
    assert failed.status == "failed" and "no such customer" in (failed.error or "")
    again, created = submit(engine, settings, "erasure", "customer_id", "C-000000000000")
    assert (again.id, again.status, again.error, created) == (request.id, "received", None, False)


def test_a_request_is_carried_out_by_one_runner_at_a_time(settings: Settings, engine: Engine) -> None:
    request, _ = submit(engine, settings, "erasure", "customer_id", "C-000000000001")
    with Session(engine) as session:
        assert requests.claim(session, request.id, now=NOW)
        assert not requests.claim(session, request.id, now=NOW + timedelta(minutes=1)), "another runner holds it"
        later = NOW + requests.STALE + timedelta(minutes=1)
        assert requests.claim(session, request.id, now=later), "its runner went silent: it is taken over"
        assert requests.claim(session, request.id, now=later, takeover=True), "an operator resumes it"


def test_access_exports_are_deleted_once_kept_longer_than_the_retention(
    settings: Settings, engine: Engine, lake: Lake, api: str
) -> None:
    subject = accounts(lake).row(1, named=True)
    request, _ = submit(engine, settings, "access", "customer_id", subject["customer_id"])
    written = datetime.now(UTC)
    done = PrivacyWorker(settings, lake, engine, clock=lambda: written).run(request.id)
    receipt = json.loads(done.receipt or "{}")
    path = Path(receipt["export"])
    retention = timedelta(hours=settings.privacy.export_retention_hours)
    assert datetime.fromisoformat(receipt["expires_at"]) == written + retention
    stranger = Path(path.parent / "kept-by-an-operator.txt")
    stranger.write_text("not an export")
    os.utime(stranger, (0, 0))

    just_before = PrivacyWorker(settings, lake, engine, clock=lambda: written + retention - timedelta(minutes=1))
    assert just_before.expire_exports() == 0 and path.exists()
    download = f"{api}/v1/privacy/access-requests/{request.id}/export"
    assert httpx.get(download, headers={"X-API-Key": ALL_KEY}).status_code == 200

    after = PrivacyWorker(settings, lake, engine, clock=lambda: written + retention + timedelta(minutes=1))
    assert after.expire_exports() == 1
    assert not path.exists() and stranger.exists()
    gone = httpx.get(download, headers={"X-API-Key": ALL_KEY})
    assert gone.status_code == 404 and "no longer kept" in gone.json()["detail"]


@pytest.mark.parametrize(
    ("module", "step"), [("pipeline", "run_risk"), ("profiles.job", "project")], ids=["before-risk", "before-swap"]
)
def test_an_erasure_during_a_build_stops_it_and_the_subject_does_not_come_back(
    settings: Settings, engine: Engine, lake: Lake, monkeypatch: pytest.MonkeyPatch, module: str, step: str
) -> None:
    """The erasure lands after the build read the lake: before risk scoring writes, or before the serving swap."""
    import importlib

    import pipeline

    subject = accounts(lake).row(3, named=True)["customer_id"]
    request, _ = submit(engine, settings, "erasure", "customer_id", subject)
    time.sleep(CLOCK_MARGIN_MS / 1000)  # an earlier test's erasure, within the clock margin, would fence this build
    target = importlib.import_module(module)
    original = getattr(target, step)

    def erasure_then_step(*args: object, **kwargs: object) -> object:
        """The privacy worker's thread carries the erasure out, outside the build's fence."""
        done: list[PrivacyRequest] = []
        worker = threading.Thread(target=lambda: done.append(PrivacyWorker(settings, lake, engine).run(request.id)))
        worker.start()
        worker.join()
        assert done and done[0].status == "completed", done and done[0].error
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline, "gold_is_current", lambda *_: False)
    monkeypatch.setattr(target, step, erasure_then_step)
    with pytest.raises(ErasureFencedError, match=request.id):
        pipeline.build_gold(settings, lake, now=datetime.now(UTC))

    def subject_is_gone() -> bool:
        gold = read_polars(lake.table(tables.CUSTOMERS))["customer_id"].to_list()
        with Session(engine) as session:
            served = session.exec(select(CustomerProfile).where(CustomerProfile.customer_id == subject)).first()
        return subject not in gold and served is None

    assert subject_is_gone()
    monkeypatch.setattr(target, step, original)
    time.sleep(CLOCK_MARGIN_MS / 1000)  # a build starting within the margin of an erasure is fenced by it
    identity, profiles = pipeline.build_gold(settings, lake, now=datetime.now(UTC))
    assert identity is not None and profiles is not None and profiles.customers > 0
    assert subject_is_gone()


def test_a_running_workers_suppression_list_takes_in_a_new_erasure_at_its_next_batch(
    settings: Settings, engine: Engine
) -> None:
    """Phones are read in the record's country: a British number in national form is the same number."""
    suppressor = store_suppressor(settings, engine)
    candidates = pl.DataFrame(
        {
            "row": [0, 1, 2, 3],
            "kind": ["email", "email", "phone", "phone"],
            "value": ["Late.Comer+news@Example.COM", "someone@example.com", "07457 416937", "07457 416937"],
            "country": [None, None, "GB", None],
        }
    )
    assert suppressor.hits(candidates) == set()

    with Session(engine) as session, session.begin():
        for kind, value in (("email", "late.comer@example.com"), ("phone", "+447457416937")):
            session.add(
                Suppression(
                    kind=kind, value_hash=identifier_hash(salt(settings), kind, value), request_id="late",
                    created_at=datetime.now(UTC),
                )
            )  # fmt: skip

    assert suppressor.active()  # each batch asks first: that is where the list is taken in
    assert suppressor.hits(candidates) == {0, 2}, "read in the US, 07457 416937 is no number at all"
