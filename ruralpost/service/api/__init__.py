"""The only place that speaks gRPC: thin servicers, interceptors, auth, metrics, statuses."""
