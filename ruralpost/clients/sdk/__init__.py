"""The client library: a typed gRPC client and the errors it raises. Needs no server extra."""
