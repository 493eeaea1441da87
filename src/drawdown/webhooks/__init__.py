"""Webhooks: the transactional outbox, signed delivery with retries, and the endpoint API
(DESIGN rule 15). Producers call :func:`drawdown.webhooks.outbox.emit_many` inside the
transaction that makes the change; a worker delivers after commit."""
