"""The package's public surface, and that the client needs no server dependency."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest

import drawdown
from drawdown.sdk._calls import credit_grants_create, customers_update, meters_usage

SERVER_MODULES = (
    "fastapi",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "uvicorn",
    "starlette",
    "pydantic_settings",
)


def test_public_api_is_pinned() -> None:
    assert sorted(drawdown.__all__) == sorted([
        "APIConnectionError", "APIError", "APIStatusError", "APITimeoutError", "Access",
        "AlertThreshold", "AsyncClient", "AsyncReservation", "AuthenticationError",
        "BadRequestError", "Balance", "BalanceAlert", "Client", "ConflictError", "CreditGrant",
        "CreditTransaction", "Currency", "Customer", "Event", "FieldError", "Hold",
        "IngestBatchError", "IngestResult", "IngestTotals", "InsufficientCreditsError", "Meter",
        "MeterAggregation", "MeterUsage", "NotFoundError", "OMIT", "Page", "PayloadTooLargeError",
        "PermissionDeniedError", "RateLimitError", "Reservation", "ServerError", "Topup",
        "TopupRule", "UsageBucket",
        "ValidationFailedError", "WebhookDelivery", "WebhookEndpoint", "WebhookEvent",
        "WebhookScheduled", "__version__",
    ])  # fmt: skip
    for name in drawdown.__all__:
        assert getattr(drawdown, name) is not None
    assert issubclass(drawdown.APITimeoutError, drawdown.APIConnectionError)
    for status_error in (
        drawdown.NotFoundError,
        drawdown.ServerError,
        drawdown.RateLimitError,
        drawdown.InsufficientCreditsError,
    ):
        assert issubclass(status_error, drawdown.APIStatusError)
        assert issubclass(status_error, drawdown.APIError)


def _imported_after(statement: str) -> set[str]:
    code = f"import json, sys; {statement}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return {name.split(".")[0] for name in json.loads(result.stdout)}


@pytest.mark.parametrize(
    "statement",
    [
        "import drawdown",
        "import drawdown; drawdown.Client('k'); drawdown.AsyncClient('k')",
        "import drawdown.commands.customers, drawdown.commands.ingest",
    ],
)
def test_client_imports_no_server_dependency(statement: str) -> None:
    loaded = _imported_after(statement)
    assert "drawdown" in loaded and "httpx" in loaded
    assert not loaded & set(SERVER_MODULES), loaded & set(SERVER_MODULES)


def test_amounts_refuse_floats_and_keep_decimals_exact() -> None:
    call = credit_grants_create(amount=Decimal("10.10"), customer_id="cus_x", currency_id="cur_x")
    assert call.body["amount"] == "10.10"
    assert credit_grants_create(amount="0.1", customer_id="c").body["amount"] == "0.1"
    with pytest.raises(TypeError, match="amount"):
        credit_grants_create(amount=0.1, customer_id="c")  # type: ignore[arg-type]


def test_times_are_rfc3339_utc_and_naive_times_refused() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    paris = timezone(timedelta(hours=1))
    call = meters_usage(
        "mtr_x", from_=datetime(2025, 1, 1, 1, tzinfo=paris), to=datetime(2025, 2, 1, tzinfo=UTC)
    )
    assert call.params == {"from": "2025-01-01T00:00:00Z", "to": "2025-02-01T00:00:00Z"}
    with pytest.raises(ValueError, match="naive"):
        meters_usage("mtr_x", from_=datetime(2025, 1, 1), to="2025-02-01T00:00:00Z")


def test_update_sends_only_the_fields_given() -> None:
    assert customers_update("cus_x", name="A").body == {"name": "A"}
    assert customers_update("cus_x", email=None).body == {"email": None}
    assert customers_update("cus_x").body == {}
