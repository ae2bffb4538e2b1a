"""Alembic's script directory: the schema's revisions, shipped in the package (store/migrate.py
runs them at start). A new revision: `alembic revision --rev-id 0002 -m "what changes"` in the
checkout (pyproject.toml's [tool.alembic] points here), then `--autogenerate` against a database
at the previous revision (`-x db=<a --db value>`) to compare with store/tables.py."""
