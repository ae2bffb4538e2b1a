"""A peer for `make bench`: Cerbos (Go, from the npm registry) answering the station rules,
generated from rules/stations.yaml as a CEL resource policy, checked to give our verdicts on every
benchmark station and then measured side by side with our server (figures 7 and 8).

`python -m bench.peer [--quick]` runs the two figures alone; see bench/peer/__main__.py.
"""
