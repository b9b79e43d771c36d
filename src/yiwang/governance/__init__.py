"""数据治理: ingest, validate, clean, de-identify, version and report on resource data."""
