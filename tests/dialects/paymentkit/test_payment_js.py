"""Payment Kit's own Node client, ``@blocklet/payment-js`` (pinned by tests/js/package-lock.json),
runs the credit-based billing guide and the meters reference against a live drawdown server,
on SQLite and PostgreSQL. The client is pointed at drawdown by its environment alone and
authenticates with a component signature of a registered Blocklet app key (or, in one test,
an API key in the endpoint URL: HTTP Basic). The flows are tests/js/paymentkit/*.mjs, run
with the ESM resolve hook the docs describe; this side checks the numbers the client got
and the server's state through the native API."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from drawdown.keys import component_sig
from drawdown.keys import service as keys
from drawdown.tenancy import Tenant
from tests.dialects.polar.conftest import LiveServer, _live_servers, live_server  # noqa: F401

JS_DIR = Path(__file__).resolve().parents[2] / "js"
FLOWS = JS_DIR / "paymentkit"
NODE_TIMEOUT_S = 60
NPM_TIMEOUT_S = 600
PAYMENT_KIT_DID = "z2qaCNvKMv5GjouKdcDWexv6WqtHbpNPQDnAk"
DID = "did:abt:z1muQ3xqHQK2uiACHyChikobsiY5kLqtShA"


@pytest.fixture(scope="session")
def payment_js() -> Path:
    """``npm ci`` once when the client is missing (under the file lock the Polar tests use)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            message = f"{tool} is not installed: the @blocklet/payment-js tests need Node"
            if os.environ.get("CI") == "true":
                pytest.fail(message + " (.ci/run installs it)")
            pytest.skip(message)
    modules = JS_DIR / "node_modules"
    with (JS_DIR / ".npm-ci.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (modules / "@blocklet" / "payment-js" / "package.json").exists():
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                cwd=JS_DIR, check=True, timeout=NPM_TIMEOUT_S,
            )  # fmt: skip
    return modules


class Org:
    """A new organization with a registered Blocklet app key and a test-mode API key."""

    def __init__(self, database: Any, server: LiveServer) -> None:
        self.app_secret, public = component_sig.generate_app_keypair()
        with database.write() as conn:
            self.id = keys.create_organization(conn, f"payment-js {uuid.uuid4().hex[:8]}")
            self.app_key = keys.create_app_key(conn, self.id, public)
            self.test_key = keys.create_key(conn, Tenant(self.id, "test"), "full").secret
            self.live_key = keys.create_key(conn, Tenant(self.id, "live"), "full").secret
        self.server = server

    def native(self, path: str, mode: str = "test") -> Any:
        key = self.test_key if mode == "test" else self.live_key
        response = httpx.get(self.server.url + path, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()


def run_flow(
    flow: str, org: Org, *, test_mode: bool = True, endpoint: str | None = None
) -> dict[str, Any]:
    endpoint = endpoint or org.server.url + "/paymentkit"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("BLOCKLET_", "PAYMENT_"))},
        # The whole recipe of docs/coming-from-paymentkit.md:
        "BLOCKLET_MODE": "test",
        "BLOCKLET_APP_SK": org.app_secret,
        "BLOCKLET_COMPONENT_DID": "z8iaDrawdownTests",
        "BLOCKLET_MOUNT_POINTS": json.dumps(
            [
                {
                    "did": PAYMENT_KIT_DID,
                    "name": "payment-kit",
                    "mountPoint": "/paymentkit",
                    "status": 6,
                    "webEndpoint": endpoint,
                }
            ]
        ),
        "PAYMENT_TEST_MODE": "true" if test_mode else "false",
        "GUIDE_CUSTOMER_ID": DID,
    }
    done = subprocess.run(
        ["node", "--import", "./esm-default.mjs", f"{flow}.mjs"],
        cwd=FLOWS, env=env, capture_output=True, text=True, timeout=NODE_TIMEOUT_S,
    )  # fmt: skip
    assert done.returncode == 0, f"{flow} failed:\n{done.stdout}\n{done.stderr}\n{org.server.log()}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture
def org(payment_js: Path, database: Any, live_server: LiveServer) -> Org:  # noqa: F811
    return Org(database, live_server)


def test_the_credit_billing_guide_as_written(org: Org) -> None:
    result = run_flow("guide", org)
    meter, grant, event = result["meter"], result["creditGrant"], result["meterEvent"]
    currency_id = meter["currency_id"]
    assert meter["event_name"] == "api.calls.invoked" and meter["livemode"] is False
    # 1000 credits of a 2-decimal currency, in base units; 10 calls drawn down at once.
    assert (grant["amount"], grant["status"], grant["customer"]["did"]) == (
        "100000",
        "granted",
        DID,
    )
    assert (event["status"], event["credit_consumed"], event["credit_pending"]) == (
        "completed",
        "1000",
        "0",
    )
    summary = result["creditSummary"][currency_id]
    assert (summary["totalAmount"], summary["remainingAmount"], summary["grantCount"]) == (
        "100000",
        "99000",
        1,
    )
    transactions = result["transactions"]
    assert transactions["total"] == transactions["count"] == 1
    (tx,) = transactions["data"]
    assert tx == transactions["list"][0]
    assert (tx["credit_amount"], tx["remaining_balance"], tx["quantity"]) == ("1000", "99000", "10")
    assert (tx["source"], tx["credit_grant_id"]) == (event["id"], grant["id"])
    # The server agrees, through the native API with the organization's test key.
    customer = org.native(f"/v1/customers/external/{DID}")
    balances = org.native(f"/v1/customers/{customer['id']}/balances")["data"]
    assert [(b["currency_id"], b["available"], b["debt"]) for b in balances] == [
        (currency_id, "990.00", "0.00")
    ]
    # Test mode only: the live side of the organization has nothing.
    assert org.native("/v1/meters", mode="live")["data"] == []


