"""The ``topup.requested`` handler in docs/topups.md, run as written (served by wsgiref on
127.0.0.1, its SDK client talking to the app under test): a real delivery makes it charge
and confirm; a redelivery of the same event replays the confirm, so one grant is made."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from fastapi.testclient import TestClient

import drawdown
from drawdown.webhooks.worker import Deliverer
from tests.credits.conftest import Setup
from tests.topups.test_topups import rule, topups, use
from tests.webhooks.conftest import drain

DOC = Path(__file__).resolve().parents[2] / "docs" / "topups.md"


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _handler_example() -> str:
    blocks: list[str] = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    (block,) = [b for b in blocks if "def on_topup_requested(" in b]
    return block


def test_the_documented_handler_charges_and_confirms_once(
    setup: Setup, test_client: TestClient, deliverer: Deliverer
) -> None:
    api = setup.api
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    holder: dict[str, Any] = {}

    def app(environ: Any, start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/topups"
        created = api.ok(
            "POST", "/v1/webhooks/endpoints", 201,
            json={"url": url, "event_types": ["topup.requested"]},
        )  # fmt: skip
        env = {
            "DRAWDOWN_WEBHOOK_SECRET": created["secret"],
            "DRAWDOWN_API_KEY": api.secret,
            "DRAWDOWN_BASE_URL": "http://testserver",
        }
        os.environ.update(env)
        try:
            exec(compile(_handler_example(), str(DOC), "exec"), namespace)
        finally:
            for name in env:
                del os.environ[name]
        # The example's client, sending through the app under test.
        namespace["client"] = drawdown.Client(
            api.secret, base_url="http://testserver", http_client=test_client
        )
        holder["app"] = namespace["app"]

        setup.grant("10")
        rule(setup, threshold="5", amount="20", settlement="external")
        use(setup, "doc-h-1", 6)
        drain(deliverer)
        (made,) = topups(setup)
        assert (made["status"], made["external_reference"]) == (
            "succeeded",
            f"ch_{made['id'][-8:]}",
        )
        assert setup.available() == "24.00"
        (event,) = api.ok("GET", "/v1/webhooks/events", params={"type": "topup.requested"})["data"]
        api.ok("POST", f"/v1/webhooks/events/{event['id']}/redeliver", 202)
        drain(deliverer)
        attempts = api.ok("GET", "/v1/webhooks/deliveries")["data"]
        assert [a["http_code"] for a in attempts] == [204, 204]
        assert setup.available() == "24.00"  # the redelivery replayed the confirm
        grants = api.ok("GET", "/v1/credit-grants", params={"customer_id": setup.customer["id"]})
        assert len(grants["data"]) == 2
    finally:
        server.shutdown()
        server.server_close()
