"""The server: lifecycle, reload, statuses, faults, hostile input, auth, limits, TLS, metrics, workers."""
