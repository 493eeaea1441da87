from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from drawdown import flows
from drawdown.errors import request_field
from drawdown.events import service, store, usage
from drawdown.events.schemas import EventOut, IngestRequest, IngestResult, UsageOut
from drawdown.events.usage import usage_query
from drawdown.events.windows import Window
from drawdown.http.deps import IngestCtx, ReadCtx
from drawdown.http.fields import fields_in
from drawdown.http.pagination import (
    DEFAULT_LIMIT,
    LimitParam,
    Page,
    StartingAfterParam,
    cursor,
    page_of,
)
from drawdown.http.ratelimit import charge_events
from drawdown.ids import parse_id
from drawdown.meters import service as meters
from drawdown.schemas import QueryInstant

__all__ = ["router", "usage_router"]

router = APIRouter(prefix="/v1/events", tags=["events"])
# A meter's usage is computed over events (drawdown.events.usage), so its route lives here.
usage_router = APIRouter(prefix="/v1/meters", tags=["meters"])


@router.post("/ingest", response_model=IngestResult)
def ingest_events(body: IngestRequest, ctx: IngestCtx) -> IngestResult:
    """Store a batch of events atomically; duplicates (by identifier) are counted and
    ignored. Every invalid event is reported (loc ``["body","events",index,...]``) and
    then nothing is stored."""
    charge_events(ctx, len(body.events))
    with fields_in("body"), ctx.database.write() as conn:
        return flows.ingest(conn, ctx.tenant, body.events, ctx.settings, ctx.clock.now())


@router.get("", response_model=Page[EventOut])
def list_events(
    ctx: ReadCtx,
    limit: LimitParam = DEFAULT_LIMIT,
    starting_after: StartingAfterParam = None,
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
    external_customer_id: Annotated[str | None, Query(max_length=255)] = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
    meter_id: Annotated[
        str | None, Query(max_length=255, description="Events this meter counts")
    ] = None,
    time_from: Annotated[QueryInstant | None, Query(alias="from")] = None,
    time_to: Annotated[QueryInstant | None, Query(alias="to")] = None,
) -> Page[EventOut]:
    """Newest ingested first. ``from`` (inclusive) and ``to`` (exclusive) bound the event
    timestamp."""
    customer = None
    if customer_id is not None:
        customer = parse_id("customer", customer_id)
        if customer is None:
            raise request_field(["query", "customer_id"], "is not a customer id")
    for loc, value in (("from", time_from), ("to", time_to)):
        if value is not None and value.tzinfo is None:
            raise request_field(["query", loc], "needs a timezone offset (e.g. Z)")
    page = cursor("event", limit, starting_after, ctx.settings.max_page_limit)
    with ctx.database.read() as conn:
        meter = None
        if meter_id is not None:
            found = meters.get_meter(conn, ctx.tenant, meter_id)
            meter = (found.event_name, found.filter)
        filters = store.EventFilter(
            customer_id=customer,
            external_customer_id=external_customer_id,
            name=name,
            time_from=time_from,
            time_to=time_to,
            meter=meter,
        )
        return page_of(store.events_page(conn, ctx.tenant, filters, page), service.render)


@router.get("/{event_id}", response_model=EventOut)
def get_event(event_id: str, ctx: ReadCtx) -> EventOut:
    with ctx.database.read() as conn:
        return service.render(service.get_event(conn, ctx.tenant, event_id))


@usage_router.get("/{meter}/usage", response_model=UsageOut, response_model_by_alias=True)
def meter_usage(
    meter: str,
    ctx: ReadCtx,
    time_from: Annotated[QueryInstant, Query(alias="from", description="Inclusive (RFC 3339)")],
    time_to: Annotated[QueryInstant, Query(alias="to", description="Exclusive (RFC 3339)")],
    window: Window = "day",
    timezone: Annotated[str, Query(max_length=64, description="IANA name")] = "UTC",
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
    group_by: Annotated[
        str | None, Query(max_length=255, description="customer, or a property path")
    ] = None,
) -> Response:
    """The meter's usage in [from, to): buckets per window in the timezone, and a total.
    docs/usage.md says what each aggregation means across windows."""
    with fields_in("query"), ctx.database.read() as conn:
        row = meters.get_meter(conn, ctx.tenant, meter)
        query = usage_query(
            ctx.tenant, row, time_from, time_to, window, timezone, customer_id, group_by
        )
        out = usage.report(conn, query)
    return Response(out.model_dump_json(by_alias=True), media_type="application/json")
