"""The Python receiver in docs/webhooks.md, run as written (served by wsgiref on
127.0.0.1), accepts real deliveries once each and refuses a forged one."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx

from drawdown.webhooks.worker import Deliverer
from tests.webhooks.conftest import drain

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _receiver_example() -> str:
    blocks: list[str] = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    (block,) = [b for b in blocks if "webhook.verify(" in b]
    return block


def test_the_documented_receiver_verifies_and_deduplicates(api: Any, deliverer: Deliverer) -> None:
    # Listen first: the endpoint needs the URL, the example needs the endpoint's secret.
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    holder: dict[str, Any] = {}

    def app(environ: Any, start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hooks"
        created = api.ok(
            "POST", "/v1/webhooks/endpoints", 201, json={"url": url, "event_types": ["*"]}
        )
        os.environ["DRAWDOWN_WEBHOOK_SECRET"] = created["secret"]
        try:
            exec(compile(_receiver_example(), str(DOC), "exec"), namespace)
        finally:
            del os.environ["DRAWDOWN_WEBHOOK_SECRET"]
        holder["app"] = namespace["app"]

        sent = api.ok("POST", f"/v1/webhooks/endpoints/{created['id']}/test", 202)
        drain(deliverer)
        api.ok("POST", f"/v1/webhooks/events/{sent['id']}/redeliver", 202)
        drain(deliverer)
        attempts = api.ok("GET", "/v1/webhooks/deliveries")["data"]
        assert [a["http_code"] for a in attempts] == [204, 204]
        assert namespace["handled"] == {sent["id"]}  # handled once, acknowledged twice

        forged = httpx.post(
            url,
            content=b'{"type":"credit.balance_low"}',
            headers={
                "webhook-id": "msg_x",
                "webhook-timestamp": "1",
                "webhook-signature": "v1,AA==",
            },
        )
        assert forged.status_code == 400
    finally:
        server.shutdown()
        server.server_close()
