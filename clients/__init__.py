"""Clients of the ruralpost service: the Python client library and the batch CLI."""
