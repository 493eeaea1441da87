"""HTTP routes of top-up rules (per customer, by id or external id, and organization-wide
defaults) and of top-ups (manual ones, confirm and fail of external ones)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import Connection

from drawdown.customers import service as customers
from drawdown.errors import request_field
from drawdown.http.deps import ReadCtx, RequestContext, WriteCtx
from drawdown.http.fields import fields_in
from drawdown.http.idempotency import IdempotencyKey, run_create
from drawdown.http.pagination import (
    DEFAULT_LIMIT,
    LimitParam,
    Page,
    StartingAfterParam,
    cursor,
    page_of,
)
from drawdown.ids import parse_id
from drawdown.records import CustomerRecord
from drawdown.topups import service
from drawdown.topups.schemas import (
    RuleCreate,
    RuleOut,
    RuleUpdate,
    TopupConfirm,
    TopupCreate,
    TopupFail,
    TopupOut,
    TopupStatus,
)

__all__ = ["router"]

router = APIRouter(tags=["topups"])


# -- rules ---------------------------------------------------------------------------------


def _create_rule(
    ctx: RequestContext, find: tuple[str | None, str | None] | None, body: RuleCreate
) -> RuleOut:
    """``find``: (customer id, external id) of the customer, or None for a default."""
    with fields_in("body"), ctx.database.write() as conn:
        customer_id = None
        if find is not None:
            customer_id = _customer(conn, ctx, *find).id
        rule = service.create_rule(conn, ctx.tenant, customer_id, body, ctx.clock.now())
        return service.render_rule(rule)


def _customer(
    conn: Connection, ctx: RequestContext, customer_id: str | None, external_id: str | None
) -> CustomerRecord:
    if customer_id is not None:
        return customers.get_customer(conn, ctx.tenant, customer_id)
    return customers.get_customer_by_external_id(conn, ctx.tenant, external_id or "")


@router.post("/v1/customers/{customer_id}/topup-rules", status_code=201, response_model=RuleOut)
def create_customer_rule(customer_id: str, body: RuleCreate, ctx: WriteCtx) -> RuleOut:
    return _create_rule(ctx, (customer_id, None), body)


@router.post(
    "/v1/customers/external/{external_id}/topup-rules", status_code=201, response_model=RuleOut
)
def create_customer_rule_by_external_id(
    external_id: str, body: RuleCreate, ctx: WriteCtx
) -> RuleOut:
    return _create_rule(ctx, (None, external_id), body)


def _rules_page(
    ctx: RequestContext,
    conn: Connection,
    customer: CustomerRecord | None,
    defaults_only: bool,
    limit: int,
    starting_after: str | None,
) -> Page[RuleOut]:
    page = cursor("topup_rule", limit, starting_after, ctx.settings.max_page_limit)
    customer_id = None if customer is None else customer.id
    found = service.list_rules(conn, ctx.tenant, customer_id, defaults_only, page)
    return page_of(found, service.render_rule)


@router.get("/v1/customers/{customer_id}/topup-rules", response_model=Page[RuleOut])
def list_customer_rules(
    customer_id: str,
    ctx: ReadCtx,
    limit: LimitParam = DEFAULT_LIMIT,
    starting_after: StartingAfterParam = None,
) -> Page[RuleOut]:
    """The customer's rules and the organization's defaults, newest first."""
    with ctx.database.read() as conn:
        customer = customers.get_customer(conn, ctx.tenant, customer_id)
        return _rules_page(ctx, conn, customer, False, limit, starting_after)


@router.get("/v1/customers/external/{external_id}/topup-rules", response_model=Page[RuleOut])
def list_customer_rules_by_external_id(
    external_id: str,
    ctx: ReadCtx,
    limit: LimitParam = DEFAULT_LIMIT,
    starting_after: StartingAfterParam = None,
) -> Page[RuleOut]:
    with ctx.database.read() as conn:
        customer = customers.get_customer_by_external_id(conn, ctx.tenant, external_id)
        return _rules_page(ctx, conn, customer, False, limit, starting_after)


@router.post("/v1/topup-rules", status_code=201, response_model=RuleOut)
def create_default_rule(body: RuleCreate, ctx: WriteCtx) -> RuleOut:
    """An organization-wide default threshold rule for every customer of the currency (a
    customer's own threshold rule in the currency wins)."""
    return _create_rule(ctx, None, body)


@router.get("/v1/topup-rules", response_model=Page[RuleOut])
def list_rules(
    ctx: ReadCtx,
    limit: LimitParam = DEFAULT_LIMIT,
    starting_after: StartingAfterParam = None,
    defaults_only: Annotated[bool, Query(description="Only organization-wide ones")] = False,
) -> Page[RuleOut]:
    with ctx.database.read() as conn:
        return _rules_page(ctx, conn, None, defaults_only, limit, starting_after)


@router.get("/v1/topup-rules/{rule_id}", response_model=RuleOut)
def get_rule(rule_id: str, ctx: ReadCtx) -> RuleOut:
    with ctx.database.read() as conn:
        return service.render_rule(service.get_rule(conn, ctx.tenant, rule_id))


@router.patch("/v1/topup-rules/{rule_id}", response_model=RuleOut)
def update_rule(rule_id: str, body: RuleUpdate, ctx: WriteCtx) -> RuleOut:
    with fields_in("body"), ctx.database.write() as conn:
        rule = service.get_rule(conn, ctx.tenant, rule_id)
        updated = service.update_rule(conn, ctx.tenant, rule, body, ctx.clock.now())
        return service.render_rule(updated)


@router.delete("/v1/topup-rules/{rule_id}", status_code=204)
def delete_rule(rule_id: str, ctx: WriteCtx) -> Response:
    """Its top-ups stay; a pending one can still be confirmed or failed."""
    with ctx.database.write() as conn:
        service.delete_rule(conn, ctx.tenant, service.get_rule(conn, ctx.tenant, rule_id))
    return Response(status_code=204)


def _set_enabled(rule_id: str, ctx: RequestContext, enabled: bool) -> RuleOut:
    with ctx.database.write() as conn:
        rule = service.get_rule(conn, ctx.tenant, rule_id)
        body = RuleUpdate(enabled=enabled)
        return service.render_rule(
            service.update_rule(conn, ctx.tenant, rule, body, ctx.clock.now())
        )


@router.post("/v1/topup-rules/{rule_id}/enable", response_model=RuleOut)
def enable_rule(rule_id: str, ctx: WriteCtx) -> RuleOut:
    return _set_enabled(rule_id, ctx, True)


@router.post("/v1/topup-rules/{rule_id}/disable", response_model=RuleOut)
def disable_rule(rule_id: str, ctx: WriteCtx) -> RuleOut:
    """A disabled rule makes no top-ups; its pending ones stay pending."""
    return _set_enabled(rule_id, ctx, False)


# -- top-ups -------------------------------------------------------------------------------


def _create_topup(
    ctx: RequestContext,
    route: str,
    find: tuple[str | None, str | None],
    body: TopupCreate,
    idempotency_key: str | None,
) -> Response:
    customer_id, external_id = find

    def create(conn: Connection) -> TopupOut:
        now = ctx.clock.now()
        customer = _customer(conn, ctx, customer_id, external_id)
        row = service.create_topup(
            conn,
            ctx.tenant,
            customer,
            body,
            now,
            ctx.settings.topup_pending_ttl_s,
            ctx.settings.expiry_grace,
        )
        return service.render_topup(row, now)

    with fields_in("body"):
        return run_create(ctx, idempotency_key, route, body, create)


@router.post("/v1/customers/{customer_id}/topups", status_code=201, response_model=TopupOut)
def create_topup(
    customer_id: str, body: TopupCreate, ctx: WriteCtx, idempotency_key: IdempotencyKey = None
) -> Response:
    """A manual top-up: ``auto`` grants now, ``external`` waits for confirm or fail.
    Send an Idempotency-Key so that a retry never tops up twice."""
    route = f"POST /v1/customers/{customer_id}/topups"
    return _create_topup(ctx, route, (customer_id, None), body, idempotency_key)


@router.post(
    "/v1/customers/external/{external_id}/topups", status_code=201, response_model=TopupOut
)
def create_topup_by_external_id(
    external_id: str, body: TopupCreate, ctx: WriteCtx, idempotency_key: IdempotencyKey = None
) -> Response:
    route = f"POST /v1/customers/external/{external_id}/topups"
    return _create_topup(ctx, route, (None, external_id), body, idempotency_key)


StatusParam = Annotated[TopupStatus | None, Query(description="As read now")]


def _topups_page(
    ctx: RequestContext,
    customer_ref: str | None,
    status: str | None,
    limit: int,
    starting_after: str | None,
) -> Page[TopupOut]:
    now = ctx.clock.now()
    page = cursor("topup", limit, starting_after, ctx.settings.max_page_limit)
    with ctx.database.read() as conn:
        customer = None
        if customer_ref is not None:
            if parse_id("customer", customer_ref) is None:
                raise request_field(["query", "customer_id"], "is not a valid customer id")
            customer = customers.get_customer(conn, ctx.tenant, customer_ref).id
        found = service.list_topups(conn, ctx.tenant, customer, status, now, page)
    return page_of(found, lambda row: service.render_topup(row, now))


@router.get("/v1/topups", response_model=Page[TopupOut])
def list_topups(
    ctx: ReadCtx,
    limit: LimitParam = DEFAULT_LIMIT,
    starting_after: StartingAfterParam = None,
    customer_id: str | None = None,
    status: StatusParam = None,
) -> Page[TopupOut]:
    """Newest first."""
    return _topups_page(ctx, customer_id, status, limit, starting_after)


@router.get("/v1/customers/{customer_id}/topups", response_model=Page[TopupOut])
def list_customer_topups(
    customer_id: str,
    ctx: ReadCtx,
    limit: LimitParam = DEFAULT_LIMIT,
    starting_after: StartingAfterParam = None,
    status: StatusParam = None,
) -> Page[TopupOut]:
    return _topups_page(ctx, customer_id, status, limit, starting_after)


@router.get("/v1/topups/{topup_id}", response_model=TopupOut)
def get_topup(topup_id: str, ctx: ReadCtx) -> TopupOut:
    with ctx.database.read() as conn:
        return service.render_topup(service.get_topup(conn, ctx.tenant, topup_id), ctx.clock.now())


@router.post("/v1/topups/{topup_id}/confirm", response_model=TopupOut)
def confirm_topup(
    topup_id: str,
    ctx: WriteCtx,
    body: TopupConfirm | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The charge succeeded: the grant is made now, atomically. Again with the same
    Idempotency-Key replays the answer; again without one is a 409 (``topup_succeeded``)."""
    body = body or TopupConfirm()

    def confirm(conn: Connection) -> TopupOut:
        now = ctx.clock.now()
        grace = ctx.settings.expiry_grace
        row = service.confirm_topup(conn, ctx.tenant, topup_id, body, now, grace)
        return service.render_topup(row, now)

    route = f"POST /v1/topups/{topup_id}/confirm"
    with fields_in("body"):
        return run_create(ctx, idempotency_key, route, body, confirm, status_code=200)


@router.post("/v1/topups/{topup_id}/fail", response_model=TopupOut)
def fail_topup(
    topup_id: str, body: TopupFail, ctx: WriteCtx, idempotency_key: IdempotencyKey = None
) -> Response:
    """The charge failed: no grant; the rule waits its decline back-off before the next."""

    def fail(conn: Connection) -> TopupOut:
        now = ctx.clock.now()
        grace = ctx.settings.expiry_grace
        row = service.fail_topup(conn, ctx.tenant, topup_id, body.reason, now, grace)
        return service.render_topup(row, now)

    route = f"POST /v1/topups/{topup_id}/fail"
    with fields_in("body"):
        return run_create(ctx, idempotency_key, route, body, fail, status_code=200)
