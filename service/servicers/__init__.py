"""One thin module per gRPC service: validate -> facts -> engine -> verdict -> store."""
