"""``drawdown topups create|get|list|confirm|fail`` and ``drawdown topups rules
create|list|enable|disable|delete``: refill credits by rule or by hand."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from drawdown.commands._common import (
    ApiKey,
    BaseUrl,
    Column,
    Json,
    Limit,
    MetadataOpt,
    ShowAll,
    connect,
    emit_list,
    emit_object,
    first,
    metadata_pairs,
    page_size,
    reporting_errors,
)

__all__ = ["app"]

app = typer.Typer(
    help="Top up credits by hand, or by rules (a threshold or a schedule).",
    no_args_is_help=True,
)
rules_app = typer.Typer(help="Rules that make top-ups.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

TOPUP_COLUMNS: list[Column] = [
    ("id", lambda t: t.id),
    ("customer_id", lambda t: t.customer_id),
    ("status", lambda t: t.status),
    ("reason", lambda t: t.reason),
    ("amount", lambda t: t.amount),
    ("grant_id", lambda t: t.grant_id),
    ("created_at", lambda t: t.created_at),
]
RULE_COLUMNS: list[Column] = [
    ("id", lambda r: r.id),
    ("customer_id", lambda r: r.customer_id),
    ("trigger", lambda r: r.trigger),
    ("threshold", lambda r: r.threshold),
    ("interval", lambda r: r.interval),
    ("method", lambda r: r.method),
    ("amount", lambda r: r.amount if r.method == "fixed" else r.target_balance),
    ("settlement", lambda r: r.settlement),
    ("enabled", lambda r: r.enabled),
]

TopupId = Annotated[str, typer.Argument(help="The top-up's id (tup_...).")]
RuleId = Annotated[str, typer.Argument(help="The rule's id (tpr_...).")]
Customer = Annotated[str | None, typer.Option(help="Customer id (cus_...).")]
ExternalCustomer = Annotated[str | None, typer.Option(help="Or the customer's external id.")]
Meter = Annotated[str | None, typer.Option(help="A meter (id or event_name): its currency.")]
CurrencyId = Annotated[str | None, typer.Option(help="Or a currency (cur_...).")]
Settlement = Annotated[
    str, typer.Option(help="auto (grant now) or external (wait for confirm or fail).")
]
Category = Annotated[str, typer.Option(help="The grant's category: paid or promotional.")]
ExpiresAfter = Annotated[
    str | None, typer.Option(help="The grant expires this long after it is made (P30D).")
]


def _template(category: str, expires_after: str | None, name: str | None) -> Any:
    out: dict[str, Any] = {"category": category, "expires_after": expires_after}
    if name:
        out["name"] = name
    return out


@app.command("create")
def create(
    amount: Annotated[str, typer.Option(help="Credits to add, e.g. 25.00.")],
    customer: Customer = None,
    external_customer: ExternalCustomer = None,
    meter: Meter = None,
    currency_id: CurrencyId = None,
    settlement: Settlement = "auto",
    category: Category = "paid",
    expires_after: ExpiresAfter = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Makes a retry of this command safe.")
    ] = None,
    metadata: MetadataOpt = None,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """A manual top-up."""
    with reporting_errors(), connect(api_key, base_url) as client:
        topup = client.topups.create(
            amount=amount,
            customer_id=customer,
            external_customer_id=external_customer,
            meter_id=meter,
            currency_id=currency_id,
            settlement=settlement,  # type: ignore[arg-type]  # the server names a bad value
            grant_template=_template(category, expires_after, None),
            metadata=metadata_pairs(metadata or []),
            idempotency_key=idempotency_key,
        )
    emit_object(topup, as_json)


@app.command("get")
def get(
    topup_id: TopupId,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """Show one top-up."""
    with reporting_errors(), connect(api_key, base_url) as client:
        topup = client.topups.get(topup_id)
    emit_object(topup, as_json)


@app.command("list")
def list_(
    customer: Customer = None,
    status: Annotated[
        str | None, typer.Option(help="pending, succeeded, failed, canceled or expired.")
    ] = None,
    limit: Limit = 20,
    show_all: ShowAll = False,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """List top-ups, newest first."""
    with reporting_errors(), connect(api_key, base_url) as client:
        items = client.topups.list_all(
            customer_id=customer,
            status=status,  # type: ignore[arg-type]  # the server names a bad value
            limit=page_size(limit, show_all),
        )
        shown = first(items, limit, show_all)
    emit_list(shown, TOPUP_COLUMNS, as_json, "top-ups")


@app.command("confirm")
def confirm(
    topup_id: TopupId,
    external_reference: Annotated[
        str | None, typer.Option(help="Your charge's id (kept on the top-up).")
    ] = None,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """The charge succeeded: make the grant now."""
    with reporting_errors(), connect(api_key, base_url) as client:
        topup = client.topups.confirm(topup_id, external_reference=external_reference)
    emit_object(topup, as_json)


@app.command("fail")
def fail_(
    topup_id: TopupId,
    reason: Annotated[str, typer.Option(help="Why the charge failed.")],
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """The charge failed: no grant; the rule backs off."""
    with reporting_errors(), connect(api_key, base_url) as client:
        topup = client.topups.fail(topup_id, reason=reason)
    emit_object(topup, as_json)


@rules_app.command("create")
def rules_create(
    trigger: Annotated[str, typer.Option(help="threshold or schedule.")],
    customer: Customer = None,
    external_customer: ExternalCustomer = None,
    meter: Meter = None,
    currency_id: CurrencyId = None,
    threshold: Annotated[
        str | None, typer.Option(help="threshold: top up at or below this balance.")
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option(help="schedule: day, week, month, quarter, semiannual or year."),
    ] = None,
    anchor_at: Annotated[
        str | None, typer.Option(help="schedule: when the first period starts (RFC 3339).")
    ] = None,
    amount: Annotated[
        str | None, typer.Option(help="fixed: top up whole multiples of this.")
    ] = None,
    target_balance: Annotated[str | None, typer.Option(help="Or: top up to this.")] = None,
    settlement: Settlement = "auto",
    category: Category = "paid",
    expires_after: ExpiresAfter = None,
    grant_name: Annotated[str | None, typer.Option(help="The grants' name.")] = None,
    max_per_day: Annotated[int | None, typer.Option(help="Top-ups in any 24 hours.")] = None,
    cooldown_s: Annotated[int, typer.Option(help="Seconds after the last top-up.")] = 0,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """A rule for a customer (or, with no customer, an organization-wide default)."""
    with reporting_errors(), connect(api_key, base_url) as client:
        rule = client.topup_rules.create(
            trigger=trigger,  # type: ignore[arg-type]  # the server names a bad value
            customer_id=customer,
            external_customer_id=external_customer,
            meter_id=meter,
            currency_id=currency_id,
            threshold=threshold,
            interval=interval,
            anchor_at=anchor_at,
            method="target" if target_balance is not None else "fixed",
            amount=amount,
            target_balance=target_balance,
            settlement=settlement,  # type: ignore[arg-type]
            grant_template=_template(category, expires_after, grant_name),
            limits={"max_per_day": max_per_day, "cooldown_s": cooldown_s},
        )
    emit_object(rule, as_json)


@rules_app.command("list")
def rules_list(
    customer: Customer = None,
    limit: Limit = 20,
    show_all: ShowAll = False,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """A customer's rules and the defaults, or every rule; newest first."""
    with reporting_errors(), connect(api_key, base_url) as client:
        items = client.topup_rules.list_all(customer_id=customer, limit=page_size(limit, show_all))
        shown = first(items, limit, show_all)
    emit_list(shown, RULE_COLUMNS, as_json, "top-up rules")


def _switch(rule_id: str, enabled: bool, api_key: str | None, base_url: str, as_json: bool) -> None:
    with reporting_errors(), connect(api_key, base_url) as client:
        rule = (client.topup_rules.enable if enabled else client.topup_rules.disable)(rule_id)
    emit_object(rule, as_json)


@rules_app.command("enable")
def rules_enable(
    rule_id: RuleId,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """Turn a rule on."""
    _switch(rule_id, True, api_key, base_url, as_json)


@rules_app.command("disable")
def rules_disable(
    rule_id: RuleId,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """Turn a rule off (its pending top-ups stay pending)."""
    _switch(rule_id, False, api_key, base_url, as_json)


@rules_app.command("delete")
def rules_delete(
    rule_id: RuleId,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
) -> None:
    """Delete a rule; its top-ups stay."""
    with reporting_errors(), connect(api_key, base_url) as client:
        client.topup_rules.delete(rule_id)
    typer.echo(f"deleted {rule_id}")
