"""Storage: the station registry (with the county's sign-code decisions), the claim ledger, the
decision log and the reference data's versions.

One interface (`Store`), one implementation over SQLAlchemy Core that serves both SQLite (the
embedded default) and PostgreSQL (for several replicas sharing one database). This package is the
only importer of the database driver.
"""

from ruralpost.service.store.ledger import ClaimRecord, Commit, Ledger, StoredClaim
from ruralpost.service.store.outage import StoreUnavailable
from ruralpost.service.store.reference import ReferenceVersion, ReferenceVersions, VersionConflict
from ruralpost.service.store.sql import DecisionRow, RegisteredStation, SignCodeAward, Store, open_store

__all__ = [
    "ClaimRecord",
    "Commit",
    "DecisionRow",
    "Ledger",
    "ReferenceVersion",
    "ReferenceVersions",
    "RegisteredStation",
    "SignCodeAward",
    "Store",
    "StoreUnavailable",
    "StoredClaim",
    "VersionConflict",
    "open_store",
]
