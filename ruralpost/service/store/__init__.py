"""Storage: the station registry, the claim ledger and the decision log.

One interface (`Store`), one implementation over SQLAlchemy Core that serves both SQLite (the
embedded default) and PostgreSQL (for several replicas sharing one database). This package is the
only importer of the database driver.
"""

from ruralpost.service.store.ledger import ClaimRecord, Commit, Ledger, StoredClaim
from ruralpost.service.store.outage import StoreUnavailable
from ruralpost.service.store.sql import DecisionRow, RegisteredStation, Store, open_store

__all__ = [
    "ClaimRecord",
    "Commit",
    "DecisionRow",
    "Ledger",
    "RegisteredStation",
    "Store",
    "StoreUnavailable",
    "StoredClaim",
    "open_store",
]
