"""A real HTTP receiver on 127.0.0.1 that verifies every delivery with the
``standardwebhooks`` library (as a customer's server would) and records it."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    verified_with: list[str]
    received_at: float

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    @property
    def type(self) -> str:
        return str(self.payload["type"])

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def signatures(self) -> list[str]:
        return self.headers["webhook-signature"].split(" ")


@dataclass
class Route:
    secrets: list[str] = field(default_factory=list)
    # Statuses to answer, in order; 200 once they run out. (status, headers)
    plan: list[tuple[int, dict[str, str]]] = field(default_factory=list)


class Receiver:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.deliveries: list[Delivery] = []
        self.unverified: list[Delivery] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, secret: str | None = None) -> Route:
        route = self.routes.setdefault(path, Route())
        if secret is not None:
            route.secrets = [secret]
        return route

    def at(self, path: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.path == path]

    def wait_for(
        self, count: int, path: str | None = None, timeout_s: float = 10.0
    ) -> list[Delivery]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            got = self.at(path) if path else list(self.deliveries)
            if len(got) >= count:
                return got
            time.sleep(0.01)
        raise AssertionError(f"expected {count} deliveries, got {len(got)}")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _verify(self, path: str, body: bytes, headers: dict[str, str]) -> list[str]:
        ok = []
        for secret in self.routes.get(path, Route()).secrets:
            try:
                Webhook(secret).verify(body, headers)
                ok.append(secret)
            except WebhookVerificationError:
                pass
        return ok

    def _answer(self, path: str) -> tuple[int, dict[str, str]]:
        with self._lock:
            route = self.routes.get(path)
            if route is not None and route.plan:
                return route.plan.pop(0)
        return 200, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = receiver._verify(self.path, body, headers)
                delivery = Delivery(self.path, headers, body, verified, time.time())
                status, extra = receiver._answer(self.path)
                with receiver._lock:
                    (receiver.deliveries if verified else receiver.unverified).append(delivery)
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
