"""The peer answers the same question: per benchmark station, the rule ids Cerbos DENYs must equal
the violations our verdict gives (its reasons less the `*-MISSING` ones), or the figure means nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import yaml
from google.protobuf import json_format

from ruralpost.service.ruleset import RuleSet
from ruralpost.service.stations.check import SUBJECT, check_station
from ruralpost.service.stations.facts import station_fact
from ruralpost.v1 import station_pb2

from . import cerbos
from .policy import RESOURCE, ROLE, write_policy


class Disagreement(AssertionError):
    """Cerbos and our engine differ on some station; the message lists every difference."""


@dataclass
class Station:
    label: str
    fact: dict[str, Any]
    ours: frozenset[str]  # the rule ids our verdict reports as violations


def stations(ruleset: RuleSet, items: list[bytes]) -> list[Station]:
    """Each serialised CheckStationRequest as the fact the rules read and our verdict's violations.

    No registry: sign codes are held by no other station, as on the benchmark server (nothing registers).
    """
    programme = ruleset.book.programme
    missing_ids = {spec.missing_id for spec in ruleset.book.facts[SUBJECT].values()}
    out = []
    for i, item in enumerate(items):
        request = station_pb2.CheckStationRequest.FromString(item)
        as_of = dt.date.fromisoformat(request.as_of)
        verdict = check_station(ruleset, request.station, as_of)
        ours = frozenset(r.rule_id for r in verdict.reasons if r.rule_id not in missing_ids)
        label = f"{i}:{request.station.station_id}"
        out.append(Station(label, station_fact(request.station, as_of, programme), ours))
    return out


@dataclass
class Peer:
    """A running Cerbos over the generated policy, with its message types and the action list."""

    server: cerbos.Server
    messages: cerbos.Messages
    actions: list[str]
    policy: Path

    def payload(self, station: Station) -> bytes:
        """A CheckResources request for one station, all rule ids as actions; serialised once."""
        request = json_format.ParseDict(
            {
                "requestId": station.label,
                "principal": {"id": "bench", "roles": [ROLE]},
                "resources": [
                    {
                        "actions": self.actions,
                        "resource": {"kind": RESOURCE, "id": station.label, "attr": station.fact},
                    }
                ],
            },
            self.messages.request(),
        )
        return request.SerializeToString()

    def denied(self, payloads: list[bytes]) -> list[frozenset[str]]:
        answers = cerbos.check_resources(self.server.target, payloads, self.messages.response)
        out = []
        for answer in answers:
            (result,) = json_format.MessageToDict(answer)["results"]
            out.append(frozenset(a for a, effect in result["actions"].items() if effect != "EFFECT_ALLOW"))
        return out


@contextmanager
def peer(ruleset: RuleSet) -> Iterator[Peer]:
    """Install (or find) Cerbos, write the policy of the loaded rules, start it. Raises CerbosUnavailable."""
    binary = cerbos.install()
    rules = ruleset.book.rules_for(SUBJECT)
    with TemporaryDirectory(prefix="cerbos-policies-") as tmp:
        path = write_policy(Path(tmp), rules, set(ruleset.book.facts[SUBJECT]))
        with cerbos.serve(binary, Path(tmp)) as server:
            yield Peer(server, cerbos.messages(server.target), [r.id for r in rules], path)


def compare(found: list[Station], denied: list[frozenset[str]]) -> list[str]:
    """One line per station where the two disagree: which rules only one side fires."""
    lines = []
    for station, theirs in zip(found, denied, strict=True):
        if station.ours != theirs:
            only_ours, only_peer = sorted(station.ours - theirs), sorted(theirs - station.ours)
            lines.append(f"{station.label}: only ours {only_ours}, only Cerbos {only_peer}")
    return lines


def check(p: Peer, found: list[Station]) -> list[bytes]:
    """Cerbos's DENYs against our violations on every station; the payloads for the load if they agree."""
    payloads = [p.payload(s) for s in found]
    denied = p.denied(payloads)
    differences = compare(found, denied)
    if differences:
        rules = sorted({r for s, d in zip(found, denied, strict=True) for r in s.ours ^ d})
        document = yaml.safe_load(p.policy.read_text(encoding="utf-8"))["resourcePolicy"]["rules"]
        exprs = {r["actions"][0]: r["condition"]["match"]["expr"] for r in document}
        raise Disagreement(
            f"Cerbos and ruralpost disagree on {len(differences)} of {len(found)} stations:\n  "
            + "\n  ".join(differences)
            + "\nthe ALLOW conditions of those rules:\n  "
            + "\n  ".join(f"{r}: {exprs.get(r)}" for r in rules)
        )
    return payloads
