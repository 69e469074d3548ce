"""Market-data ingest: providers → private master DuckDB → published read-only snapshots.

Only the ingest process writes market data. Entry points: :func:`ingest.jobs.run_prices`
and the CLI ``python -m ingest``.
"""
