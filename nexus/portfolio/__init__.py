"""Portfolio records: ledger model, validation and the tenant-scoped repository."""
