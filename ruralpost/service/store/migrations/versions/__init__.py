"""The revisions, oldest first by their numbers (0001 is the schema of the release before migrations)."""
