"""What every native endpoint shares: authentication, idempotency, pagination, limits."""
