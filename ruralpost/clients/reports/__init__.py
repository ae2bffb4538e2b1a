"""Reports of results: the per-row item and its summary, labels, HTML and text tables."""
