"""Events: ingestion (the hot path), retrieval and lists, and usage queries."""
