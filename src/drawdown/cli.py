"""The ``drawdown`` command: run the server, migrate, manage API keys (these read
DRAWDOWN_DATABASE_URL directly), and operator commands over the API through the Python SDK
(customers, meters, grants, balance, ledger, ingest; these need only an API key).

Server modules (SQLAlchemy, FastAPI, ...) are imported inside the server commands, so the
operator commands start fast and work where only the client is installed."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from drawdown.commands import accounts, customers, grants, holds, meters, topups, webhooks
from drawdown.commands.ingest import ingest
from drawdown.tenancy import MODES, SCOPES, Tenant

if TYPE_CHECKING:
    from drawdown.config import Settings
    from drawdown.db.engine import Database

__all__ = ["app", "main"]

app = typer.Typer(
    help=(
        "drawdown: usage metering and prepaid-credit billing.\n\n"
        "Server commands (serve, migrate, keys) use DRAWDOWN_DATABASE_URL. Operator commands "
        "talk to a running server: pass --api-key/--base-url or set DRAWDOWN_API_KEY and "
        "DRAWDOWN_BASE_URL; add --json for output scripts can read."
    ),
    no_args_is_help=True,
)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(customers.app, name="customers")
app.add_typer(meters.app, name="meters")
app.add_typer(grants.app, name="grants")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(webhooks.alerts_app, name="alerts")
app.add_typer(holds.app, name="holds")
app.add_typer(topups.app, name="topups")
app.command("balance")(accounts.balance)
app.command("ledger")(accounts.ledger)
app.command("ingest")(ingest)


def _database(url: str) -> Database:
    from drawdown.db.engine import Database

    return Database(url)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"drawdown: {message}", err=True)
    return typer.Exit(1)


def _open_error(url: str, exc: Exception) -> typer.Exit:
    """One line for a database that cannot be opened (no server, no such database)."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return _fail(f"cannot open the database {_safe_url(url)} (DRAWDOWN_DATABASE_URL): {reason}")


def _migrate(url: str) -> None:
    from sqlalchemy.exc import DBAPIError

    from drawdown.db.migrate import upgrade

    try:
        upgrade(url)
    except DBAPIError as exc:
        raise _open_error(url, exc) from None


def _ready_database(url: str) -> Database:
    """The database of a command that needs drawdown's tables, or a one-line error: never an
    empty ``drawdown.db`` made by opening a path that did not exist."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from drawdown.db.engine import normalize_url

    plain = normalize_url(url)
    if plain.startswith("sqlite:///") and ":memory:" not in plain:
        path = plain.removeprefix("sqlite:///").split("?", 1)[0]
        if not Path(path).exists():
            raise _fail(
                f"no database at {Path(path).resolve()} (DRAWDOWN_DATABASE_URL={url}): "
                "run `drawdown migrate` to create it, or point DRAWDOWN_DATABASE_URL at yours"
            )
    database = _database(url)
    try:
        with database.read() as conn:
            conn.execute(text("SELECT 1 FROM api_keys WHERE 1 = 0"))
    except DBAPIError as exc:
        database.dispose()
        message = str(exc.orig)
        if "no such table" in message or ("does not exist" in message and "relation" in message):
            raise _fail(
                f"the database {_safe_url(url)} has no drawdown tables: run `drawdown migrate`"
            ) from None
        raise _open_error(url, exc) from None
    return database


def _settings() -> Settings:
    from drawdown.config import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(f"drawdown: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def migrate() -> None:
    """Apply database migrations (DRAWDOWN_DATABASE_URL)."""
    settings = _settings()
    _migrate(settings.database_url)
    typer.echo(f"database is up to date: {_safe_url(settings.database_url)}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (DRAWDOWN_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (DRAWDOWN_PORT)")] = None,
    workers: Annotated[int | None, typer.Option(help="Processes (DRAWDOWN_WORKERS)")] = None,
) -> None:
    """Migrate, then serve the API. On an empty database, print a first API key.

    SIGTERM drains: /readyz turns 503, new connections are refused, in-flight requests and
    the clock's pass finish (DRAWDOWN_SHUTDOWN_TIMEOUT_S at most), then the process exits."""
    import os

    import uvicorn

    from drawdown.ops.logs import uvicorn_log_config

    settings = _settings()
    _migrate(settings.database_url)
    _print_bootstrap_key(settings)
    # Workers build their app from the environment; pass the CLI overrides along.
    for name, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            os.environ[f"DRAWDOWN_{name}"] = str(value)
    settings = _settings()
    with _metrics_directory(settings):
        uvicorn.run(
            "drawdown.app:create_app_from_env",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level=settings.log_level,
            log_config=uvicorn_log_config(settings.log_level, settings.log_format),
            access_log=False,  # drawdown logs each request itself, with its request id
            timeout_graceful_shutdown=int(max(1, settings.shutdown_timeout_s)),
        )