def test_the_meters_reference(org: Org) -> None:
    result = run_flow("meters", org)
    meter = result["meter"]
    assert meter["id"].startswith("mtr_") and meter["status"] == "active"
    assert result["byId"] == result["byEventName"] == meter
    updated = result["updated"]
    assert (updated["name"], updated["description"], updated["metadata"]) == (
        "API Requests",
        "Track API requests",
        {"team": "platform"},
    )
    assert updated["event_name"] == "api_calls" and updated["id"] == meter["id"]
    assert result["list"]["count"] == 1 and result["list"]["list"][0]["id"] == meter["id"]
    assert [m["id"] for m in result["filtered"]["list"]] == [meter["id"]]
    assert result["deactivated"]["status"] == "inactive"
    assert result["refused"]["status"] == 400 and set(result["refused"]["data"]) == {
        "error",
        "code",
    }
    assert result["activated"]["status"] == "active"
    assert result["missing"]["status"] == 404
    assert result["missing"]["data"]["code"] == "not_found"
    native = org.native(f"/v1/meters/{meter['id']}")
    assert (native["name"], native["status"]) == ("API Requests", "active")
    assert org.native("/v1/events?limit=10")["data"] == []  # the refused event left nothing


def test_debt_then_top_up(org: Org) -> None:
    result = run_flow("debt", org)
    currency_id = result["meter"]["currency_id"]
    first, second = result["used"]
    # 5 credits, then 3 and 4.5 used: the second event is 2.5 short (base units, 2 places).
    assert (first["status"], first["credit_consumed"]) == ("completed", "300")
    assert (second["status"], second["credit_consumed"], second["credit_pending"]) == (
        "requires_action",
        "200",
        "250",
    )
    assert result["pendingBefore"] == {currency_id: "250"}
    # The only grant is depleted: no grant in effect, so no currency in the summary.
    assert result["summaryBefore"] == {}
    assert result["blocked"]["can_continue"] is False
    # A 10-credit top-up pays the 2.5 owed first.
    assert result["topUp"]["remaining_amount"] == "750"
    assert result["pendingAfter"] in ({}, {currency_id: "0"})
    assert result["summaryAfter"][currency_id]["remainingAmount"] == "750"
    assert (result["owedEvent"]["credit_pending"], result["owedEvent"]["status"]) == (
        "0",
        "completed",
    )
    transactions = result["transactions"]
    assert transactions["total"] == transactions["count"] == len(transactions["data"]) == 3
    assert sorted(int(tx["credit_amount"]) for tx in transactions["data"]) == [200, 250, 300]
    assert result["duplicate"]["status"] == 409
    assert result["duplicate"]["data"]["code"] == "duplicate_identifier"
    customer = org.native(f"/v1/customers/external/{DID}")
    balances = org.native(f"/v1/customers/{customer['id']}/balances")["data"]
    assert [(b["available"], b["debt"]) for b in balances] == [("7.50", "0.00")]


def test_live_mode_and_http_basic_in_the_endpoint_url(org: Org) -> None:
    """PAYMENT_TEST_MODE=false: the signature acts in live mode; and the other auth option,
    a live API key as the URL's user name (Basic), with no app key needed."""
    result = run_flow("meters", org, test_mode=False)
    assert result["meter"]["livemode"] is True
    assert org.native("/v1/meters", mode="test")["data"] == []
    host = org.server.url.removeprefix("http://")
    # An unregistered app key: only the API key in the URL can authenticate these calls.
    org.app_secret = component_sig.generate_app_keypair()[0]
    listed = run_flow(
        "guide", org, test_mode=False, endpoint=f"http://{org.live_key}:@{host}/paymentkit"
    )
    assert listed["meter"]["livemode"] is True and listed["transactions"]["total"] == 1
    assert listed["creditGrant"]["livemode"] is True


def test_the_docs_show_the_hook_the_suite_runs() -> None:
    """docs/coming-from-paymentkit.md shows tests/js/paymentkit/esm-default.mjs's code."""
    hook = (FLOWS / "esm-default.mjs").read_text()
    code = hook[hook.index("import { register }") :].strip()
    docs = (Path(__file__).resolve().parents[3] / "docs" / "coming-from-paymentkit.md").read_text()
    shown = "\n".join(line.removeprefix("   ") for line in docs.splitlines())
    assert code in shown
