"""Time-ordered ids (UUIDv7) and their prefixed rendering.

One id per object, several renderings: the native API shows ``cus_<32 hex>``, the Polar
dialect shows the plain UUID. B-tree inserts of time-ordered ids stay local."""

from __future__ import annotations

import random
import threading
import time
import uuid

__all__ = ["PREFIXES", "new_id", "parse_id", "render_id"]

PREFIXES = {
    "organization": "org",
    "api_key": "key",
    "customer": "cus",
    "currency": "cur",
    "meter": "mtr",
    "event": "evt",
    "credit_grant": "cgr",
    "ledger_entry": "txn",
    "credit_account": "acc",
    "webhook_event": "msg",
    "webhook_endpoint": "whe",
    "webhook_attempt": "wha",
    "balance_alert": "alr",
    "hold": "hld",
    "topup_rule": "tpr",
    "topup": "tup",
}

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> uuid.UUID:
    """A UUIDv7: 48-bit unix milliseconds, then a 12-bit counter that keeps ids made in the
    same millisecond in order, then 62 random bits."""
    global _last_ms, _counter
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms, _counter = now_ms, random.getrandbits(10)
        else:
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms, _counter = _last_ms + 1, 0
        ms, counter = _last_ms, _counter
    # Ids need to be unique and ordered, not secret: the fast generator is enough (and the
    # random module reseeds itself in forked workers).
    rand = random.getrandbits(62)
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand
    return uuid.UUID(int=value)


def render_id(kind: str, value: uuid.UUID) -> str:
    return f"{PREFIXES[kind]}_{value.hex}"


def parse_id(kind: str, text: str) -> uuid.UUID | None:
    """The UUID behind ``cus_...`` (or a plain UUID); None when the text is not an id of
    this kind, so callers answer 404 rather than 500."""
    prefix = PREFIXES[kind] + "_"
    raw = text[len(prefix) :] if text.startswith(prefix) else text
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None
