"""Runnable examples of the client library (`python -m clients.examples.<name> --help`)."""
