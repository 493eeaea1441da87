"""Customers: who consumes."""
