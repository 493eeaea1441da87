"""What every Payment Kit route shares: Bearer API keys, the livemode query parameter and
the {error, code} body."""

from __future__ import annotations

from typing import Any

from tests.dialects.paymentkit.conftest import BASE
from tests.dialects.paymentkit.shapes import assert_error
from tests.dialects.paymentkit.test_meters import GUIDE_METER


def test_our_api_keys_as_bearer_tokens(pk: Any, test_client: Any) -> None:
    missing = test_client.get(f"{BASE}/meters")
    assert_error(missing, 401, "missing_api_key")
    assert missing.headers["www-authenticate"] == "Bearer"
    # Component signature headers that do not verify are refused the same way
    # (tests/dialects/paymentkit/test_component_sig.py has the signatures that do).
    signed = test_client.get(
        f"{BASE}/meters",
        headers={"x-component-did": "z2qa", "x-component-sig": "0xabc", "x-component-sig-iat": "1"},
    )
    assert_error(signed, 401, "invalid_signature")
    wrong = test_client.get(f"{BASE}/meters", headers={"Authorization": "Bearer dd_test_nope"})
    assert_error(wrong, 401, "invalid_api_key")


def test_read_only_keys_cannot_write(make_api: Any) -> None:
    reader = make_api(scope="read")
    assert_error(reader.post(f"{BASE}/meters", json=GUIDE_METER), 403, "insufficient_scope")
    assert reader.ok("GET", f"{BASE}/meters")["count"] == 0


def test_livemode_must_match_the_key(make_api: Any) -> None:
    test_key = make_api(mode="test")
    live_key = make_api(mode="live", organization_id=test_key.tenant.organization_id)
    made = test_key.ok("POST", f"{BASE}/meters?livemode=false", json=GUIDE_METER)
    assert made["livemode"] is False
    # Payment Kit's SDK sends livemode=true by default: with a test key that is refused,
    # never silently answered from the other mode.
    body = assert_error(test_key.get(f"{BASE}/meters?livemode=true"), 400, "livemode_mismatch")
    assert "test-mode API key" in body["error"]
    assert_error(
        live_key.post(f"{BASE}/meters?livemode=false", json=GUIDE_METER), 400, "livemode_mismatch"
    )
    # The key decides the data: the live key sees none of the test meters.
    assert live_key.ok("GET", f"{BASE}/meters?livemode=true")["count"] == 0
    assert live_key.ok("GET", f"{BASE}/meters")["count"] == 0
    live = live_key.ok("POST", f"{BASE}/meters", json=GUIDE_METER)
    assert live["livemode"] is True and live["paymentCurrency"]["livemode"] is True
    assert test_key.ok("GET", f"{BASE}/meters?livemode=0")["count"] == 1
    assert_error(test_key.get(f"{BASE}/meters?livemode=maybe"), 400, "validation_error")


def test_unknown_paths_answer_in_the_same_shape(pk: Any) -> None:
    assert_error(pk.get(f"{BASE}/nothing-here"), 404, "not_found")
    assert_error(pk.post("/paymentkit/api/meters/x/y/z", json={}), 404, "not_found")
