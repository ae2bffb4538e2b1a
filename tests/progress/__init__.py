"""QuotaService: progress reports."""
