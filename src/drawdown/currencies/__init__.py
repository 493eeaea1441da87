"""Currencies: what credits are counted in."""
