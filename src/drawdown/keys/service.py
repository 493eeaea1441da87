"""API keys: shown once, stored as SHA-256 (keys carry 192 random bits, so a fast hash is
enough), revocable. Authentication results are cached per process for a few seconds so the
balance check does not pay a key lookup each time; a revoked key stops working within
``AUTH_CACHE_TTL_S`` everywhere."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from drawdown.clock import utcnow
from drawdown.errors import AuthenticationError, ConflictError, DrawdownError, NotFoundError
from drawdown.ids import new_id
from drawdown.keys import component_sig, store
from drawdown.tenancy import Mode, Principal, Scope, Tenant

__all__ = [
    "AUTH_CACHE_TTL_S",
    "MAX_SIGNATURE_WINDOW_S",
    "AppKey",
    "CreatedKey",
    "authenticate",
    "authenticate_signature",
    "bootstrap",
    "cached_principal",
    "create_app_key",
    "create_key",
    "create_organization",
    "list_app_keys",
    "list_keys",
    "list_tenant_keys",
    "principal_for_key",
    "revoke_key",
    "revoke_tenant_key",
    "server_secret",
]

AUTH_CACHE_TTL_S = 5.0
_auth_cache: dict[str, tuple[float, Principal]] = {}


@dataclass(frozen=True)
class CreatedKey:
    id: uuid.UUID
    secret: str
    tenant: Tenant
    scope: Scope


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_organization(conn: Connection, name: str) -> uuid.UUID:
    org_id = new_id()
    store.insert_organization(conn, org_id, name, utcnow())
    return org_id


def create_key(conn: Connection, tenant: Tenant, scope: Scope, name: str = "default") -> CreatedKey:
    secret = f"dd_{tenant.mode}_{secrets.token_urlsafe(24)}"
    key_id = new_id()
    store.insert_key(
        conn,
        {
            "id": key_id,
            "organization_id": tenant.organization_id,
            "mode": tenant.mode,
            "scope": scope,
            "name": name,
            "display_prefix": secret[:12],
            "secret_sha256": _hash(secret),
            "created_at": utcnow(),
        },
    )
    return CreatedKey(id=key_id, secret=secret, tenant=tenant, scope=scope)


def list_keys(conn: Connection, organization_id: uuid.UUID | None = None) -> list[Any]:
    return store.list_keys(conn, organization_id)


def revoke_key(conn: Connection, key_id: uuid.UUID) -> None:
    """Revoke an API key or a Blocklet app key (ids never collide)."""
    now = utcnow()
    if not store.revoke_key(conn, key_id, now) and not store.revoke_app_key(conn, key_id, now):
        raise NotFoundError(f"No active API key {key_id}")
    _auth_cache.clear()
    _app_keys_cache.clear()


def cached_principal(secret: str) -> Principal | None:
    """The principal of a key authenticated less than AUTH_CACHE_TTL_S ago, without a
    database round trip (the hot path: most requests reuse a recent key)."""
    cached = _auth_cache.get(_hash(secret))
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    return None


def authenticate(conn: Connection, secret: str) -> Principal:
    cached = cached_principal(secret)
    if cached is not None:
        return cached
    digest = _hash(secret)
    row = store.find_key_by_hash(conn, digest)
    if row is None or row.revoked_at is not None:
        raise AuthenticationError("Unknown or revoked API key", code="invalid_api_key")
    mode: Mode = row.mode
    principal = Principal(Tenant(row.organization_id, mode), row.scope, row.id)
    if len(_auth_cache) > 10_000:
        _auth_cache.clear()
    _auth_cache[digest] = (time.monotonic() + AUTH_CACHE_TTL_S, principal)
    return principal


def bootstrap(conn: Connection) -> CreatedKey | None:
    """On an empty database: a default organization and a full-scope test key."""
    if store.count_organizations(conn) > 0:
        return None
    org_id = create_organization(conn, "Default organization")
    return create_key(conn, Tenant(org_id, "test"), "full", name="bootstrap")


def principal_for_key(conn: Connection, key_id: uuid.UUID) -> Principal:
    """The principal of a key known by id (a dashboard session); revoked keys are refused."""
    row = store.get_key(conn, key_id)
    if row is None or row.revoked_at is not None:
        raise AuthenticationError("Unknown or revoked API key", code="invalid_api_key")
    mode: Mode = row.mode
    return Principal(Tenant(row.organization_id, mode), row.scope, row.id)


def list_tenant_keys(conn: Connection, tenant: Tenant) -> list[Any]:
    """The organization's keys in one mode, newest first (hashes only, never secrets)."""
    return store.list_tenant_keys(conn, tenant)


def revoke_tenant_key(conn: Connection, tenant: Tenant, key_id: uuid.UUID) -> None:
    """Revoke one of the tenant's own keys; another tenant's key is not found."""
    if not store.revoke_tenant_key(conn, tenant, key_id, utcnow()):
        raise NotFoundError(f"No active API key {key_id}")
    _auth_cache.clear()


