"""A real webhook receiver on loopback, a settable clock, and a wired delivery setup."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from confiance.actors import Actor
from confiance.runtime import Runtime
from confiance.webhooks import service, worker


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def verify(self, secret: str) -> Any:
        """Verify as a receiver does, with the ``standardwebhooks`` library (which checks the
        timestamp against the real time: for messages signed at the real time)."""
        return Webhook(secret).verify(self.body, self.headers)

    def signed_with(self, secret: str) -> bool:
        """Whether one of the signatures is ``secret``'s, for the header's own timestamp (for
        messages signed while the test clock was moved far from the real time)."""
        signed_at = datetime.fromtimestamp(int(self.headers["webhook-timestamp"]), UTC)
        expected = Webhook(secret).sign(self.webhook_id, signed_at, self.body.decode())
        return expected in self.headers["webhook-signature"].split(" ")


class Receiver:
    """Records every request; answers with queued statuses (then ``default_status``).

    ``hold_on(n)`` makes the n-th request (1-based) wait, after being recorded, until
    ``release()``: a worker can be killed while it waits for the answer.
    """

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: deque[int] = deque()
        self.default_status = 200
        self.delay = 0.0
        self.redirect_to: str | None = None
        self._lock = threading.Lock()
        self._hold_at: int | None = None
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks/confiance"

    def respond_with(self, *statuses: int) -> None:
        self.statuses.extend(statuses)

    def hold_on(self, n: int) -> None:
        self._hold_at = n

    def release(self) -> None:
        self._released.set()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} requests, got {len(self.requests)}")

    def unique_ids(self) -> set[str]:
        """What a receiver deduplicating on ``webhook-id`` keeps."""
        with self._lock:
            return {r.webhook_id for r in self.requests}

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("content-length", "0")))
        with self._lock:
            self.requests.append(
                Received(handler.path, {k.lower(): v for k, v in handler.headers.items()}, body)
            )
            number = len(self.requests)
            status = self.statuses.popleft() if self.statuses else self.default_status
        if number == self._hold_at:
            self._released.wait(30)
        if self.delay:
            time.sleep(self.delay)
        handler.send_response(status)
        if self.redirect_to is not None and 300 <= status < 400:
            handler.send_header("location", self.redirect_to)
        handler.send_header("content-length", "2")
        handler.end_headers()
        handler.wfile.write(b"ok")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                # The worker may be killed while this request waits.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    receiver._handle(self)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


#: One message at a time and no jitter: the tests read each step.
POLICY = worker.DeliveryPolicy(concurrency=1, jitter=0.0, connect_timeout=2.0, timeout=5.0)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with worker.make_client(POLICY) as client:
        yield client


@dataclass
class Subscribed:
    id: str
    secret: str


@pytest.fixture
def subscribe(runtime: Runtime, receiver: Receiver) -> Callable[..., Subscribed]:
    def make(
        *, events: tuple[str, ...] = ("*",), url: str | None = None, name: str = "crm"
    ) -> Subscribed:
        with runtime.db.transaction() as session:
            info, secret = service.create_subscription(
                session,
                name=name,
                url=url or receiver.url,
                event_types=list(events),
                actor=Actor.operator("test"),
                audit=runtime.audit,
                keys=runtime.keys,
            )
        return Subscribed(info.id, secret)

    return make


@pytest.fixture
def deliver(runtime: Runtime, http: httpx.Client) -> Callable[..., int]:
    def run(policy: worker.DeliveryPolicy = POLICY, **kwargs: Any) -> int:
        return worker.deliver_due(
            runtime.db, keys=runtime.keys, client=http, policy=policy, **kwargs
        )

    return run


def consent_payload(n: int = 0) -> dict[str, Any]:
    """What the consent domain sends: a pseudonymous id and purpose keys, nothing personal."""
    return {
        "customer_id": f"0190f5c8-2b7e-7a55-9d1e-{n:012x}",
        "purpose": "newsletter",
        "granted": n % 2 == 0,
        "receipt_id": f"rcpt-{n}",
    }
