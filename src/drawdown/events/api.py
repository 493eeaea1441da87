from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from drawdown.db import portable
from drawdown.errors import field
from drawdown.events import service, store
from drawdown.events.schemas import EventOut, IngestRequest, IngestResult
from drawdown.http.deps import IngestCtx, ReadCtx
from drawdown.http.pagination import DEFAULT_LIMIT, LimitParam, Page, StartingAfterParam, paginate
from drawdown.ids import parse_id
from drawdown.meters import service as meters
from drawdown.meters.filters import compile_sql

__all__ = ["router"]

router = APIRouter(prefix="/v1/events", tags=["events"])


@router.post("/ingest", response_model=IngestResult)
def ingest_events(body: IngestRequest, ctx: IngestCtx) -> IngestResult:
    """Store a batch of events atomically; duplicates (by identifier) are counted and
    ignored. Every invalid event is reported (loc ``["body","events",index,...]``) and
    then nothing is stored."""
    with ctx.database.write() as conn:
        return service.ingest(conn, ctx.tenant, body.events, ctx.settings, ctx.clock.now())


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
    time_from: Annotated[datetime | None, Query(alias="from")] = None,
    time_to: Annotated[datetime | None, Query(alias="to")] = None,
) -> Page[EventOut]:
    """Newest ingested first. ``from`` (inclusive) and ``to`` (exclusive) bound the event
    timestamp."""
    customer = None
    if customer_id is not None:
        customer = parse_id("customer", customer_id)
        if customer is None:
            raise field(["query", "customer_id"], "is not a customer id")
    for loc, value in (("from", time_from), ("to", time_to)):
        if value is not None and value.tzinfo is None:
            raise field(["query", loc], "needs a timezone offset (e.g. Z)")
    with ctx.database.read() as conn:
        extra = []
        if meter_id is not None:
            meter = meters.get_meter(conn, ctx.tenant, meter_id)
            is_sqlite = portable.is_sqlite(conn)
            extra = [
                store.c.name == meter.event_name,
                compile_sql(meter.filter, store.c, is_sqlite),
            ]
        query = store.list_query(
            ctx.tenant,
            customer_id=customer,
            external_customer_id=external_customer_id,
            name=name,
            time_from=time_from,
            time_to=time_to,
            extra=extra,
        )
        return paginate(
            conn,
            query,
            store.c.id,
            kind="event",
            limit=limit,
            max_limit=ctx.settings.max_page_limit,
            starting_after=starting_after,
            render=service.render,
        )


@router.get("/{event_id}", response_model=EventOut)
def get_event(event_id: str, ctx: ReadCtx) -> EventOut:
    with ctx.database.read() as conn:
        return service.render(service.get_event(conn, ctx.tenant, event_id))
