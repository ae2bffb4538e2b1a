"""Loading and checking rule packs and programme data (the rules are data, `rules/`)."""
