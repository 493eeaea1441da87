"""A client generated from /openapi.json with openapi-python-client works against the API:
it creates a customer, a meter and a grant, reads them back as typed models, and gets a
typed ``Problem`` for a 404, a 422 and a 429 (a key over its rate limit); Payment Kit's
record times come back as datetimes.

The generator is run during the test, into a temporary folder, so the client always
matches today's schema. openapi-python-client pins an older typer than drawdown's CLI, so it
lives in its own virtualenv, ``.venv/openapi-client-tools`` (made by ``make test``); the
generated code itself needs only httpx and attrs, which the dev environment has."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

from drawdown.app import create_app
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.keys import service as keys
from drawdown.tenancy import Tenant
from tests.sdk.conftest import ThreadedServer

TOOL = Path(sys.prefix) / "openapi-client-tools" / "bin" / "openapi-python-client"
GENERATE_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    if not TOOL.exists():
        reason = f"{TOOL} is missing: `make test` installs openapi-python-client there"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("generated")
    url = f"sqlite:///{folder / 'schema.db'}"
    with TestClient(create_app(Settings(database_url=url, run_clock_in_server=False))) as c:
        (folder / "openapi.json").write_text(json.dumps(c.get("/openapi.json").json()))
    package = f"drawdown_generated_{uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        [
            *(str(TOOL), "generate", "--path", str(folder / "openapi.json")),
            *("--meta", "none", "--output-path", str(folder / package)),
        ],
        capture_output=True,
        text=True,
        timeout=GENERATE_TIMEOUT_S,
        cwd=folder,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Every operation and model made it: the generator drops what it cannot parse, and says so.
    dropped = [line for line in result.stdout.splitlines() if line.startswith("WARNING")]
    assert not dropped and "Unable to process schema" not in result.stdout, result.stdout
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(package)
    finally:
        sys.path.remove(str(folder))


def _mod(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def test_the_generated_client_round_trips_and_types_its_errors(
    generated: ModuleType, database: Database
) -> None:
    api = _mod(generated, "api.customers.customers_create")
    get_customer = _mod(generated, "api.customers.customers_get")
    create_meter = _mod(generated, "api.meters.meters_create")
    get_meter = _mod(generated, "api.meters.meters_get")
    list_meters = _mod(generated, "api.meters.meters_list")
    create_grant = _mod(generated, "api.credits_.credit_grants_create")
    get_grant = _mod(generated, "api.credits_.credit_grants_get")
    models = _mod(generated, "models")

    with database.write() as conn:
        org = keys.create_organization(conn, "generated client")
        secret = keys.create_key(conn, Tenant(org, "test"), "full").secret
    app = create_app(Settings(database_url=database.url, run_clock_in_server=False), database)
    with ThreadedServer(app) as server:
        client = generated.AuthenticatedClient(
            base_url=server.url, token=secret, raise_on_unexpected_status=True
        )
        made = api.sync_detailed(
            client=client,
            body=models.CustomerCreate(external_id="genclient_user", email="gen@example.com"),
        )
        assert made.status_code == 201
        customer = made.parsed
        assert isinstance(customer, models.Customer)
        meter = create_meter.sync(
            client=client,
            body=models.MeterCreate(
                name="Generated client tokens",
                event_name="genclient_tokens",
                aggregation=models.Aggregation(func=models.AggregationFunc.SUM, property_="tokens"),
                rate="0.01",
            ),
        )
        assert isinstance(meter, models.Meter)
        grant = create_grant.sync(
            client=client,
            body=models.GrantCreate(
                amount="10",
                customer_id=customer.id,
                meter_id=meter.id,
                category=models.GrantCreateCategory.PROMOTIONAL,
            ),
        )
        assert isinstance(grant, models.Grant)
        assert (grant.amount, grant.remaining, grant.status) == ("10.00", "10.00", "active")

        again = get_customer.sync(customer_id=customer.id, client=client)
        assert isinstance(again, models.Customer)
        assert (again.external_id, again.email, again.created_at) == (
            "genclient_user",
            "gen@example.com",
            customer.created_at,
        )
        assert again.created_at.tzinfo is not None  # format: date-time, parsed as such
        assert get_meter.sync(meter=meter.id, client=client).to_dict() == meter.to_dict()
        assert get_grant.sync(grant_id=grant.id, client=client).to_dict() == grant.to_dict()
        page = list_meters.sync(client=client)
        assert [m.id for m in page.data] == [meter.id]

        missing = get_customer.sync_detailed(customer_id="cus_missing", client=client)
        assert missing.status_code == 404
        assert isinstance(missing.parsed, models.Problem)
        assert missing.parsed.code == "not_found"

        pk_create = _mod(generated, "api.paymentkit.paymentkit_meters_create")
        pk_meter = pk_create.sync(
            client=client,
            body=models.PaymentKitMeterCreate(
                name="Generated client calls", event_name="genclient.calls", unit="calls"
            ),
        )
        assert isinstance(pk_meter, models.PaymentKitMeter)
        assert pk_meter.created_at.tzinfo is not None  # format: date-time on its ISO times

        invalid = api.sync_detailed(client=client, body=models.CustomerCreate(email="nope"))
        assert invalid.status_code == 422
        assert isinstance(invalid.parsed, models.Problem)
        assert [(e.loc, e.msg) for e in invalid.parsed.errors] == [
            (["body", "email"], "must be an email address such as user@example.com")
        ]


def test_the_generated_client_types_a_rate_limited_answer(
    generated: ModuleType, database: Database
) -> None:
    list_customers = _mod(generated, "api.customers.customers_list")
    polar_list = _mod(generated, "api.polar.polar_customers_list")
    pk_list = _mod(generated, "api.paymentkit.paymentkit_meters_list")
    models = _mod(generated, "models")
    with database.write() as conn:
        org = keys.create_organization(conn, "generated client limited")
        secret = keys.create_key(conn, Tenant(org, "test"), "full").secret
    settings = Settings(
        database_url=database.url, run_clock_in_server=False,
        rate_limit_requests_per_s=0.01, rate_limit_burst=1,
    )  # fmt: skip
    with ThreadedServer(create_app(settings, database)) as server:
        # An undocumented status would raise UnexpectedStatus instead of parsing.
        client = generated.AuthenticatedClient(
            base_url=server.url, token=secret, raise_on_unexpected_status=True
        )
        assert list_customers.sync_detailed(client=client).status_code == 200
        refused = list_customers.sync_detailed(client=client)
        assert refused.status_code == 429
        assert isinstance(refused.parsed, models.Problem)
        assert refused.parsed.code == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        polar = polar_list.sync_detailed(client=client)
        assert polar.status_code == 429 and isinstance(polar.parsed, models.PolarError)
        paymentkit = pk_list.sync_detailed(client=client)
        assert paymentkit.status_code == 429
        assert isinstance(paymentkit.parsed, models.PaymentKitError)
