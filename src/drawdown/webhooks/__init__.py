"""Webhooks: the transactional outbox, signed delivery with retries, and the endpoint API (every
change a receiver could act on writes an outbox event in its own transaction; delivery is
at-least-once, signed, retried). Producers call :func:`drawdown.webhooks.outbox.emit_many` inside
the transaction that makes the change; a worker delivers after commit."""
