"""Golden cases: the rule packs' own tests, run by `make test` and before a reload activates."""