@contextmanager
def _metrics_directory(settings: Settings) -> Iterator[None]:
    """With metrics on, every worker process writes its samples under one directory
    (prometheus-client's multiprocess mode) so that any worker's /metrics sums them all.
    A PROMETHEUS_MULTIPROC_DIR given by the operator is emptied of old samples first."""
    import os
    import shutil
    import tempfile

    if settings.metrics_token is None:
        yield
        return
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    folder = Path(given) if given else Path(tempfile.mkdtemp(prefix="drawdown-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    try:
        yield
    finally:
        if not given:
            shutil.rmtree(folder, ignore_errors=True)


@app.command()
def worker() -> None:
    """Run the background work outside the server: the clock (grant activation and expiry,
    usage rollup rebuilds) and webhook delivery.

    Any number of workers and servers may run them at once. To leave them to workers only,
    start servers with DRAWDOWN_RUN_CLOCK_IN_SERVER=false and
    DRAWDOWN_RUN_WEBHOOKS_IN_SERVER=false. SIGTERM (or Ctrl-C) lets the pass in progress
    finish, then exits."""
    import signal
    import threading

    from drawdown.clock import SystemClock
    from drawdown.credits.clock import run_clock

    # Imported for its payload renderer, which Polar-dialect endpoints need.
    from drawdown.dialects.polar import webhooks as _polar_payloads  # noqa: F401
    from drawdown.events.backfill import BackfillThread
    from drawdown.ops import logs
    from drawdown.topups import install as install_topups
    from drawdown.webhooks.worker import WebhookThread

    settings = _settings()
    clock_passes = install_topups(settings)
    logs.configure(settings.log_level, settings.log_format)
    _migrate(settings.database_url)
    database = _database(settings.database_url)
    clock = SystemClock()
    webhooks = WebhookThread(database, clock, settings)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()  # the clock finishes its pass, then returns

    # Set explicitly: a process started in the background by a non-interactive shell
    # inherits SIGINT ignored, and SIGTERM's default would skip the clean stop.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    try:
        # Inside the try: a Ctrl-C right after the banner still stops cleanly.
        webhooks.start()
        typer.echo(
            f"clock running every {settings.clock_interval_s} s, webhook delivery every "
            f"{settings.webhook_poll_interval_s} s when idle; Ctrl-C stops them"
        )
        back = settings.max_event_age + timedelta(days=5)
        upkeep = BackfillThread(database, settings.clock_interval_s, back)
        upkeep.start()
        interval_s, grace = settings.clock_interval_s, settings.expiry_grace
        run_clock(database, clock, interval_s, stop, grace, clock_passes)
        upkeep.stop(settings.shutdown_timeout_s)
        typer.echo("clock stopped")
    finally:
        webhooks.stop()
        database.dispose()


@app.command()
def backup(
    path: Annotated[Path, typer.Argument(help="The backup file to write (must not exist)")],
) -> None:
    """Write a consistent copy of DRAWDOWN_DATABASE_URL to PATH, safe while servers run
    (SQLite: the online backup API; PostgreSQL: pg_dump --format=custom)."""
    from drawdown.ops.backup import BackupError
    from drawdown.ops.backup import backup as write_backup

    settings = _settings()
    try:
        write_backup(settings.database_url, path)
    except BackupError as exc:
        typer.echo(f"drawdown: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"backed up {_safe_url(settings.database_url)} to {path}")


@app.command()
def restore(
    path: Annotated[Path, typer.Argument(help="A file written by 'drawdown backup'")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that is not empty")
    ] = False,
) -> None:
    """Load a backup into DRAWDOWN_DATABASE_URL (an empty database unless --force). Stop the
    servers using it first; they migrate it when they start again."""
    from drawdown.ops.backup import BackupError
    from drawdown.ops.backup import restore as load_backup

    settings = _settings()
    try:
        load_backup(settings.database_url, path, force=force)
    except BackupError as exc:
        typer.echo(f"drawdown: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"restored {path} into {_safe_url(settings.database_url)}")


def _print_bootstrap_key(settings: Settings) -> None:
    from drawdown.keys import service

    database = _database(settings.database_url)
    with database.write() as conn:
        created = service.bootstrap(conn)
    database.dispose()
    if created is not None:
        typer.echo("Created a default organization and a test-mode API key (shown once):")
        typer.echo(f"\n    {created.secret}\n")
        typer.echo("More keys: drawdown keys create --mode live --scope ingest")


@keys_app.command("create")
def keys_create(
    mode: Annotated[str, typer.Option(help="live or test")] = "test",
    scope: Annotated[str, typer.Option(help="full, ingest (ingest + reads) or read")] = "full",
    name: Annotated[str, typer.Option(help="A label to tell keys apart")] = "cli",
    organization: Annotated[
        str | None, typer.Option(help="Organization id (default: the only one)")
    ] = None,
    blocklet_app_pk: Annotated[
        str | None,
        typer.Option(
            "--blocklet-app-pk",
            help="Register a Blocklet app public key (0x + 64 hex digits) instead: requests "
            "the Payment Kit client signs with it act for the organization, in the mode "
            "their livemode parameter names (--mode is not used).",
        ),
    ] = None,
) -> None:
    """Create an API key and print its secret once (or register a Blocklet app key)."""
    from drawdown.errors import DrawdownError
    from drawdown.keys import service

    if mode not in MODES or scope not in SCOPES:  # Typer cannot type a Literal option
        typer.echo(f"drawdown: --mode must be one of {MODES}, --scope one of {SCOPES}", err=True)
        raise typer.Exit(2)
    database = _ready_database(_settings().database_url)
    try:
        with database.write() as conn:
            org_id = _organization(conn, organization)
            if blocklet_app_pk is not None:
                app_key = service.create_app_key(conn, org_id, blocklet_app_pk, scope, name)
            else:
                created = service.create_key(conn, Tenant(org_id, mode), scope, name)
    except DrawdownError as exc:
        typer.echo(f"drawdown: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    if blocklet_app_pk is not None:
        typer.echo(f"registered Blocklet app key {app_key.id.hex} ({app_key.public_key_hex})")
    else:
        typer.echo(created.secret)


@keys_app.command("blocklet-keypair")
def keys_blocklet_keypair() -> None:
    """Generate a Blocklet app key pair for @blocklet/payment-js: BLOCKLET_APP_SK for the
    client's environment, and the public key to register with
    'drawdown keys create --blocklet-app-pk'. Nothing is stored."""
    from drawdown.keys.component_sig import generate_app_keypair

    secret, public = generate_app_keypair()
    typer.echo(f"BLOCKLET_APP_SK={secret}")
    typer.echo(f"BLOCKLET_APP_PK={public}")


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (never their secrets) and registered Blocklet app keys."""
    from drawdown.keys import service

    database = _ready_database(_settings().database_url)
    with database.read() as conn:
        rows = service.list_keys(conn)
        app_keys = service.list_app_keys(conn)
    typer.echo(f"{'id':34} {'prefix':14} {'mode':5} {'scope':7} {'status':8} name")
    for row in rows:
        status = "revoked" if row.revoked_at else "active"
        typer.echo(
            f"{row.id.hex:34} {row.display_prefix:14} {row.mode:5} {row.scope:7} {status:8} "
            f"{row.name}"
        )
    for key in app_keys:
        status = "revoked" if key.revoked else "active"
        # Blocklet app keys act in either mode (the request's livemode parameter).
        typer.echo(
            f"{key.id.hex:34} {key.public_key_hex[:12] + '..':14} {'any':5} {key.scope:7} "
            f"{status:8} {key.name} (Blocklet app {key.public_key_hex})"
        )


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id from 'keys list'")],
) -> None:
    """Revoke an API key or a Blocklet app key; it stops working within seconds on every
    server."""
    from drawdown.errors import NotFoundError
    from drawdown.keys import service

    database = _ready_database(_settings().database_url)
    try:
        with database.write() as conn:
            service.revoke_key(conn, uuid.UUID(key_id.removeprefix("key_")))
    except (ValueError, NotFoundError):
        typer.echo(f"drawdown: no active API key {key_id}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked {key_id}")


def _organization(conn: object, organization: str | None) -> uuid.UUID:
    from sqlalchemy import Connection

    from drawdown.keys.store import organization_ids

    assert isinstance(conn, Connection)
    ids = organization_ids(conn)
    if organization is not None:
        wanted = uuid.UUID(organization.removeprefix("org_"))
        if wanted not in ids:
            typer.echo(f"drawdown: no organization {organization}", err=True)
            raise typer.Exit(1)
        return wanted
    if len(ids) != 1:
        typer.echo("drawdown: pass --organization (there is not exactly one)", err=True)
        raise typer.Exit(1)
    return ids[0]


def _safe_url(url: str) -> str:
    if "@" in url:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url


def main() -> None:
    try:
        app()
    except Exception as exc:
        from drawdown.config import SettingsError

        if not isinstance(exc, SettingsError):
            raise
        typer.echo(f"drawdown: {exc}", err=True)
        sys.exit(2)
