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

# --- The HTTP door's own server (uvicorn): what a client may hold before and while it is served
MAX_HEADER_BYTES = 16 * 1024  # the request line and headers together
MAX_CONNECTIONS = 256  # open connections (and calls in flight); beyond, 503 at once
KEEP_ALIVE_SECONDS = 5  # an idle keep-alive connection closes after this
HEAD_SECONDS = 10.0  # a client has this long to send its request line and headers
BODY_IDLE_SECONDS = 30.0  # and at most this long between two pieces of a body

# --- What one request may hold (INVALID_ARGUMENT beyond)
MAX_ID = 128
MAX_NAME = 256
MAX_CODE = 32
MAX_LIST = 32
MAX_AREA_M2 = 100_000.0  # larger is a unit mistake, not a station
MAX_RETENTION_DAYS = 3_650
MAX_DAILY_PARCELS = 100_000  # a county's whole downbound volume is a few thousand a day
MAX_PROGRESS_STATIONS = 20_000  # a county has dozens; more is a mistake, not a county

# --- What an answer names (the count says how many more)
# One error's bad fields: the first 100, within 4 KB (a gRPC client takes 8 KB of trailers by
# default; beyond, it sees the stream cut), the rest counted; its message names the first 10.
MAX_VIOLATIONS = 100
MAX_VIOLATION_BYTES = 4096
MAX_NAMED = 10
MAX_HOLDERS_SHOWN = 5  # other stations named in a duplicate sign code's reason (one is enough to fail)
MAX_REPORTED_PARCELS = 20  # field violations named per claim; the count says how many more
MAX_GAPS_SHOWN = 20

# --- The claim ledger
MAX_COMMIT_ATTEMPTS = 5  # each lost race re-evaluates against a ledger that has grown

# --- The rules engine (durable_rules): what it handles safely
MAX_RULES_PER_RULESET = 50  # more than 64 matches of one fact fail the assert (error 303)
MAX_SIDS = 1000  # the 1025th live sid breaks a ruleset for good
MAX_FACT_FIELDS = 250
MAX_STRING_BYTES = 60_000
MAX_ABS_NUMBER = 1e300
MAX_CONDITION_DEPTH = 32  # conditions nest a few levels; deeper is a mistake (or a YAML alias loop)
MAX_RULE_NUMBER = 2**63 - 1  # the C module reads integers as 64-bit; NaN would silently match nothing

# --- The decision log's writer
LOG_BATCH_SECONDS = 0.05
LOG_BATCH_ROWS = 2000
LOG_QUEUE_ROWS = 100_000
LOG_INSERT_ROWS = 100  # rows per INSERT statement: 900 parameters, within every driver's limit

# --- The client's reports and progress bar
MAX_CELL = 64
ROWS_PER_RULE = 12
BAD_ROWS_KEPT = 200
EVERY_SECONDS = 0.1
