"""Retries, timeouts and idempotency keys, against small real servers that fail on purpose,
and against the real drawdown server behind a proxy that loses a response."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

import drawdown
from drawdown.sdk._http import RetryPolicy, parse_retry_after
from tests.sdk.conftest import Planned, ScriptedApp, ThreadedServer, free_port

Scripted = Callable[[list[Planned]], tuple[ScriptedApp, str]]

CUSTOMER = json.dumps(
    {
        "object": "customer",
        "id": "cus_0190a0b0c0d07000800000000000abcd",
        "external_id": "u1",
        "email": None,
        "name": "Ann",
        "metadata": {},
        "livemode": False,
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-01T00:00:00Z",
    }
).encode()
UNAVAILABLE = json.dumps(
    {"type": "x/unavailable", "title": "Unavailable", "status": 503, "code": "unavailable",
     "detail": "try later"}
).encode()  # fmt: skip


def fast(url: str, **kwargs: Any) -> drawdown.Client:
    return drawdown.Client("dd_test_k", base_url=url, backoff_s=0.01, **kwargs)


def test_503_twice_then_created_reuses_one_idempotency_key(scripted: Scripted) -> None:
    app, url = scripted(
        [Planned(503, UNAVAILABLE), Planned(503, UNAVAILABLE), Planned(201, CUSTOMER)]
    )
    with fast(url) as client:
        customer = client.customers.create(name="Ann", external_id="u1")
    assert customer.name == "Ann" and customer.id.endswith("abcd")
    assert len(app.seen) == 3
    keys = {seen.headers["idempotency-key"] for seen in app.seen}
    assert len(keys) == 1 and next(iter(keys)).startswith("sdk-")
    assert {seen.body for seen in app.seen} == {b'{"external_id":"u1","name":"Ann"}'}
    assert all(seen.headers["authorization"] == "Bearer dd_test_k" for seen in app.seen)


def test_each_create_gets_its_own_key_and_an_explicit_key_is_sent(scripted: Scripted) -> None:
    app, url = scripted([Planned(201, CUSTOMER)])
    with fast(url) as client:
        client.customers.create(name="A")
        client.customers.create(name="A")
        client.customers.create(name="A", idempotency_key="mine-1")
    sent = [seen.headers["idempotency-key"] for seen in app.seen]
    assert sent[0] != sent[1] and sent[2] == "mine-1"


def test_gets_are_retried_without_an_idempotency_key(scripted: Scripted) -> None:
    app, url = scripted(
        [
            Planned(502, b"<html>bad gateway</html>", content_type="text/html"),
            Planned(200, CUSTOMER),
        ]
    )
    with fast(url) as client:
        client.customers.get("cus_x")
    assert [s.method for s in app.seen] == ["GET", "GET"]
    assert all("idempotency-key" not in s.headers for s in app.seen)


def test_retries_exhausted_raise_the_typed_error(scripted: Scripted) -> None:
    app, url = scripted([Planned(503, UNAVAILABLE)])
    with fast(url, max_retries=2) as client, pytest.raises(drawdown.ServerError) as caught:
        client.customers.list()
    assert len(app.seen) == 3
    error = caught.value
    assert (error.status, error.code, error.detail, error.attempts) == (
        503,
        "unavailable",
        "try later",
        3,
    )


def test_non_json_error_body_still_gives_a_clear_error(scripted: Scripted) -> None:
    _, url = scripted([Planned(502, b"<html>upstream down</html>", content_type="text/html")])
    with fast(url, max_retries=0) as client, pytest.raises(drawdown.ServerError) as caught:
        client.customers.list()
    assert caught.value.code == "http_error" and "upstream down" in caught.value.detail


def test_client_errors_are_not_retried(scripted: Scripted) -> None:
    body = json.dumps(
        {"type": "x", "title": "Validation failed", "status": 422, "code": "validation_error",
         "detail": "body.email: bad", "errors": [{"loc": ["body", "email"], "msg": "bad"}]}
    ).encode()  # fmt: skip
    app, url = scripted([Planned(422, body)])
    with fast(url) as client, pytest.raises(drawdown.ValidationFailedError) as caught:
        client.customers.create(email="x")
    assert len(app.seen) == 1
    assert caught.value.errors == [drawdown.FieldError(("body", "email"), "bad")]


def test_429_honours_retry_after(scripted: Scripted, caplog: pytest.LogCaptureFixture) -> None:
    limited = Planned(429, b'{"code":"rate_limited","detail":"slow down"}', {"Retry-After": "0.2"})
    app, url = scripted([limited, Planned(200, CUSTOMER)])
    caplog.set_level(logging.INFO, logger="drawdown.sdk")
    # A large backoff proves the wait came from Retry-After, not from the backoff.
    with drawdown.Client("k", base_url=url, backoff_s=30.0, max_backoff_s=30.0) as client:
        client.customers.get("cus_x")
    assert len(app.seen) == 2
    delays = [
        r.drawdown_retry_delay_s for r in caplog.records if hasattr(r, "drawdown_retry_delay_s")
    ]
    assert delays == [0.2]


def test_retry_after_too_long_fails_at_once(scripted: Scripted) -> None:
    app, url = scripted(
        [Planned(429, b'{"code":"rate_limited","detail":"later"}', {"Retry-After": "3600"})]
    )
    with fast(url) as client, pytest.raises(drawdown.RateLimitError) as caught:
        client.customers.get("cus_x")
    assert len(app.seen) == 1 and caught.value.headers["retry-after"] == "3600"


def test_connection_refused_is_retried_then_raised(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="drawdown.sdk")
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with fast(url, max_retries=2) as client, pytest.raises(drawdown.APIConnectionError) as caught:
        client.customers.list()
    assert caught.value.attempts == 3 and not isinstance(caught.value, drawdown.APITimeoutError)
    retries = [r for r in caplog.records if hasattr(r, "drawdown_attempt")]
    assert [r.drawdown_attempt for r in retries] == [1, 2]


def test_timeout_is_retried_then_raised(scripted: Scripted) -> None:
    app, url = scripted([Planned(200, CUSTOMER, delay_s=1.0)])
    with (
        fast(url, max_retries=1, timeout_s=0.2) as client,
        pytest.raises(drawdown.APITimeoutError) as caught,
    ):
        client.customers.get("cus_x")
    assert caught.value.attempts == 2 and len(app.seen) == 2


def test_timeout_then_success(scripted: Scripted) -> None:
    app, url = scripted([Planned(200, CUSTOMER, delay_s=1.0), Planned(201, CUSTOMER)])
    with fast(url, timeout_s=0.3) as client:
        client.customers.create(name="Ann")
    assert len(app.seen) == 2
    assert app.seen[0].headers["idempotency-key"] == app.seen[1].headers["idempotency-key"]


def test_async_client_retries_with_one_key(scripted: Scripted) -> None:
    app, url = scripted([Planned(500, b"{}"), Planned(503, UNAVAILABLE), Planned(201, CUSTOMER)])

    async def run() -> drawdown.Customer:
        async with drawdown.AsyncClient("k", base_url=url, backoff_s=0.01) as client:
            return await client.customers.create(name="Ann")

    assert asyncio.run(run()).name == "Ann"
    assert len(app.seen) == 3 and len({s.headers["idempotency-key"] for s in app.seen}) == 1


def test_retry_after_parsing() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now) == 7.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(max_retries=10, backoff_s=1.0, max_backoff_s=4.0)
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (5, 4.0)]:
        delays = {policy.backoff_delay_s(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered
    assert policy.delay_s(10, None) is None  # out of retries
    assert policy.delay_s(0, "2") == 2.0


class LosingProxy:
    """Forwards to the real server, but throws away the first ``lose`` responses and answers
    502 instead: the create happened, the client never heard."""

    def __init__(self, target: str, lose: int) -> None:
        self.target = target
        self.lose = lose
        self.forwarded = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k != b"host"]
        query = scope["query_string"].decode()
        url = self.target + scope["path"] + (f"?{query}" if query else "")
        async with httpx.AsyncClient() as upstream:
            response = await upstream.request(scope["method"], url, headers=headers, content=body)
        self.forwarded += 1
        status, content = response.status_code, response.content
        out_headers = [(b"content-type", response.headers.get("content-type", "").encode())]
        if response.headers.get("idempotent-replayed"):
            out_headers.append((b"idempotent-replayed", b"true"))
        if self.forwarded <= self.lose:
            status, content = 502, b'{"code":"bad_gateway","detail":"lost"}'
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": content})


def test_lost_response_retried_create_never_duplicates(live_url: str, api_key: str) -> None:
    proxy = LosingProxy(live_url, lose=2)
    with (
        ThreadedServer(proxy) as server,
        drawdown.Client(api_key, base_url=server.url, backoff_s=0.01) as client,
    ):
        created = client.customers.create(name="Once")  # nothing unique: only the key dedups
    assert proxy.forwarded == 3  # the server saw the create three times
    with drawdown.Client(api_key, base_url=live_url) as direct:
        customers = list(direct.customers.list_all())
    assert [c.id for c in customers] == [created.id]
