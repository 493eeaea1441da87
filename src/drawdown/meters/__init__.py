"""Meters: definitions over events (filter, aggregation, currency, rate)."""
