"""Blocklet component signatures on the Payment Kit routes, on SQLite and PostgreSQL.

Requests recorded from the real client (``component_sig_vectors.json``: signed by
``@blocklet/payment-js`` 1.27.2) must verify as they are; requests signed here the same way
must stop verifying when any signed part changes. The live runs of the client itself are in
test_payment_js.py."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drawdown.errors import ConflictError, DrawdownError
from drawdown.keys import component_sig
from drawdown.keys import service as keys
from tests.dialects.paymentkit.conftest import BASE
from tests.dialects.paymentkit.shapes import assert_error
from tests.dialects.paymentkit.test_meters import GUIDE_METER

VECTORS = json.loads((Path(__file__).parent / "component_sig_vectors.json").read_text())


class App:
    """A Blocklet app key pair, signing requests as @blocklet/sdk does."""

    def __init__(self) -> None:
        secret, public = component_sig.generate_app_keypair()
        self.secret_hex, self.public_hex = secret, public
        self.key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret[2:66]))

    def headers(
        self, method: str, url: str, body: Any, iat: int, exp: int | None = None
    ) -> dict[str, str]:
        parts = urlsplit(url)
        signed = component_sig.SignedRequest(
            signature=b"",
            iat=iat,
            exp=iat + 300 if exp is None else exp,
            body={} if body is None else body,
            query=component_sig.qs_parse(parts.query),
            method=method,
            url=parts.path,
        )
        digest = hashlib.sha3_256(component_sig.canonical_message(signed)).digest()
        return {
            "x-component-did": "z8iaCallerComponent",
            "x-component-sig": "0x" + self.key.sign(digest).hex(),
            "x-component-sig-iat": str(signed.iat),
            "x-component-sig-exp": str(signed.exp),
            "x-component-sig-version": "1",
        }


def now_s(clock: Any) -> int:
    return int(clock.now().timestamp())


def register(database: Any, public_hex: str, organization_id: uuid.UUID | None = None) -> Any:
    with database.write() as conn:
        org = organization_id or keys.create_organization(conn, "blocklet app org")
        return keys.create_app_key(conn, org, public_hex)


def call(client: Any, app: App, clock: Any, method: str, url: str, body: Any = None) -> Any:
    headers = app.headers(method, url, body, now_s(clock))
    return client.request(method, url, json=body, headers=headers)


def test_recorded_requests_of_the_real_client_verify() -> None:
    public_key = component_sig.parse_public_key(VECTORS["public_key"])
    for recorded in VECTORS["requests"]:
        parts = urlsplit(recorded["path"])
        headers = recorded["headers"]
        signed = component_sig.SignedRequest(
            signature=bytes.fromhex(headers["x-component-sig"][2:]),
            iat=int(headers["x-component-sig-iat"]),
            exp=int(headers["x-component-sig-exp"]),
            body=json.loads(recorded["body"]) if recorded["body"] else {},
            query=component_sig.qs_parse(parts.query),
            method=recorded["method"],
            url=parts.path,
        )
        assert component_sig.verify(signed, [public_key]) == public_key, recorded["path"]
        tampered = dataclasses.replace(signed, method="DELETE")
        assert component_sig.verify(tampered, [public_key]) is None


def test_recorded_requests_authenticate_on_the_server(
    test_client: Any, database: Any, clock: Any
) -> None:
    key = register(database, VECTORS["public_key"])
    listing = VECTORS["requests"][0]
    clock.set(datetime.fromtimestamp(int(listing["headers"]["x-component-sig-iat"]), UTC))
    answer = test_client.get(listing["path"], headers=listing["headers"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["count"] == 0
    # After exp (iat + 300) the same request is refused.
    clock.advance(timedelta(seconds=301))
    assert_error(
        test_client.get(listing["path"], headers=listing["headers"]), 401, "expired_signature"
    )
    assert key.public_key_hex == VECTORS["public_key"].lower()


def test_a_signature_acts_in_the_mode_livemode_names(
    test_client: Any, database: Any, clock: Any, make_api: Any
) -> None:
    app = App()
    key = register(database, app.public_hex)
    test_meter = call(test_client, app, clock, "POST", f"{BASE}/meters?livemode=false", GUIDE_METER)
    assert test_meter.status_code == 200, test_meter.text
    assert test_meter.json()["livemode"] is False
    # The test-mode signature never sees live data, and the other way round.
    live_key = make_api(mode="live", organization_id=key.organization_id)
    live_meter = live_key.ok("POST", f"{BASE}/meters", json={**GUIDE_METER, "name": "Live"})
    test_list = call(test_client, app, clock, "GET", f"{BASE}/meters?livemode=false").json()
    assert [m["id"] for m in test_list["list"]] == [test_meter.json()["id"]]
    missing = call(
        test_client, app, clock, "GET", f"{BASE}/meters/{live_meter['id']}?livemode=false"
    )
    assert_error(missing, 404, "not_found")
    live_list = call(test_client, app, clock, "GET", f"{BASE}/meters?livemode=true").json()
    assert [m["id"] for m in live_list["list"]] == [live_meter["id"]]
    # Without livemode: live, Payment Kit's default.
    default = call(test_client, app, clock, "GET", f"{BASE}/meters").json()
    assert [m["id"] for m in default["list"]] == [live_meter["id"]]
    # Another organization's key sees neither.
    other = make_api(mode="test")
    assert other.ok("GET", f"{BASE}/meters?livemode=false")["count"] == 0


def test_tampered_requests_are_refused(test_client: Any, database: Any, clock: Any) -> None:
    app = App()
    register(database, app.public_hex)
    url = f"{BASE}/meters?livemode=false&pageSize=10"
    assert call(test_client, app, clock, "POST", url, GUIDE_METER).status_code == 200
    cases: dict[str, dict[str, Any]] = {
        "body": {"body": {**GUIDE_METER, "unit": "tokens"}},
        "query": {"url": f"{BASE}/meters?livemode=false&pageSize=11"},
        "path": {"url": f"{BASE}/meter-events?livemode=false&pageSize=10"},
        "method": {"method": "PUT"},
    }
    for name, signed_instead in cases.items():
        other = {**GUIDE_METER, "event_name": f"tampered.{name}"}
        sent: dict[str, Any] = {"method": "POST", "url": url, "body": other}
        signing = {**sent, **signed_instead}
        if name == "body":
            signing["body"] = {**other, "unit": "tokens"}
        headers = app.headers(signing["method"], signing["url"], signing["body"], now_s(clock))
        answer = test_client.request("POST", url, json=other, headers=headers)
        assert_error(answer, 401, "invalid_signature")
    listed = call(test_client, app, clock, "GET", f"{BASE}/meters?livemode=false").json()
    assert listed["count"] == 1  # nothing the tampered requests carried was stored


@pytest.mark.parametrize(
    ("iat_offset_s", "exp_offset_s", "code"),
    [
        (-400, -100, "expired_signature"),  # exp has passed
        (-301, -1, "expired_signature"),
        (120, 420, "invalid_signature"),  # iat beyond the clock skew allowed
        (-10, 3600, "invalid_signature"),  # a longer life than the SDK's 300 s
    ],
)
def test_signatures_outside_their_window_are_refused(
    test_client: Any, database: Any, clock: Any, iat_offset_s: int, exp_offset_s: int, code: str
) -> None:
    app = App()
    register(database, app.public_hex)
    now = now_s(clock)
    url = f"{BASE}/meters?livemode=false"
    headers = app.headers("GET", url, None, now + iat_offset_s, now + exp_offset_s)
    assert_error(test_client.get(url, headers=headers), 401, code)
    # A small skew is fine.
    fine = app.headers("GET", url, None, now + 30, now + 300)
    assert test_client.get(url, headers=fine).status_code == 200


def test_unknown_and_revoked_keys_are_refused(test_client: Any, database: Any, clock: Any) -> None:
    unknown = App()
    answer = call(test_client, unknown, clock, "GET", f"{BASE}/meters?livemode=false")
    assert_error(answer, 401, "invalid_signature")
    assert answer.headers["www-authenticate"] == "Bearer"
    app = App()
    key = register(database, app.public_hex)
    assert call(test_client, app, clock, "GET", f"{BASE}/meters?livemode=false").status_code == 200
    with database.write() as conn:
        keys.revoke_key(conn, key.id)
    revoked = call(test_client, app, clock, "GET", f"{BASE}/meters?livemode=false")
    assert_error(revoked, 401, "invalid_signature")
    with database.read() as conn:
        listed = keys.list_app_keys(conn, key.organization_id)
    assert [(k.id, k.revoked) for k in listed] == [(key.id, True)]
    # A revoked public key may be registered again.
    register(database, app.public_hex, key.organization_id)
    assert call(test_client, app, clock, "GET", f"{BASE}/meters?livemode=false").status_code == 200


def test_signatures_only_authenticate_payment_kit_routes(
    test_client: Any, database: Any, clock: Any
) -> None:
    app = App()
    register(database, app.public_hex)
    native = call(test_client, app, clock, "GET", "/v1/meters")
    assert native.status_code == 401 and native.json()["code"] == "missing_api_key"


def test_malformed_signature_headers(test_client: Any, database: Any, clock: Any) -> None:
    app = App()
    register(database, app.public_hex)
    url = f"{BASE}/meters?livemode=false"
    good = app.headers("GET", url, None, now_s(clock))
    for header, value in [
        ("x-component-sig", "0xnothex"),
        ("x-component-sig", "0x" + "00" * 64),
        ("x-component-sig-iat", "soon"),
        ("x-component-sig-exp", ""),
    ]:
        answer = test_client.get(url, headers={**good, header: value})
        assert_error(answer, 401, "invalid_signature")
    not_json = test_client.post(url, content=b"{nope", headers=good)
    assert_error(not_json, 401, "invalid_signature")


def test_app_key_registration_rules(database: Any) -> None:
    app = App()
    key = register(database, app.public_hex)
    assert key.scope == "full"
    with database.write() as conn, pytest.raises(ConflictError):
        keys.create_app_key(conn, key.organization_id, app.public_hex)
    for bad in ("0x1234", "zz" * 32, app.secret_hex):
        with database.write() as conn, pytest.raises(DrawdownError):
            keys.create_app_key(conn, key.organization_id, bad)


def test_each_key_acts_for_its_own_organization(
    test_client: Any, database: Any, clock: Any
) -> None:
    """Several registered keys; x-component-did (unsigned, the same for both apps here)
    only orders the keys tried, it never picks the organization."""
    first, second = App(), App()
    first_key, second_key = (
        register(database, first.public_hex),
        register(database, second.public_hex),
    )
    for _ in range(2):
        for app, name in ((first, "first"), (second, "second")):
            url = f"{BASE}/meters?livemode=false"
            body = {**GUIDE_METER, "event_name": f"{name}.{uuid.uuid4().hex[:6]}"}
            made = call(test_client, app, clock, "POST", url, body)
            assert made.status_code == 200, made.text
    for app, key in ((first, first_key), (second, second_key)):
        listed = call(test_client, app, clock, "GET", f"{BASE}/meters?livemode=false").json()
        assert listed["count"] == 2
        name = "first" if key is first_key else "second"
        assert all(m["event_name"].startswith(name) for m in listed["list"])
