"""The one Settings object. Every knob is a ``DRAWDOWN_``-prefixed environment variable
(or a line in ``.env``); a wrong value stops start-up with one line naming it."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_EXPIRY_GRACE", "Settings", "SettingsError", "load_settings"]

DEFAULT_EXPIRY_GRACE_S = 3600
DEFAULT_EXPIRY_GRACE = timedelta(seconds=DEFAULT_EXPIRY_GRACE_S)


class SettingsError(Exception):
    """A setting has a value drawdown cannot start with."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DRAWDOWN_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = "sqlite:///drawdown.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # Request limits (documented in docs/limits.md).
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_batch_events: int = Field(default=1000, ge=1, le=10_000)
    max_page_limit: int = Field(default=100, ge=1, le=1000)

    # Time window for event timestamps: older than the max age or further ahead is a 422.
    max_event_age_s: int = Field(default=35 * 24 * 3600, ge=60)
    max_event_future_s: int = Field(default=300, ge=0)

    # A grant's expiration is booked this long after its expires_at, so usage reported a
    # little late still draws the credits live when it happened, not paid credits or debt. At most
    # the late-event window (max_event_age_s).
    expiry_grace_s: int = Field(default=DEFAULT_EXPIRY_GRACE_S, ge=0)

    # Background clock: grant activation and expiry sweeps.
    run_clock_in_server: bool = True
    clock_interval_s: float = Field(default=1.0, gt=0)

    # Webhooks (docs/webhooks.md): delivery runs in the server unless turned off here (then
    # run `drawdown worker`); private/loopback targets are refused unless allowed.
    run_webhooks_in_server: bool = True
    webhook_allow_private: bool = False
    webhook_timeout_s: float = Field(default=15.0, gt=0, le=60)
    webhook_poll_interval_s: float = Field(default=0.2, gt=0)
    # How long a worker holds a claimed delivery before another may retry it.
    webhook_lease_s: float = Field(default=60.0, gt=0)
    webhook_concurrency: int = Field(default=4, ge=1, le=64)
    webhook_batch_size: int = Field(default=100, ge=1, le=1000)
    webhook_retention_days: int = Field(default=30, ge=1)

    # Top-ups (docs/topups.md): how long an external top-up waits for its confirm before it
    # expires (a rule's own pending_ttl_s wins).
    topup_pending_ttl_s: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)

    # Seconds an Idempotency-Key is remembered.
    idempotency_ttl_s: int = Field(default=24 * 3600, ge=60)

    # Dashboard sessions: the cookie signing key (generated once and stored in the database
    # when unset) and how long a sign-in lasts.
    dashboard_secret: str | None = Field(default=None, min_length=32)
    dashboard_session_ttl_s: int = Field(default=12 * 3600, ge=60)

    # Operations (docs/operations.md): logs, shutdown, metrics.
    log_format: Literal["auto", "json", "console"] = "auto"
    log_requests: bool = True
    shutdown_timeout_s: float = Field(default=30.0, gt=0)
    shutdown_drain_delay_s: float = Field(default=0.0, ge=0, le=300)
    metrics_token: SecretStr | None = None

    # Per-key limits on one host (docs/operations.md, "Rate limits"); 0 turns one off.
    rate_limit_requests_per_s: float = Field(default=2000.0, ge=0)
    rate_limit_burst: int = Field(default=4000, ge=1)
    rate_limit_events_per_s: float = Field(default=100_000.0, ge=0)

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # An empty variable (compose's ${DRAWDOWN_METRICS_TOKEN:-}) leaves /metrics off.
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return url

    @model_validator(mode="after")
    def _grace_within_late_window(self) -> Settings:
        if self.expiry_grace_s > self.max_event_age_s:
            raise ValueError(
                f"expiry_grace_s ({self.expiry_grace_s}) must be at most max_event_age_s "
                f"({self.max_event_age_s})"
            )
        return self

    @property
    def expiry_grace(self) -> timedelta:
        return timedelta(seconds=self.expiry_grace_s)

    @property
    def max_event_age(self) -> timedelta:
        return timedelta(seconds=self.max_event_age_s)

    @property
    def max_event_future(self) -> timedelta:
        return timedelta(seconds=self.max_event_future_s)


def load_settings(**overrides: object) -> Settings:
    """Build Settings from the environment, turning a validation failure into one line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        if not first["loc"]:  # a rule across settings: its message names them
            raise SettingsError(f"invalid settings: {first['msg']}") from None
        name = "DRAWDOWN_" + "_".join(str(p) for p in first["loc"]).upper()
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
