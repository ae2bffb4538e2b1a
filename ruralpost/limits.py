"""Every fixed limit of ruralpost in one place: sizes, counts and times that are not settings.

Settings an operator may change (streams per caller, items per stream, upload size, rows per upload)
are in service/config.py; these are the bounds the code relies on. The client imports this module
too, so a message the server accepts is one the client can send and receive.
"""

from __future__ import annotations

# --- the wire: both doors and the client
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # one message: a claim of 200,000 parcels and its answer fit
# A 200,000-parcel claim as JSON is larger than as protobuf; the HTTP body limit leaves room for it.
MAX_BODY_BYTES = 128 * 1024 * 1024
