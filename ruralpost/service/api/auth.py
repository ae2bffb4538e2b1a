"""Who may call what: callers from an auth file, bearer tokens, roles and operator scoping.

The auth file is a YAML list of `{name, token_sha256, role, operator?}`; only token hashes are
stored. Roles: `operator` (checks, and claims with commit = false, for its own operator only),
`approver` (claims with commit = true, GetProgress), `reader` (GetProgress, ListRules), `admin`
(everything, reload, reference-data changes and the county's sign-code decisions included). Every
role reads the reference data. An `operator` caller sees its own operator's stations, claims and
paid waybills only (`scope`): answers never name another operator's station ids, claim ids or
waybills to it.
Health and reflection stay open, for load balancers and grpcurl.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from ruralpost.service.api.throttle import Throttle
from ruralpost.service.errors import PermissionDenied, ResourceExhausted, Unauthenticated

PKG = "/ruralpost.v1."
CHECK_STATION = PKG + "StationService/CheckStation"
CHECK_STATIONS = PKG + "StationService/CheckStations"
RESOLVE_SIGN_CODE = PKG + "StationService/ResolveSignCode"
EVALUATE_CLAIM = PKG + "SubsidyService/EvaluateClaim"
EVALUATE_CLAIMS = PKG + "SubsidyService/EvaluateClaims"
GET_PROGRESS = PKG + "QuotaService/GetProgress"
LIST_RULES = PKG + "RulesService/ListRules"
RELOAD_RULES = PKG + "RulesService/ReloadRules"
GET_REFERENCE = PKG + "ReferenceDataService/GetReferenceData"
LIST_REFERENCE = PKG + "ReferenceDataService/ListReferenceVersions"
REPLACE_REFERENCE = PKG + "ReferenceDataService/ReplaceReferenceTable"
IMPORT_REFERENCE = PKG + "ReferenceDataService/ImportReferenceData"
OPEN_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")
READ_REFERENCE = frozenset({GET_REFERENCE, LIST_REFERENCE})  # every role reads the reference data

ROLES: dict[str, frozenset[str]] = {
    "operator": frozenset({CHECK_STATION, CHECK_STATIONS, EVALUATE_CLAIM, EVALUATE_CLAIMS}) | READ_REFERENCE,
    "approver": frozenset({EVALUATE_CLAIM, EVALUATE_CLAIMS, GET_PROGRESS}) | READ_REFERENCE,
    "reader": frozenset({GET_PROGRESS, LIST_RULES}) | READ_REFERENCE,
    "admin": frozenset(
        {CHECK_STATION, CHECK_STATIONS, EVALUATE_CLAIM, EVALUATE_CLAIMS, GET_PROGRESS, LIST_RULES, RELOAD_RULES}
    )
    | READ_REFERENCE
    | {REPLACE_REFERENCE, IMPORT_REFERENCE, RESOLVE_SIGN_CODE},
}


@dataclass(frozen=True)
class Caller:
    name: str
    role: str
    operator: str = ""

    def may_call(self, method: str) -> bool:
        return method.startswith(OPEN_PREFIXES) or method in ROLES[self.role]


class UnknownToken(Unauthenticated):
    """A token the auth file does not know: a failure the throttle counts."""

    def __init__(self) -> None:
        super().__init__("unknown token")


class AuthFileError(ValueError):
    """The auth file cannot be used; the message says which entry."""


def load_callers(path: Path) -> dict[str, Caller]:
    """token sha256 (hex) -> caller."""
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise AuthFileError(f"{path}: {e}") from None
    if not isinstance(entries, list) or not entries:
        raise AuthFileError(f"{path}: a non-empty list of callers is expected")
    callers: dict[str, Caller] = {}
    names: dict[str, int] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise AuthFileError(f"{path}: entry {i} is not a mapping")
        name, digest, role = entry.get("name"), str(entry.get("token_sha256", "")).lower(), entry.get("role")
        if not name or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise AuthFileError(f"{path}: entry {i} needs a name and a 64-hex-digit token_sha256")
        if role not in ROLES:
            raise AuthFileError(f"{path}: entry {i} ({name}): role must be one of {sorted(ROLES)}")
        if role == "operator" and not entry.get("operator"):
            raise AuthFileError(f"{path}: entry {i} ({name}): an operator caller names its operator")
        if digest in callers:
            raise AuthFileError(f"{path}: entry {i} ({name}): the same token as {callers[digest].name}")
        if str(name) in names:
            raise AuthFileError(
                f"{path}: 第 {i} 项与第 {names[str(name)]} 项同名（{name}），调用方的名称必须唯一 "
                f"(entry {i} has the name of entry {names[str(name)]}, {name!r}: caller names must be unique)"
            )
        names[str(name)] = i
        callers[digest] = Caller(str(name), str(role), str(entry.get("operator") or ""))
    return callers


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Authenticator:
    """Maps `authorization: Bearer <token>` metadata (or a console login's token) to a caller,
    with wrong tokens throttled per client address (throttle.py)."""

    def __init__(self, callers: dict[str, Caller], throttle: Throttle | None = None) -> None:
        self._callers = callers
        self.throttle = throttle or Throttle()

    def caller(self, metadata: Iterable[tuple[str, str | bytes]], peer: str = "") -> Caller:
        for key, value in metadata:
            if key.lower() == "authorization" and isinstance(value, str):
                scheme, _, token = value.strip().partition(" ")
                if scheme.lower() == "bearer":  # the scheme is case-insensitive (RFC 9110)
                    return self.by_token(token.strip(), peer)
        raise Unauthenticated("missing authorization: Bearer <token> metadata")

    def by_token(self, token: str, peer: str = "", door: str = "bearer token") -> Caller:
        """The caller holding `token`; UnknownToken when the auth file does not know it (counted
        against the peer's address), ResourceExhausted while that address is throttled. Without a
        peer (gRPC's interceptor learns it later) the door calls `settle` once it knows it."""
        if peer:
            self.throttle.allow(peer, door)
        caller = self.by_digest(token_sha256(token))
        if caller is None:
            if peer:
                self.throttle.failed(peer, door)
            raise UnknownToken()
        return caller

    def settle(self, peer: str, error: BaseException | None, door: str = "bearer token") -> BaseException | None:
        """The outcome of a token checked before the peer was known: refused while the peer's
        address is throttled (whatever the token), a wrong token counted against it."""
        try:
            self.throttle.allow(peer, door)
        except ResourceExhausted as e:
            return e
        if isinstance(error, UnknownToken):
            self.throttle.failed(peer, door)
        return error

    def by_digest(self, digest: str) -> Caller | None:
        found = None
        for known, caller in self._callers.items():
            if hmac.compare_digest(known, digest):
                found = caller
        return found

    def by_name(self, name: str) -> Caller | None:
        """The caller of this name (a console session names its caller; names are unique)."""
        return next((c for c in self._callers.values() if c.name == name), None)


def require_operator(caller: Caller | None, operator: str, what: str) -> None:
    """An `operator` caller acts for its own operator only (None: no auth file, no scoping)."""
    if caller is not None and caller.role == "operator" and operator.strip() != caller.operator:
        raise PermissionDenied(f"{caller.name} acts for {caller.operator}, not for this {what}'s operator")


def scope(caller: Caller | None) -> str | None:
    """The operator whose own view a caller gets (an `operator` caller's), None for a caller who sees
    every operator's (admins, approvers, readers, and every caller without an auth file)."""
    return caller.operator if caller is not None and caller.role == "operator" else None


def require_commit_right(caller: Caller | None) -> None:
    """Only approvers and admins record payments."""
    if caller is not None and caller.role not in ("approver", "admin"):
        raise PermissionDenied(f"{caller.name} ({caller.role}) may not commit claims; a dry run is allowed")
