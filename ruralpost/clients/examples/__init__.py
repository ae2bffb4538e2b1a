"""Runnable examples of the client library (`python -m ruralpost.clients.examples.<name> --help`)."""
