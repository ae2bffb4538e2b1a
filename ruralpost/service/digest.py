"""The content digest of a request or claim: what the decision log and the ledger compare."""

from __future__ import annotations

import hashlib

from google.protobuf.message import Message


def digest(message: Message) -> str:
    """sha256 (hex) of the message's deterministic serialization."""
    return hashlib.sha256(message.SerializeToString(deterministic=True)).hexdigest()
