"""Group commit for consent changes that arrive over HTTP.

Every change must be durable before it is answered: its event, state, receipt, audit entry and
outbox row are committed, and the commit waits for the disk (SQLite ``synchronous=FULL``,
PostgreSQL ``synchronous_commit``). One transaction per change would make the disk and the round
trips the limit whatever else is done. The writer records the changes that arrive together in
one transaction instead (:meth:`~confiance.consent.service.ConsentLedger.record_group`: one
read of their customers, then one statement per table), and answers each once that transaction
has committed: the same guarantees, one disk wait and a handful of statements for the group.

- Changes keep their order of arrival, and each sees the ones before it, exactly as if they had
  come one at a time. A change refused for a reason of its own (an unknown purpose, a
  withdrawal of a consent never given, an unknown customer) gets its error and writes nothing;
  the others are recorded.
- Any other failure (the database, a deadlock) rolls back the whole group, and each change
  then runs on its own, in its own transaction, as it would without the writer.
- A group never waits to fill up: the writer takes whatever has arrived while the previous
  group was committing, so a lone change is committed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.orm import Session

from confiance.actors import Actor
from confiance.consent.service import ChangeJob, ChangeRecord, ConsentLedger
from confiance.db import Database
from confiance.vault.errors import VaultError

__all__ = ["ConsentWriter"]

log = logging.getLogger(__name__)

#: At most this many changes share one transaction.
MAX_GROUP = 128


_Outcome = ChangeRecord | None | BaseException
_Waiter = Callable[[_Outcome], None]
_STOP = object()


class ConsentWriter:
    """Runs :class:`ChangeJob` s in groups on a thread of its own (started on first use).

    ``unit`` opens the transaction a change runs in when it runs alone (the runtime's, which
    records refused accesses); ``on_refused`` records a refused access of a grouped change.
    """

    def __init__(
        self,
        db: Database,
        ledger: ConsentLedger,
        *,
        unit: Callable[[Actor], AbstractContextManager[Session]],
        on_refused: Callable[[Actor, VaultError], None],
        max_group: int = MAX_GROUP,
    ) -> None:
        self.db = db
        self.ledger = ledger
        self.unit = unit
        self.on_refused = on_refused
        self.max_group = max_group
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        #: Transactions committed, and the changes they held (for the tests and monitoring).
        self.groups = 0
        self.grouped = 0

    # -- callers ------------------------------------------------------------------------------
    async def submit(self, job: ChangeJob) -> ChangeRecord | None:
        """Record ``job`` and return its record once committed (or raise its error); ``None``
        for a ``Sec-GPC`` signal alone that was honoured already."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ChangeRecord | None] = loop.create_future()

        def settle(outcome: _Outcome) -> None:
            # A loop closed meanwhile (the server stopping) has nobody left to answer.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, outcome)

        self._put(job, settle)
        return await future

    def run(self, job: ChangeJob) -> ChangeRecord | None:
        """Blocking form of :meth:`submit`, for callers on a thread."""
        done = threading.Event()
        box: list[_Outcome] = []

        def settle(outcome: _Outcome) -> None:
            box.append(outcome)
            done.set()

        self._put(job, settle)
        done.wait()
        outcome = box[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _put(self, job: ChangeJob, settle: _Waiter) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the consent writer is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="confiance-consent-writer", daemon=True
                )
                self._thread.start()
            self._queue.put((job, settle))

    @property
    def queued(self) -> int:
        """Changes waiting for the writer thread (approximate while it runs)."""
        return self._queue.qsize()

    def close(self) -> None:
        """Finish the changes already queued, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            thread.join()

    # -- the writer thread --------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            group = [first]
            stop = False
            while len(group) < self.max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                group.append(item)
            try:
                self._run_group(group)
            except Exception:  # never let the thread die: callers would wait for ever
                log.exception("the consent writer failed to answer a group")
            if stop:
                return

    def _run_group(self, group: list[tuple[ChangeJob, _Waiter]]) -> None:
        if len(group) == 1:
            job, settle = group[0]
            settle(self._alone(job))
            return
        jobs = [job for job, _ in group]
        try:
            with self.db.transaction() as session:
                outcomes = self.ledger.record_group(session, jobs)
        except Exception as exc:
            log.warning(
                "a group of %d consent changes failed (%s); each runs alone",
                len(group),
                type(exc).__name__,
            )
            for job, settle in group:
                settle(self._alone(job))
            return
        self.groups += 1
        self.grouped += len(group)
        for (job, settle), outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, VaultError) and outcome.refused_access:
                self.on_refused(job.actor, outcome)
            settle(outcome)

    def _alone(self, job: ChangeJob) -> _Outcome:
        try:
            with self.unit(job.actor) as session:
                record = self.ledger.record_one(session, job)
        except Exception as exc:  # handed to the caller, who raises it
            return exc
        self.groups += 1
        self.grouped += 1
        return record


def _settle(future: asyncio.Future[ChangeRecord | None], outcome: _Outcome) -> None:
    if future.cancelled():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
