"""Blocklet component signatures, as ``@blocklet/sdk`` (the transport of
``@blocklet/payment-js``) makes them and Payment Kit verifies them.

The client signs ``{iat, exp, body, query, method, url}`` as a stable JSON string (keys
sorted at every level, no whitespace, non-ASCII kept), hashed with SHA3-256, with the
Ed25519 key of its Blocklet app, and sends ``x-component-sig`` (``0x`` + hex),
``x-component-sig-iat`` and ``x-component-sig-exp`` (unix seconds; the SDK makes
``exp = iat + 300``). ``body`` is the parsed JSON body (``{}`` without one), ``query`` the
query string as ``qs.parse`` gives it (string values, bracket nesting), ``method`` lower
case and ``url`` the raw request path without the query.

Pure functions only: finding the registered keys is keys/service.py's job."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "MAX_IAT_SKEW_S",
    "SignedRequest",
    "canonical_message",
    "generate_app_keypair",
    "parse_public_key",
    "qs_parse",
    "stable_json",
    "verify",
]

# A client clock a little ahead of ours is tolerated; further ahead is refused.
MAX_IAT_SKEW_S = 60
_QS_DEPTH = 5  # qs.parse's defaults
_QS_ARRAY_LIMIT = 20
_QS_PARAMETER_LIMIT = 1000
_ARRAY_MARK = object()  # marks a dict built from a[0]=... (no decoded key can equal it)
_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What a request carries that the signature covers, as received."""

    signature: bytes
    iat: int
    exp: int
    body: Any
    query: dict[str, Any]
    method: str
    url: str


def parse_public_key(text: str) -> bytes:
    """A 32-byte Ed25519 public key from hex (``0x`` optional); ValueError otherwise."""
    if not _HEX_KEY.match(text.strip()):
        raise ValueError("a Blocklet app public key is 0x followed by 64 hex digits")
    raw = bytes.fromhex(text.strip().removeprefix("0x").removeprefix("0X"))
    Ed25519PublicKey.from_public_bytes(raw)
    return raw


def generate_app_keypair() -> tuple[str, str]:
    """A new app key pair as the SDK wants it: ``BLOCKLET_APP_SK`` (``0x`` + seed + public
    key, 128 hex digits) and the public key (``0x`` + 64 hex digits) to register."""
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return "0x" + (seed + public).hex(), "0x" + public.hex()


def _js_number(value: float) -> str:
    """``String(value)`` in JavaScript (ECMAScript Number::toString), for finite doubles."""
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = k + int(exponent)  # value = 0.digits x 10^n
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def _utf16_order(key: str) -> bytes:
    # JavaScript compares strings by UTF-16 code units.
    return key.encode("utf-16-be", "surrogatepass")


def stable_json(value: Any) -> str:
    """``json-stable-stringify`` of a JSON value (what the SDK signs)."""
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda item: _utf16_order(str(item[0])))
        return "{" + ",".join(f"{stable_json(str(k))}:{stable_json(v)}" for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(stable_json(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _js_number(value) if math.isfinite(value) else "null"
    return json.dumps(str(value), ensure_ascii=False)


def _decode(text: str) -> str:
    plus = text.replace("+", " ")
    try:
        return unquote(plus, errors="strict")
    except UnicodeDecodeError:  # qs keeps what decodeURIComponent cannot decode
        return plus


def _qs_segments(key: str) -> list[str]:
    """``a[b][c]`` -> ``["a", "[b]", "[c]"]``, at most qs's depth of bracket segments."""
    head, bracket, rest = key.partition("[")
    if not bracket or not head:
        return [key]
    segments = [head]
    rest = "[" + rest
    while len(segments) <= _QS_DEPTH:
        match = re.match(r"\[[^\[\]]*\]", rest)
        if match is None:
            break
        segments.append(match.group(0))
        rest = rest[match.end() :]
    if rest:
        segments.append("[" + rest + "]")
    return segments


def _qs_leaf(segments: list[str], value: Any) -> Any:
    leaf: Any = value
    for segment in reversed(segments[1:]):
        inner = segment[1:-1]
        if inner == "":
            leaf = [leaf]
        elif inner.isdigit() and int(inner) <= _QS_ARRAY_LIMIT and str(int(inner)) == inner:
            leaf = {int(inner): leaf, _ARRAY_MARK: True}
        else:
            leaf = {inner: leaf}
    return {segments[0]: leaf}


def _qs_merge(target: Any, source: Any) -> Any:
    if isinstance(target, dict) and isinstance(source, dict):
        merged = dict(target)
        for key, value in source.items():
            if key in merged and key != _ARRAY_MARK:
                merged[key] = _qs_merge(merged[key], value)
            else:
                merged[key] = value
        return merged
    if isinstance(target, list) and isinstance(source, list):
        return target + source
    if isinstance(target, list):
        return [*target, source]
    return [target, source] if not isinstance(source, list) else [target, *source]


def _qs_compact(value: Any) -> Any:
    if isinstance(value, dict):
        if value.pop(_ARRAY_MARK, False) and all(isinstance(k, int) for k in value):
            return [_qs_compact(value[k]) for k in sorted(value)]
        value.pop(_ARRAY_MARK, None)
        return {str(k): _qs_compact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_qs_compact(v) for v in value]
    return value


def qs_parse(raw_query: str) -> dict[str, Any]:
    """The query string as ``qs.parse`` (default options) reads it: string values, repeated
    keys as arrays, ``a[b]`` as objects, ``a[]`` and ``a[0]`` as arrays."""
    result: dict[str, Any] = {}
    for part in raw_query.split("&")[:_QS_PARAMETER_LIMIT]:
        if not part:
            continue
        bracket_equals = part.find("]=")
        pos = part.find("=") if bracket_equals == -1 else bracket_equals + 1
        raw_key, raw_value = (part, "") if pos == -1 else (part[:pos], part[pos + 1 :])
        key = _decode(raw_key)
        if not key:
            continue
        result = _qs_merge(result, _qs_leaf(_qs_segments(key), _decode(raw_value)))
    compacted: dict[str, Any] = _qs_compact(result)
    return compacted


def canonical_message(signed: SignedRequest) -> bytes:
    data = {
        "iat": signed.iat,
        "exp": signed.exp,
        "body": signed.body,
        "query": signed.query,
        "method": signed.method.lower(),
        "url": signed.url,
    }
    return stable_json(data).encode("utf-8")


@functools.lru_cache(maxsize=4096)
def _loaded(public_key: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(public_key)


def verify(signed: SignedRequest, public_keys: Iterable[bytes]) -> bytes | None:
    """The first of ``public_keys`` whose signature ``signed`` carries, or None."""
    digest = hashlib.sha3_256(canonical_message(signed)).digest()
    for public_key in public_keys:
        try:
            _loaded(public_key).verify(signed.signature, digest)
        except (InvalidSignature, ValueError):
            continue
        return public_key
    return None
