"""Running drawdown in production: structured logs with request ids, readiness and graceful
shutdown, Prometheus metrics, per-key rate limits, backups and OpenTelemetry.

Everything here works without the optional extras: ``drawdown[metrics]`` (prometheus-client)
and ``drawdown[otel]`` (OpenTelemetry) switch on what they provide."""
