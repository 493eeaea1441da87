"""drawdown benchmarks: ``make bench`` (SQLite) and ``make bench-pg`` (PostgreSQL).

They print figures and ratios measured in one run on one machine; they never assert a time.
See bench/RESULTS.md for the latest figures and how to read them."""
