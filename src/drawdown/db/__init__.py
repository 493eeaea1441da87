"""Storage: engines, the transaction scope, the schema and its migrations."""

from drawdown.db.engine import Database, normalize_url

__all__ = ["Database", "normalize_url"]
