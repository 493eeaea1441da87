"""Operator commands of the ``drawdown`` CLI, over the Python SDK (no server imports)."""
