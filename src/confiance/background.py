"""The loop every outbox worker runs (webhooks, mail), and the daemon thread that runs it
inside ``confiance serve``.

A worker delivers in rounds: a round as soon as the last one was full, a pause when it was
not, old finished rows pruned now and then. A failing round (the database away, a bug) is
logged by its exception's type only (its text may quote SQL parameters) and retried after a
growing pause: the loop itself never dies of it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["DaemonWorker", "run_rounds"]

log = logging.getLogger(__name__)


def run_rounds(
    *,
    stop: threading.Event,
    deliver: Callable[[], bool],
    prune: Callable[[], None],
    poll: float,
    prune_every: float,
    label: str,
) -> None:
    """Call ``deliver`` until ``stop`` is set; it returns whether it had a full round (more may
    be due at once). ``prune`` runs first and then every ``prune_every`` seconds."""
    next_prune = time.monotonic()
    failures = 0
    while not stop.is_set():
        try:
            full = deliver()
            if time.monotonic() >= next_prune:
                prune()
                next_prune = time.monotonic() + prune_every
            failures = 0
        except Exception as exc:
            failures += 1
            log.warning("%s delivery round failed (%s); retrying", label, type(exc).__name__)
            stop.wait(min(30.0, poll * 2**failures))
            continue
        if not full:
            stop.wait(poll)


class DaemonWorker:
    """``target(stop)`` in a daemon thread: ``start()`` when the application starts,
    ``stop()`` when it shuts down. A round in flight finishes first; past ``timeout`` the
    thread is left to die with the process, and what it had claimed is delivered again once
    its lease runs out."""

    def __init__(self, target: Callable[[threading.Event], None], *, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=target, args=(self._stop,), name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = 15.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()
