"""Usage rollups: partial aggregates per meter, customer and UTC bucket, maintained in the
ingest transaction and combined by usage queries (docs/rollups.md)."""
