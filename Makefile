# Two commands set everything up on a fresh machine: `make run` and `make test`.
# PYTHON= and VENV= pick the interpreter and its venv (3.11 to 3.13), e.g.
#   make PYTHON=python3.13 VENV=.venv313 test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# durable_rules, built from its checked sdist with the fix for 3.13 (scripts/build-durable-rules.sh)
WHEELHOUSE ?= wheelhouse
DURABLE_RULES := scripts/build-durable-rules.sh scripts/durable-rules-py313.patch
PROTOS := $(wildcard protos/ruralpost/v1/*.proto)
STAMP := $(VENV)/.installed
GEN_STAMP := ruralpost/v1/.generated
# LISTEN= and DB= override `ruralpost serve`'s own defaults (127.0.0.1:50051, var/ruralpost.db)

.PHONY: setup gen run check test lint typecheck bench bench-claims clean browser constraints

setup: $(STAMP) $(GEN_STAMP)

$(STAMP): pyproject.toml setup.py constraints.txt $(DURABLE_RULES)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	sh scripts/build-durable-rules.sh $(BIN)/python $(WHEELHOUSE)
	$(BIN)/python -m pip install --quiet -c constraints.txt --find-links $(WHEELHOUSE) -e '.[server,dev]'
	# the checkout itself on sys.path: the generated `ruralpost` package appears after install
	$(BIN)/python -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "ruralpost-checkout.pth").write_text(str(pathlib.Path.cwd()) + "\n")'
	touch $@

# Stubs are generated from protos/ into the `ruralpost.v1` package, never edited by hand.
$(GEN_STAMP): $(PROTOS) $(STAMP) ruralpost/protogen.py
	$(BIN)/python -m ruralpost.protogen
	touch $@

gen: $(GEN_STAMP)

run: setup
	$(BIN)/ruralpost serve $(if $(LISTEN),--listen $(LISTEN)) $(if $(DB),--db $(DB))

# Refreshes constraints.txt (the pinned tree `setup` installs): a fresh venv gets the newest
# versions pyproject.toml allows, with the grpcio family at GRPC (one version for all five).
GRPC ?= 1.81.1
constraints:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	sh scripts/build-durable-rules.sh .venv-lock/bin/python $(WHEELHOUSE)
	.venv-lock/bin/python -m pip install --quiet --find-links $(WHEELHOUSE) -e '.[server,dev]' \
	  'durable-rules==2.0.28+ruralpost.1' grpcio==$(GRPC) grpcio-tools==$(GRPC) \
	  grpcio-health-checking==$(GRPC) grpcio-reflection==$(GRPC) grpcio-status==$(GRPC)
	{ echo "# The dev tree \`make setup\` installs (pip -c). Refresh: make constraints [GRPC=x.y.z]"; \
	  .venv-lock/bin/python -m pip freeze --all --exclude-editable | grep -v '^pip=='; } > constraints.txt
	rm -rf .venv-lock

# Debian's Chromium renders the HTML report in its test (a no-op when already installed; needs
# root or sudo). Optional: without it that one test is skipped with the reason; CI installs it.
browser:
	sh scripts/ensure-chromium.sh

# The quick loop (about two minutes on a busy 2-core machine): linters, types, the import contracts (tests/test_imports.py) and
# every test not marked `slow` (wheel builds, Chromium, servers in subprocesses, PostgreSQL replicas).
check: setup lint typecheck
	$(BIN)/python -m pytest -q -m "not slow"

test: setup lint typecheck
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check ruralpost tests bench examples setup.py
	$(BIN)/ruff format --check ruralpost tests bench examples setup.py
	$(BIN)/python -m ruralpost.protogen --lint

typecheck: setup
	$(BIN)/mypy

bench: setup
	$(BIN)/python -m bench

# One 100,000-parcel claim, evaluate and commit, on SQLite and (when reachable) PostgreSQL.
bench-claims: setup
	$(BIN)/python -m bench.claim_100k

clean:
	rm -rf $(VENV) ruralpost/v1 var build $(WHEELHOUSE) .pytest_cache .mypy_cache