def server_secret(conn: Connection, name: str) -> str:
    """A random secret generated on first use and shared by every process after."""
    return store.get_or_create_secret(conn, name, secrets.token_urlsafe(48), utcnow())


# The SDK signs with exp = iat + 300: a signature older than that (or claiming a longer life)
# is refused, so a captured request can be replayed for at most this long.
MAX_SIGNATURE_WINDOW_S = 300
_app_keys_cache: dict[str, tuple[float, list[AppKey]]] = {}
_last_key_of_caller: dict[str, bytes] = {}


@dataclass(frozen=True, slots=True)
class AppKey:
    id: uuid.UUID
    organization_id: uuid.UUID
    scope: Scope
    name: str
    public_key: bytes
    revoked: bool

    @property
    def public_key_hex(self) -> str:
        return "0x" + self.public_key.hex()


def _app_key(row: Any) -> AppKey:
    return AppKey(
        id=row.id,
        organization_id=row.organization_id,
        scope=row.scope,
        name=row.name,
        public_key=bytes.fromhex(row.public_key),
        revoked=row.revoked_at is not None,
    )


def create_app_key(
    conn: Connection,
    organization_id: uuid.UUID,
    public_key: str,
    scope: Scope = "full",
    name: str = "blocklet app",
) -> AppKey:
    """Register a Blocklet app's Ed25519 public key (``0x`` + 64 hex digits) for an
    organization; requests it signs act for that organization in either mode."""
    try:
        raw = component_sig.parse_public_key(public_key)
    except ValueError as exc:
        raise DrawdownError(str(exc), code="invalid_public_key") from None
    if store.active_app_keys(conn, raw.hex()):
        raise ConflictError("This public key is already registered", code="public_key_taken")
    key_id = new_id()
    values = {
        "id": key_id,
        "organization_id": organization_id,
        "scope": scope,
        "name": name,
        "public_key": raw.hex(),
        "created_at": utcnow(),
    }
    store.insert_app_key(conn, values)
    _app_keys_cache.clear()
    return AppKey(key_id, organization_id, scope, name, raw, revoked=False)


def list_app_keys(conn: Connection, organization_id: uuid.UUID | None = None) -> list[AppKey]:
    return [_app_key(row) for row in store.list_app_keys(conn, organization_id)]


def _active_app_keys(conn: Connection, *, fresh: bool = False) -> list[AppKey]:
    cached = _app_keys_cache.get("active")
    if not fresh and cached is not None and cached[0] > time.monotonic():
        return cached[1]
    active = [_app_key(row) for row in store.active_app_keys(conn)]
    _app_keys_cache["active"] = (time.monotonic() + AUTH_CACHE_TTL_S, active)
    return active


def _matching_app_key(
    conn: Connection, signed: component_sig.SignedRequest, caller: str
) -> AppKey | None:
    # The cached list first; a key registered since (on any server) is found by re-reading.
    # Signatures name no key: the key that last verified for this caller (the unsigned
    # x-component-did, a hint only) is tried first, so one verification is the usual cost.
    hinted = _last_key_of_caller.get(caller)
    for fresh in (False, True):
        by_public_key = {key.public_key: key for key in _active_app_keys(conn, fresh=fresh)}
        order = sorted(by_public_key, key=lambda public_key: public_key != hinted)
        matched = component_sig.verify(signed, order)
        if matched is not None:
            if len(_last_key_of_caller) > 10_000:
                _last_key_of_caller.clear()
            _last_key_of_caller[caller] = matched
            return by_public_key[matched]
    return None


def authenticate_signature(
    conn: Connection,
    signed: component_sig.SignedRequest,
    mode: Mode,
    now_s: int,
    caller: str = "",
) -> Principal:
    """The principal of the registered app key whose signature ``signed`` carries, in
    ``mode``. A revoked key stops working within AUTH_CACHE_TTL_S on every server."""
    if signed.exp < now_s:
        raise AuthenticationError("The component signature has expired", code="expired_signature")
    if signed.iat > now_s + component_sig.MAX_IAT_SKEW_S:
        raise AuthenticationError(
            "The component signature's iat is in the future", code="invalid_signature"
        )
    if signed.exp - signed.iat > MAX_SIGNATURE_WINDOW_S:
        raise AuthenticationError(
            f"A component signature may live at most {MAX_SIGNATURE_WINDOW_S} s",
            code="invalid_signature",
        )
    key = _matching_app_key(conn, signed, caller)
    if key is None:
        raise AuthenticationError(
            "The component signature matches no registered Blocklet app key",
            code="invalid_signature",
        )
    return Principal(Tenant(key.organization_id, mode), key.scope, key.id)
