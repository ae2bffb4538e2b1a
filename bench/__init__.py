"""`make bench`: the figures of PERFORMANCE.md, each against a baseline measured in the same run."""
