"""Every table, in one place: the schema is the contract between domains.

Conventions: ``id`` is a UUIDv7; every tenant-owned row carries ``organization_id`` and
``mode`` ('live' or 'test'); times are :class:`Timestamp` (UTC microseconds); money is a
BIGINT of base units; ``metadata`` columns are named ``metadata_`` in Python because
SQLAlchemy reserves the attribute."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)

from drawdown.db.types import JSONType, Timestamp

__all__ = [
    "api_keys",
    "balance_alert_states",
    "balance_alerts",
    "blocklet_app_keys",
    "credit_accounts",
    "credit_grants",
    "credit_holds",
    "currencies",
    "customers",
    "event_identifiers",
    "events",
    "idempotency_keys",
    "ledger_entries",
    "metadata",
    "meters",
    "organizations",
    "server_secrets",
    "topup_rules",
    "topups",
    "usage_rollup_backfills",
    "usage_rollups",
    "webhook_attempts",
    "webhook_deliveries",
    "webhook_endpoints",
    "webhook_events",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _tenant() -> list[Column[object]]:
    return [
        Column("organization_id", Uuid, ForeignKey("organizations.id"), nullable=False),
        Column("mode", String(4), nullable=False),
    ]


organizations = Table(
    "organizations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Uuid, primary_key=True),
    *_tenant(),
    Column("scope", String(8), nullable=False),
    Column("name", String(200), nullable=False),
    # First characters of the secret, to tell keys apart in lists without revealing them.
    Column("display_prefix", String(24), nullable=False),
    Column("secret_sha256", String(64), nullable=False, unique=True),
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp),
    CheckConstraint("mode IN ('live', 'test')", name="mode"),
    CheckConstraint("scope IN ('full', 'ingest', 'read')", name="scope"),
)

# Secrets the server generates once and every process shares (the dashboard's cookie
# signing key when DRAWDOWN_DASHBOARD_SECRET is unset).
server_secrets = Table(
    "server_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(128), nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

# Blocklet app public keys whose component signatures act for an organization (the Payment
# Kit client); the mode comes from each request's livemode parameter, as in Payment Kit.
blocklet_app_keys = Table(
    "blocklet_app_keys",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("organization_id", Uuid, ForeignKey("organizations.id"), nullable=False),
    Column("scope", String(8), nullable=False),
    Column("name", String(200), nullable=False),
    # Raw Ed25519 public key, 64 lowercase hex digits (no 0x).
    Column("public_key", String(64), nullable=False, index=True),
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp),
    CheckConstraint("scope IN ('full', 'ingest', 'read')", name="scope"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    *_tenant(),
    Column("key", String(255), nullable=False),
    Column("route", String(200), nullable=False),
    Column("request_sha256", String(64), nullable=False),
    Column("response_status", Integer, nullable=False),
    Column("response_body", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("organization_id", "mode", "key"),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Uuid, primary_key=True),
    *_tenant(),
    Column("external_id", String(255)),
    Column("email", String(320)),
    Column("name", String(255)),
    Column("metadata_", JSONType, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("deleted_at", Timestamp),
    # external_id is unique among customers that are not deleted, so a deleted customer's
    # external_id can be used again.
    Index(
        "uq_customers_external_id_live",
        "organization_id",
        "mode",
        "external_id",
        unique=True,
        sqlite_where=text("deleted_at IS NULL AND external_id IS NOT NULL"),
        postgresql_where=text("deleted_at IS NULL AND external_id IS NOT NULL"),
    ),
    Index("ix_customers_tenant_email", "organization_id", "mode", "email"),
)

currencies = Table(
    "currencies",
    metadata,
    Column("id", Uuid, primary_key=True),
    *_tenant(),
    Column("name", String(100), nullable=False),
    Column("symbol", String(16), nullable=False),
    Column("decimals", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    CheckConstraint("decimals >= 0 AND decimals <= 18", name="decimals"),
)

meters = Table(
    "meters",
    metadata,
    Column("id", Uuid, primary_key=True),
    *_tenant(),
    Column("name", String(255), nullable=False),
    Column("event_name", String(255), nullable=False),
    # Polar's clause language: {"conjunction": "and", "clauses": [...]}, or null.
    Column("filter", JSONType),
    Column("aggregation_func", String(16), nullable=False),
    Column("aggregation_property", String(255)),
    Column("unit", String(64), nullable=False),
    Column("description", Text, nullable=False),
    Column("metadata_", JSONType, nullable=False),
    Column("currency_id", Uuid, ForeignKey("currencies.id"), nullable=False),
    # Credits per unit, an exact decimal kept as text so no backend rounds it.
    Column("rate", String(64), nullable=False),
    Column("status", String(8), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("organization_id", "mode", "event_name"),
    CheckConstraint("status IN ('active', 'inactive')", name="status"),
    CheckConstraint(
        "aggregation_func IN ('sum', 'count', 'max', 'min', 'avg', 'unique', 'latest')",
        name="aggregation_func",
    ),
)

events = Table(
    "events",
    metadata,
    Column("id", Uuid, primary_key=True),
    *_tenant(),
    Column("identifier", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("customer_id", Uuid, ForeignKey("customers.id")),
    # Kept as sent, even once resolved, so events reported under an external id stay
    # findable by it, claimed when that customer is created.
    Column("external_customer_id", String(255)),
    Column("timestamp", Timestamp, nullable=False),
    Column("ingested_at", Timestamp, nullable=False),
    Column("properties", JSONType, nullable=False),
    UniqueConstraint("organization_id", "mode", "identifier"),
    Index("ix_events_usage", "organization_id", "mode", "name", "timestamp"),
    Index("ix_events_customer", "customer_id", "name", "timestamp"),
)

# PostgreSQL's exact dedup: events there are partitioned by month (drawdown.db.partitions),
# and a unique key on a partitioned table would have to include the timestamp. SQLite
# dedups on the events table's own unique key and leaves this table empty.
event_identifiers = Table(
    "event_identifiers",
    metadata,
    Column("organization_id", Uuid, nullable=False),
    Column("mode", String(4), nullable=False),
    Column("identifier", String(255), nullable=False),
    Column("event_id", Uuid, nullable=False),
    # The event's timestamp: its partition.
    Column("timestamp", Timestamp, nullable=False),
    PrimaryKeyConstraint("organization_id", "mode", "identifier"),
)

credit_accounts = Table(
    "credit_accounts",
    metadata,
    Column("id", Uuid, primary_key=True),
    *_tenant(),
    Column("customer_id", Uuid, ForeignKey("customers.id"), nullable=False),
    Column("currency_id", Uuid, ForeignKey("currencies.id"), nullable=False),
    # Sum of this account's ledger entries: remaining of booked grants minus debt.
    Column("balance", BigInteger, nullable=False),
    # Usage not covered by any grant, owed until a grant pays it (a new grant pays debt first).
    Column("debt", BigInteger, nullable=False),
    Column("last_sequence", BigInteger, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("customer_id", "currency_id"),
    CheckConstraint("debt >= 0", name="debt"),
)

credit_grants = Table(
    "credit_grants",
    metadata,
    Column("id", Uuid, primary_key=True),
    *_tenant(),
    Column("customer_id", Uuid, ForeignKey("customers.id"), nullable=False),
    Column("currency_id", Uuid, ForeignKey("currencies.id"), nullable=False),
    Column("account_id", Uuid, ForeignKey("credit_accounts.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("category", String(16), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("effective_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp),
    # Stored status; reads also apply the clock (a grant past expires_at reads as expired
    # before the sweeper books it).
    Column("status", String(16), nullable=False),
    Column("name", String(255), nullable=False),
    Column("metadata_", JSONType, nullable=False),
    # The negative-usage event that created this grant (negative usage grants credits), if any.
    # No foreign key: events are partitioned on PostgreSQL (their key includes timestamp).
    Column("source_event_id", Uuid),
    Column("booked_at", Timestamp),
    Column("closed_at", Timestamp),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining"),
    CheckConstraint("priority >= 0 AND priority <= 100", name="priority"),
    CheckConstraint("category IN ('paid', 'promotional')", name="category"),
    CheckConstraint(
        "status IN ('pending', 'active', 'depleted', 'expired', 'voided')", name="status"
    ),
    Index("ix_credit_grants_account_status", "account_id", "status"),
    Index("ix_credit_grants_tenant_customer", "organization_id", "mode", "customer_id"),
    # The clock's work queue: grants waiting to activate or to expire.
    Index("ix_credit_grants_status_effective_at", "status", "effective_at"),
    Index("ix_credit_grants_status_expires_at", "status", "expires_at"),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", Uuid, primary_key=True),
    # Organization, customer and currency are the account's: no foreign keys of their own
    # (one parent lookup per entry less on the hottest insert); tests check they agree.
    Column("organization_id", Uuid, nullable=False),
    Column("mode", String(4), nullable=False),
    Column("account_id", Uuid, ForeignKey("credit_accounts.id"), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("currency_id", Uuid, nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("type", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("grant_id", Uuid, ForeignKey("credit_grants.id")),
    # No foreign key: see source_event_id; the ledger is append-only and checked by tests.
    Column("event_id", Uuid),
    # Why, when the type alone does not say (a void when the customer was deleted).
    Column("reason", String(32)),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("account_id", "sequence"),
    Index("ix_ledger_entries_tenant_customer", "organization_id", "mode", "customer_id", "id"),
    Index("ix_ledger_entries_grant_id", "grant_id"),
    Index("ix_ledger_entries_event_id", "event_id"),
    CheckConstraint(
        "type IN ('grant', 'consumption', 'debt', 'settlement', 'debt_settled', "
        "'expiration', 'void')",
        name="type",
    ),
)

# -- webhooks (outbox written in the ledger change's transaction) -------------------------

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Uuid, primary_key=True),
    *_tenant(),
    Column("url", String(2048), nullable=False),
    Column("description", String(500), nullable=False),
    # Subscribed event types; ["*"] means every type.
    Column("event_types", JSONType, nullable=False),
    Column("metadata_", JSONType, nullable=False),
    Column("secret", String(128), nullable=False),
    # The secret before the last rotation, still signing until previous_secret_expires_at.
    Column("previous_secret", String(128)),
    Column("previous_secret_expires_at", Timestamp),
    # Which surface created it: native, polar (also signs with Polar's key derivation) or
    # paymentkit (renders Payment Kit's shape and event names).
    Column("flavor", String(16), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", String(500)),
    # Events in a row that exhausted every retry (5 disable the endpoint).
    Column("consecutive_failures", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("deleted_at", Timestamp),
    # The receiver asked to slow down (429, 502, 504 or Retry-After): nothing is sent to it
    # before then; its next success clears it.
    Column("throttled_until", Timestamp),
    CheckConstraint("flavor IN ('native', 'polar', 'paymentkit')", name="flavor"),
    Index("ix_webhook_endpoints_tenant", "organization_id", "mode"),
)

# The outbox and the event log: written in the transaction that caused the event.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", Uuid, primary_key=True),
    *_tenant(),
    Column("type", String(64), nullable=False),
    Column("occurred_at", Timestamp, nullable=False),
    Column("data", JSONType, nullable=False),
    # Set once the event has been fanned out into one delivery per subscribed endpoint.
    Column("dispatched_at", Timestamp),
    Index("ix_webhook_events_tenant_type", "organization_id", "mode", "type", "id"),
    Index("ix_webhook_events_tenant_id", "organization_id", "mode", "id"),
    Index(
        "ix_webhook_events_undispatched",
        "id",
        sqlite_where=text("dispatched_at IS NULL"),
        postgresql_where=text("dispatched_at IS NULL"),
    ),
)

# One event to one endpoint: retried until it succeeds or the schedule runs out.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),
    *_tenant(),
    Column("event_id", Uuid, ForeignKey("webhook_events.id"), nullable=False),
    Column("endpoint_id", Uuid, ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Timestamp),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
    Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
    Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
    Index("ix_webhook_deliveries_event", "event_id"),
)

# Every HTTP attempt, with what the receiver answered.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Uuid, primary_key=True),
    *_tenant(),
    Column("delivery_id", Uuid, ForeignKey("webhook_deliveries.id"), nullable=False),
    Column("event_id", Uuid, ForeignKey("webhook_events.id"), nullable=False),
    Column("endpoint_id", Uuid, ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("http_code", Integer),
    Column("error", String(500)),
    # The first 2 KiB of the response body.
    Column("response", Text),
    Column("latency_us", BigInteger, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_webhook_attempts_tenant", "organization_id", "mode", "id"),
    Index("ix_webhook_attempts_endpoint", "endpoint_id", "id"),
    Index("ix_webhook_attempts_event", "event_id", "id"),
)

# -- balance alerts (thresholds with state) ----------------------------------------------

balance_alerts = Table(
    "balance_alerts",
    metadata,
    Column("id", Uuid, primary_key=True),
    *_tenant(),
    # Null: an organization-wide default for every customer of the currency.
    Column("customer_id", Uuid, ForeignKey("customers.id")),
    Column("currency_id", Uuid, ForeignKey("currencies.id"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("balance_type", String(10), nullable=False),
    # [{"code": str, "value": int base units, "notify_on": ["triggered", ...]}], decreasing.
    Column("thresholds", JSONType, nullable=False),
    Column("rearm_margin", BigInteger, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    CheckConstraint("balance_type IN ('available', 'ledger')", name="balance_type"),
    CheckConstraint("rearm_margin >= 0", name="rearm_margin"),
    Index("ix_balance_alerts_tenant_currency", "organization_id", "mode", "currency_id"),
    Index("ix_balance_alerts_customer", "customer_id"),
)

# Per alert, customer and threshold: ok or in_alarm. Written under the account's lock.
balance_alert_states = Table(
    "balance_alert_states",
    metadata,
    Column("alert_id", Uuid, ForeignKey("balance_alerts.id"), nullable=False),
    Column("customer_id", Uuid, ForeignKey("customers.id"), nullable=False),
    Column("code", String(64), nullable=False),
    Column("state", String(8), nullable=False),
    Column("since", Timestamp, nullable=False),
    Column("last_value", BigInteger, nullable=False),
    UniqueConstraint("alert_id", "customer_id", "code"),
    CheckConstraint("state IN ('ok', 'in_alarm')", name="state"),
)

credit_holds = Table(
    "credit_holds",
    metadata,
    Column("id", Uuid, primary_key=True),
    *_tenant(),
    Column("customer_id", Uuid, ForeignKey("customers.id"), nullable=False),
    Column("currency_id", Uuid, ForeignKey("currencies.id"), nullable=False),
    Column("account_id", Uuid, ForeignKey("credit_accounts.id"), nullable=False),
    # What is reserved (at most requested, at least min_amount), in base units.
    Column("amount", BigInteger, nullable=False),
    Column("requested", BigInteger, nullable=False),
    Column("min_amount", BigInteger, nullable=False),
    Column("timeout_s", Integer, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    # Stored status; a hold past expires_at reads as expired before the clock books it.
    Column("status", String(16), nullable=False),
    Column("captured_amount", BigInteger),
    Column("debt_incurred", BigInteger, nullable=False),
    # The usage event a capture ingested (no foreign key: events are partitioned).
    Column("event_id", Uuid),
    Column("reason", String(255)),
    Column("metadata_", JSONType, nullable=False),
    Column("resolved_at", Timestamp),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    CheckConstraint("amount > 0 AND amount <= requested", name="amount"),
    CheckConstraint("status IN ('active', 'captured', 'released', 'expired')", name="status"),
    Index("ix_credit_holds_account_status", "account_id", "status"),
    Index("ix_credit_holds_tenant_customer", "organization_id", "mode", "customer_id", "id"),
    # The clock's work queue: active holds past expires_at.
    Index("ix_credit_holds_status_expires_at", "status", "expires_at"),
)

# -- top-ups (docs/topups.md): grants made by a rule or by hand -------------------------

topup_rules = Table(
    "topup_rules",
    metadata,
    Column("id", Uuid, primary_key=True),
    *_tenant(),
    # Null: an organization-wide default for every customer of the currency.
    Column("customer_id", Uuid, ForeignKey("customers.id")),
    Column("currency_id", Uuid, ForeignKey("currencies.id"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("trigger", String(16), nullable=False),
    # threshold: fires when available + pending top-ups is at or below this (base units).
    Column("threshold", BigInteger),
    # schedule: one run per period of `interval` counted from anchor_at.
    Column("interval", String(16)),
    Column("anchor_at", Timestamp),
    # The start of the next period not yet run (the clock's work queue).
    Column("next_run_at", Timestamp),
    Column("method", String(8), nullable=False),
    Column("amount", BigInteger),
    Column("target_balance", BigInteger),
    Column("settlement", String(8), nullable=False),
    # {"category", "priority", "expires_after" (ISO 8601 duration or null), "name", "metadata"}
    Column("grant_template", JSONType, nullable=False),
    Column("max_per_day", Integer),
    Column("max_amount_per_day", BigInteger),
    Column("cooldown_s", Integer, nullable=False),
    Column("decline_backoff_s", Integer, nullable=False),
    # Null: the server's DRAWDOWN_TOPUP_PENDING_TTL_S.
    Column("pending_ttl_s", Integer),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    CheckConstraint("trigger IN ('threshold', 'schedule')", name="trigger"),
    CheckConstraint("method IN ('fixed', 'target')", name="method"),
    CheckConstraint("settlement IN ('auto', 'external')", name="settlement"),
    Index("ix_topup_rules_tenant_currency", "organization_id", "mode", "currency_id"),
    Index("ix_topup_rules_customer_id", "customer_id"),
    Index("ix_topup_rules_trigger_next_run_at", "trigger", "next_run_at"),
)

topups = Table(
    "topups",
    metadata,
    Column("id", Uuid, primary_key=True),
    *_tenant(),
    # No foreign key: a rule may be deleted while its history stays.
    Column("rule_id", Uuid),
    Column("customer_id", Uuid, ForeignKey("customers.id"), nullable=False),
    Column("currency_id", Uuid, ForeignKey("currencies.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("settlement", String(8), nullable=False),
    # The rule's template when it fired, so a later confirm grants what was requested.
    Column("grant_template", JSONType, nullable=False),
    Column("grant_id", Uuid, ForeignKey("credit_grants.id")),
    # Schedule runs: the period's start; unique per rule and customer (one run a period).
    Column("period_start", Timestamp),
    Column("external_reference", String(255)),
    Column("failure_reason", String(500)),
    Column("metadata_", JSONType, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("settled_at", Timestamp),
    Column("expires_at", Timestamp),
    Column("updated_at", Timestamp, nullable=False),
    CheckConstraint("amount > 0", name="amount"),
    CheckConstraint(
        "status IN ('pending', 'succeeded', 'failed', 'canceled', 'expired')", name="status"
    ),
    CheckConstraint("reason IN ('threshold', 'schedule', 'manual')", name="reason"),
    UniqueConstraint("rule_id", "customer_id", "period_start"),
    Index("ix_topups_tenant_customer", "organization_id", "mode", "customer_id", "id"),
    # The threshold's history (pending, today's count and amount, cooldown, back-off).
    Index("ix_topups_customer_currency_created", "customer_id", "currency_id", "created_at"),
    # The clock's work queue: pending top-ups past expires_at.
    Index("ix_topups_status_expires_at", "status", "expires_at"),
)

# Usage rollups (docs/rollups.md): per meter, customer ("subject") and UTC bucket, the
# partial aggregates every sum/count/avg/min/max query combines. Derived data, maintained
# in the ingest transaction, so no foreign keys (meters are never deleted).
usage_rollups = Table(
    "usage_rollups",
    metadata,
    Column("organization_id", Uuid, nullable=False),
    Column("mode", String(4), nullable=False),
    Column("meter_id", Uuid, nullable=False),
    # 900, 3600 or 86400 for buckets of that many seconds; 0 for the whole history.
    Column("period_s", Integer, nullable=False),
    # "c" + customer id (hex), or "x" + the external id of events no customer has claimed.
    Column("subject", String(300), nullable=False),
    # UTC microseconds, a multiple of the period (0 for the whole history).
    Column("bucket_start", BigInteger, nullable=False),
    Column("n_events", BigInteger, nullable=False),
    # How many matched events had a numeric property (avg's divisor).
    Column("n_values", BigInteger, nullable=False),
    # The sum in two parts: small integers natively, every other number exactly as a decimal
    # (NUMERIC on PostgreSQL, decimal text on SQLite).
    Column("int_total", BigInteger, nullable=False),
    Column("dec_total", Numeric().with_variant(Text(), "sqlite")),
    Column("min_value", Numeric()),
    Column("max_value", Numeric()),
    PrimaryKeyConstraint("meter_id", "period_s", "bucket_start", "subject"),
    Index("ix_usage_rollups_subject", "meter_id", "period_s", "subject", "bucket_start"),
    sqlite_with_rowid=False,
)

# A meter whose rollup is being rebuilt from stored events (made after its events were
# stored): usage reads raw events until the row is gone.
usage_rollup_backfills = Table(
    "usage_rollup_backfills",
    metadata,
    Column("meter_id", Uuid, primary_key=True),
    Column("organization_id", Uuid, nullable=False),
    Column("mode", String(4), nullable=False),
    # Event timestamps below next_us are rebuilt; the job ends at until_us.
    Column("first_us", BigInteger, nullable=False),
    Column("next_us", BigInteger, nullable=False),
    Column("until_us", BigInteger, nullable=False),
    Column("created_at", Timestamp, nullable=False),
)
