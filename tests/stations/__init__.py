"""StationService: checks, registry, concurrency."""
