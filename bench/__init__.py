"""`make bench`: the figures of docs/performance.md, each against a baseline measured in the same run."""
