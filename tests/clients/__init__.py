"""The client library, the batch CLI, readers and reports."""
