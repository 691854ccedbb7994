"""A webhook worker in a process of its own, for the crash test: ``python worker_process.py
DATABASE_URL SCHEMA KEYRING_FILE CLOCK_OFFSET_SECONDS``. SIGTERM stops it cleanly; the test
kills it with SIGKILL mid-delivery."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confiance import clock
from confiance.crypto import KeyringSource
from confiance.db import Database
from confiance.webhooks import worker


def main() -> None:
    url, schema, keyring_file, offset = sys.argv[1:5]
    shift = timedelta(seconds=float(offset))
    if shift:
        # Stands for the time that passes before a restarted worker finds the expired leases.
        clock.set_clock(lambda: datetime.now(UTC) + shift)
    db = Database(url, schema=schema or None)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    policy = worker.DeliveryPolicy(concurrency=1, connect_timeout=2.0, timeout=10.0)
    try:
        worker.run_worker(
            db,
            keys=KeyringSource(path=Path(keyring_file)),
            stop=stop,
            policy=policy,
            poll_interval=0.05,
            batch=5,
        )
    finally:
        db.dispose()


if __name__ == "__main__":
    main()
