"""Carry a privacy request out, step by step, so a crash anywhere resumes where it stopped.

Erasure: resolve the subject to their keys (kept in the request) -> suppress their identifiers ->
mark every lake table, so writers that read before the suppression are refused and read again ->
resolve the subject again (records landed meanwhile are theirs too) -> delete their rows from every
lake table -> purge old snapshots and files -> forget them in the operational store -> search every
file for their values -> write the receipt to the ledger and clear what the request held about them.
Every step can run again without harm, so resuming is running the request again from its last
recorded step (the second resolution is done once: the deletes that follow remove what it reads).
Access: resolve -> export every row held about them to a JSON file only the service can read.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from core.config import Settings
from core.db import truncate_log
from core.errors import C360Error
from core.failpoints import failpoint
from lakehouse.lake import Lake
from privacy import ledger, requests
from privacy.access import expire_exports, export, forget_exports
from privacy.erase import delete_rows, mark_tables, purge_history, verify
from privacy.hashing import salt
from privacy.subject import Subject, customers_of, find_subject
from schema.store import PrivacyRequest

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class PrivacyWorker:
    """Runs privacy requests against one lake and store."""

    def __init__(self, settings: Settings, lake: Lake, engine: Engine, *, clock: Clock = _now):
        self.settings = settings
        self.lake = lake
        self.engine = engine
        self.clock = clock

    def resume_all(self, *, takeover: bool = False) -> list[PrivacyRequest]:
        """Run every request waiting, or interrupted, oldest first (see `requests.claim` for `takeover`)."""
        with Session(self.engine) as session:
            waiting = requests.unfinished(session)
        return [self.run(request_id, takeover=takeover) for request_id in waiting]

    def watch(self, stop: threading.Event, *, interval: float = 2.0) -> None:
        """Carry out waiting requests and delete expired exports until `stop` is set, looking every `interval`
        seconds (beside the API)."""
        while not stop.is_set():
            try:
                self.resume_all()
                self.expire_exports()
            except Exception:  # a daemon loop: log, and try again on the next pass
                logger.exception("a privacy worker pass failed")
            stop.wait(interval)

    def run(self, request_id: str, *, takeover: bool = False) -> PrivacyRequest:
        """Carry one request out (or on, after a crash); a failure is recorded on the request, not raised.

        A request another runner holds is left to it and returned as it stands.
        """
        with Session(self.engine) as session:
            claimed = requests.claim(session, request_id, now=self.clock(), takeover=takeover)
            request = requests.get(session, request_id)
            if not claimed:
                return request
        try:
            subject = self._subject(request_id)
            if request.kind == "erasure":
                receipt = self._erase(request_id, subject)
            else:
                retention = timedelta(hours=self.settings.privacy.export_retention_hours)
                path = export(self.lake, subject, self._export_path(request_id))
                receipt = {"export": str(path), "expires_at": (self.clock() + retention).isoformat()}
            return self._finish(request_id, receipt)
        except C360Error as exc:
            return self._fail(request_id, str(exc))
        except Exception:  # recorded, so a watching worker does not retry it every pass; sent again, it resumes
            logger.exception("privacy request %s failed unexpectedly", request_id)
            return self._fail(request_id, "an unexpected error; the service log has the details")

    def _fail(self, request_id: str, error: str) -> PrivacyRequest:
        logger.warning("privacy request %s failed: %s", request_id, error)
        with Session(self.engine) as session:
            return self._save(session, requests.get(session, request_id), status=requests.FAILED, error=error)

    def _subject(self, request_id: str) -> Subject:
        """The subject's keys: found once, then read back from the request on every later run."""
        with Session(self.engine) as session:
            request = requests.get(session, request_id)
            pending = json.loads(request.pending or "{}")
            if "subject" in pending:
                return Subject.from_json(pending["subject"])
            subject = self._find(pending)
            pending["subject"] = subject.to_json()
            self._save(session, request, pending=json.dumps(pending), step="resolved")
            return subject

    def _find_again(self, request_id: str, subject: Subject) -> Subject:
        """After the tables are marked: the subject with the records landed since they were first found."""
        with Session(self.engine) as session:
            request = requests.get(session, request_id)
            pending = json.loads(request.pending or "{}")
            if pending.get("found_after_mark"):
                return subject
            subject = subject.union(self._find(pending))
            pending |= {"subject": subject.to_json(), "found_after_mark": True}
            self._save(session, request, pending=json.dumps(pending), step="marked")
            return subject

    def _find(self, pending: dict[str, Any]) -> Subject:
        """The subject of the identifier the request names, as the lake holds it now."""
        given_kind, value = pending["kind"], pending["value"]
        region = self.settings.identity.default_region
        customers = (
            [value]
            if given_kind == "customer_id"
            else customers_of(self.lake, given_kind, value, default_region=region)
        )
        return find_subject(self.lake, customers, default_region=region)

    def _erase(self, request_id: str, subject: Subject) -> dict[str, object]:
        suppressed = self._suppress(request_id, subject)
        self._step(request_id, "suppressed")
        mark_tables(self.lake, request_id=request_id)
        subject = self._find_again(request_id, subject)
        suppressed += self._suppress(request_id, subject)  # accounts found landed meanwhile
        failpoint("erase:delete")
        receipts = delete_rows(self.lake, subject, request_id=request_id)
        self._step(request_id, "deleted")
        failpoint("erase:purge")
        purge_history(self.lake, receipts, min_age_seconds=self.settings.privacy.sweep_min_age_seconds)
        self._step(request_id, "purged")
        with Session(self.engine) as session, session.begin():
            forgotten = requests.forget_in_store(session, subject)
        exports = forget_exports(self._exports_dir(), subject.customer_ids)
        report = verify(self.lake, subject, receipts)
        if not report.verified:
            dirty = [t.table for t in report.tables if not t.clean]
            raise C360Error(f"erased rows, but files of {', '.join(dirty)} still hold the subject's values; run again")
        return {
            "verified": True,
            "identifiers_suppressed": suppressed,
            "identifiers_kept_shared": len(subject.shared),
            "store_rows_deleted": forgotten,
            "access_exports_deleted": exports,
            "tables": [asdict(t) for t in report.tables],
        }

    def _suppress(self, request_id: str, subject: Subject) -> int:
        """Store the hashes of the subject's identifiers not stored yet; how many."""
        with Session(self.engine) as session, session.begin():
            return requests.suppress(session, subject, request_id=request_id, key=salt(self.settings), now=self.clock())

    def _finish(self, request_id: str, receipt: dict[str, object]) -> PrivacyRequest:
        """Complete the request: receipt into the ledger, and nothing about the subject left on the request."""
        text = json.dumps(receipt, sort_keys=True)
        with Session(self.engine) as session:
            request = requests.get(session, request_id)
            if request.kind == "erasure":
                ledger.append(
                    session, request_id=request_id, kind=request.kind, subject_hash=request.subject_hash,
                    receipt=text, now=self.clock(),
                )  # fmt: skip
            done = self._save(session, request, status=requests.DONE, receipt=text, pending=None, step="done")
        if done.kind == "erasure" and not truncate_log(self.engine):
            logger.warning("the store's write-ahead log was in use: it keeps pre-erasure pages until a checkpoint")
        return done

    def expire_exports(self) -> int:
        """Delete the access exports older than the configured retention; how many."""
        retention = timedelta(hours=self.settings.privacy.export_retention_hours)
        deleted = expire_exports(self._exports_dir(), now=self.clock(), retention=retention)
        if deleted:
            logger.info("deleted %d access export(s) kept longer than %s", deleted, retention)
        return deleted

    def _exports_dir(self) -> Path:
        return self.settings.privacy.exports_dir or Path(self.settings.home) / "exports"

    def _export_path(self, request_id: str) -> Path:
        return self._exports_dir() / f"{request_id}.json"

    def _step(self, request_id: str, step: str) -> None:
        """Record the last step done, for whoever watches the request (a rerun repeats every step anyway)."""
        with Session(self.engine) as session:
            self._save(session, requests.get(session, request_id), step=step)

    def _save(self, session: Session, request: PrivacyRequest, **changes: object) -> PrivacyRequest:
        for name, value in changes.items():
            setattr(request, name, value)
        request.updated_at = self.clock()
        session.add(request)
        session.commit()
        session.refresh(request)
        return request
