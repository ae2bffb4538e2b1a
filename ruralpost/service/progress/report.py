"""Filing quotas and progress (GetProgress): Python counts, the rules decide.

Counting follows docs/progress.md (revision 2), as of the report date: a township station counts when it
is open (not closed or suspended), opened on or before the date, has no ERROR and is not INCOMPLETE
(服务标准化 is a verified state); a village point when it is open, was filed on or before the date,
lies in a known administrative village of its township, and is the first filed point of its village
(全覆盖: one point per village); no ERROR makes it compliant as well. Only the programme operator's
stations (branches included) in the programme's townships count. Every station left out gets a
QTA-EXCLUDED reason naming why: rule QTA-EXCLUDED decides which of a station's own reasons keep it
out (operator, county, township, kind, village, closed), and the counting causes Python finds (a
township station not verified standard, a second point in a village) are handed to it as facts. A
station not done yet as of the date (a township station opening later, a point not filed yet) is
not left out: it is pending, and the township's own progress reasons say what is still due. The
thresholds, deadlines and fractions are rules over the counts
(rules/progress.yaml, rules/hub.yaml) with their dates and fractions in the programme data; nothing
here knows a date of the programme.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ruralpost.limits import MAX_GAPS_SHOWN
from ruralpost.service import verdicts
from ruralpost.service.dates import day_number, parse_date
from ruralpost.service.engine import Firing
from ruralpost.service.rulebook.programme import Programme, Township
from ruralpost.service.ruleset import RuleSet
from ruralpost.service.stations.check import Award, CodeIndex, check_station, code_holders, registry_county
from ruralpost.service.stations.facts import sign_code_of
from ruralpost.service.store import RegisteredStation
from ruralpost.v1 import common_pb2, progress_pb2, station_pb2

TOWNSHIP = "township"
COUNTY = "county"
STATION_REASON = "station_reason"
HUB = "county_hub"
HUB_SUBJECT_ID = "county-hub"
_SIGN_CODE = re.compile(r"^(XZ|C)(\d{4})$")


@dataclass(frozen=True)
class Member:
    """A station of the report's set and where it came from, so an excluded one can be named."""

    station: station_pb2.Station
    source: str  # shown to people: 请求第3个站点 / 登记库
    source_en: str  # request station #3 / registry
    field_prefix: str  # request path of the station: stations[2], registry[operator/station_id]


def request_members(stations: Sequence[station_pb2.Station]) -> list[Member]:
    return [
        Member(s, f"请求第{i + 1}个站点", f"request station #{i + 1}", f"stations[{i}]") for i, s in enumerate(stations)
    ]


def registry_members(rows: Sequence[RegisteredStation]) -> list[Member]:
    """The registry's stations, each named by where it is registered."""
    return [
        Member(
            station_pb2.Station.FromString(row.station),
            "登记库",
            "registry",
            f"registry[{row.operator}/{row.station_id}]",
        )
        for row in rows
    ]


@dataclass
class Tally:
    """One township's counts, as docs/progress.md defines them."""

    township: Township
    registered: int = 0  # counted stations of any kind and state: the township has started
    stations_done: int = 0
    points_filed: int = 0
    points_compliant: int = 0


def _has_error(verdict: common_pb2.Verdict) -> bool:
    return any(r.severity == common_pb2.SEVERITY_ERROR for r in verdict.reasons)


def _on_or_before(date_text: str, as_of: dt.date) -> bool:
    return bool(date_text) and parse_date(date_text) <= as_of


def _incomplete(verdict: common_pb2.Verdict) -> bool:
    return verdict.outcome == common_pb2.OUTCOME_INCOMPLETE


@dataclass(frozen=True)
class Cause:
    """Why a station that passed the rules' exclusions still counts for nothing (a counting cause)."""

    name: str  # the fact handed to rule QTA-EXCLUDED: NOT_STANDARDISED, SAME_VILLAGE
    zh: str
    en: str


PENDING = "pending"  # not done yet as of the date (opens later, not filed yet): not counted, not excluded


def township_station_cause(
    station: station_pb2.Station, verdict: common_pb2.Verdict, as_of: dt.date, missing_ids: Collection[str]
) -> Cause | str | None:
    """None when the township station is done as of the date; PENDING when it opens later; else
    why it is left out: not a verified standard station (服务标准化), for an ERROR or a missing fact."""
    if station.opened_on and not _on_or_before(station.opened_on, as_of):
        return PENDING
    errors = [r for r in verdict.reasons if r.severity == common_pb2.SEVERITY_ERROR]
    if errors:
        return Cause(
            "NOT_STANDARDISED",
            "乡镇快递综合服务站核查未通过：" + "；".join(r.message for r in errors),
            "the township station fails its check: " + "; ".join(r.message_en for r in errors),
        )
    if _incomplete(verdict):
        missing = [r for r in verdict.reasons if r.rule_id in missing_ids]
        return Cause(
            "NOT_STANDARDISED",
            "核查信息不全，不能认定为服务标准化：" + "；".join(r.message for r in missing),
            "its check is incomplete, so it is not a verified standard station: "
            + "; ".join(r.message_en for r in missing),
        )
    return None


def filed_by(station: station_pb2.Station, as_of: dt.date) -> bool:
    """A village point filed on or before the date (not filed yet: pending, neither counted nor excluded)."""
    filing = station.filing
    return filing.HasField("filed") and filing.filed and _on_or_before(filing.filed_on, as_of)


def same_village(first: Member, village: str) -> Cause:
    return Cause(
        "SAME_VILLAGE",
        f"{village}已有先备案的村级快递便民服务点{first.station.station_id}（{first.source}），同一行政村只计一个",
        f"{village} already has the earlier filed village point {first.station.station_id} ({first.source_en}); "
        "one point per village counts",
    )


def count_township_station(tally: Tally) -> None:
    tally.stations_done += 1


def count_village_point(tally: Tally, verdict: common_pb2.Verdict) -> None:
    tally.points_filed += 1
    if not _has_error(verdict):
        tally.points_compliant += 1


def code_gaps(codes: Sequence[str]) -> list[str]:
    """Numbers skipped below the highest sign code used, per prefix (XZ0001…, C0001…: 以此类推)."""
    used: dict[str, set[int]] = defaultdict(set)
    for code in codes:
        match = _SIGN_CODE.match(code)
        if match and int(match.group(2)) > 0:
            used[match.group(1)].add(int(match.group(2)))
    gaps = []
    for prefix in ("XZ", "C"):
        numbers = used.get(prefix)
        if numbers:
            gaps += [f"{prefix}{n:04d}" for n in range(1, max(numbers)) if n not in numbers]
    return gaps


def _show_gaps(gaps: list[str]) -> str:
    """Runs of missing codes as ranges (C0005–C0007), the first few only."""
    runs: list[list[str]] = []
    for code in gaps:
        last = runs[-1][-1] if runs else ""
        if last and last.rstrip("0123456789") == code.rstrip("0123456789") and int(last[-4:]) + 1 == int(code[-4:]):
            runs[-1].append(code)
        else:
            runs.append([code])
    shown = [r[0] if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs[:MAX_GAPS_SHOWN]]
    return "、".join(shown) + ("等" if len(runs) > MAX_GAPS_SHOWN else "")


class _Exclusions:
    """Which reasons of a station keep it out of the count: rule QTA-EXCLUDED decides per reason,
    and for the counting causes Python finds (fact `count_cause`)."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self._decided: dict[tuple[str, str], Firing] = {}

    def _firing(self, key: str, value: str) -> Firing:
        if (key, value) not in self._decided:
            self._decided[key, value] = self.ruleset.engine.evaluate(STATION_REASON, {key: value})
        return self._decided[key, value]

    @staticmethod
    def _values(member: Member, field: str, why: str, why_en: str, remedy: str) -> dict[str, str]:
        return {
            "station_id": member.station.station_id or "（无编号）",
            "station_source": member.source,
            "station_source_en": member.source_en,
            "station_field": member.field_prefix + field.removeprefix("station"),
            "why": why,
            "why_en": why_en,
            "remedy": remedy,
        }

    def reason(self, member: Member, verdict: common_pb2.Verdict) -> common_pb2.Reason | None:
        """The QTA-EXCLUDED reason naming the station and why, or None when no reason of its own keeps it out."""
        hits = [(v, r) for r in verdict.reasons for v in self._firing("station_rule", r.rule_id).violations]
        if not hits:
            return None
        violation, first = hits[0]
        why = [r for _, r in hits]
        values = self._values(
            member,
            first.field,
            "；".join(r.message for r in why),
            "; ".join(r.message_en for r in why),
            "；".join(r.remedy for r in why),
        )
        return verdicts.reason(violation.rule, violation.severity, values)

    def cause(self, member: Member, cause: Cause, field: str, remedy: str) -> common_pb2.Reason:
        """The QTA-EXCLUDED reason for a counting cause."""
        firing = self._firing("count_cause", cause.name)
        if not firing.violations:
            raise ValueError(f"rule QTA-EXCLUDED does not decide counting cause {cause.name}")
        violation = firing.violations[0]
        return verdicts.reason(
            violation.rule, violation.severity, self._values(member, field, cause.zh, cause.en, remedy)
        )


def _text(value: Any) -> str:
    """A fact value shown in a message: true/false, never Python's True/False."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _shown(fact: Mapping[str, Any], as_of: dt.date) -> dict[str, str]:
    return {**{k: _text(v) for k, v in fact.items()}, "as_of": as_of.isoformat()}


def township_progress(ruleset: RuleSet, tally: Tally, as_of: dt.date) -> progress_pb2.TownshipProgress:
    t = tally.township
    fact = {
        "township": t.name,
        "township_code": t.code,
        "as_of_day": day_number(as_of),
        "stations_done": tally.stations_done,
        "stations_target": t.township_stations,
        "points_filed": tally.points_filed,
        "points_target": t.village_points,
        "points_compliant": tally.points_compliant,
        "stations_registered": tally.registered,
    }
    firing = ruleset.engine.evaluate(TOWNSHIP, fact)
    reasons = verdicts.reasons_for(
        firing, lambda: {**_shown(fact, as_of), "points_missing": str(max(0, t.village_points - tally.points_filed))}
    )
    return progress_pb2.TownshipProgress(
        township=t.name,
        township_stations_done=tally.stations_done,
        township_stations_target=t.township_stations,
        village_points_filed=tally.points_filed,
        village_points_target=t.village_points,
        village_points_compliant=tally.points_compliant,
        outcome=verdicts.outcome(reasons, firing.incomplete),
        reasons=reasons,
    )


def _required(goal: int, fraction: float) -> int:
    # display only: the rule compares done >= goal * fraction itself
    return math.ceil(goal * fraction - 1e-9)


def county_reasons(
    ruleset: RuleSet, tallies: list[Tally], gaps: list[str], as_of: dt.date
) -> tuple[list[common_pb2.Reason], dict[str, Any]]:
    """The county-level reasons (pace, start, the 52/48 note, code gaps) and the county fact."""
    programme = ruleset.book.programme
    goals = programme.model.goals
    not_started = [t.township.name for t in tallies if t.registered == 0]
    fraction = programme.required_fraction(as_of)
    fact: dict[str, Any] = {
        "as_of_day": day_number(as_of),
        # 要求每乡镇完成1个: a township's second station does not make up for another's missing one
        "stations_done": sum(min(t.stations_done, t.township.township_stations) for t in tallies),
        "stations_goal": goals.township_stations,
        "points_filed": sum(t.points_filed for t in tallies),  # 每个乡镇至少4个: extra points count
        "points_goal": goals.village_points,
        "table_points_total": sum(t.village_points for t in programme.townships),
        "required_fraction": fraction,
        "townships_not_started": len(not_started),
        "code_gaps": len(gaps),
    }
    firing = ruleset.engine.evaluate(COUNTY, fact)

    def values() -> dict[str, str]:
        stations_required = _required(fact["stations_goal"], fraction)
        points_required = _required(fact["points_goal"], fraction)
        return {
            **_shown(fact, as_of),
            "required_percent": f"{fraction:.0%}",
            "stations_required": str(stations_required),
            "points_required": str(points_required),
            "stations_short": str(max(0, stations_required - fact["stations_done"])),
            "points_short": str(max(0, points_required - fact["points_filed"])),
            "not_started_names": "、".join(not_started) or "（无）",
            "code_gap_list": _show_gaps(gaps) or "（无）",
        }

    return verdicts.reasons_for(firing, values), fact


def hub_fact(hub: progress_pb2.CountyHub | None, as_of: dt.date, ruleset: RuleSet) -> dict[str, Any]:
    """The hub as the rules see it; without a hub only the date: every hub rule then lacks `hub`."""
    fact: dict[str, Any] = {"as_of_day": day_number(as_of)}
    if hub is None:
        return fact
    fact["hub"] = True
    fact["brand_count"] = len(_brands(hub, ruleset))
    for name in ("unified_warehousing", "sorting", "delivery"):
        if hub.HasField(name):
            fact[name] = getattr(hub, name)
    if hub.established_on:
        fact["established_day"] = day_number(parse_date(hub.established_on))
    return fact


def _brands(hub: progress_pb2.CountyHub, ruleset: RuleSet) -> list[tuple[str, bool]]:
    """Distinct brands in the order given, each with whether the brand table knows it: a company
    of a national brand is that brand (中通快递股份有限公司 = 中通 = ZTO); one in no brand counts as itself."""
    seen: dict[tuple[str, str], tuple[str, bool]] = {}
    for written in hub.brands:
        if not written.strip():
            continue
        brand = ruleset.brand_of(written)
        key = ("brand", brand) if brand is not None else ("company", ruleset.book.programme.brand_key(written))
        seen.setdefault(key, (brand, True) if brand is not None else (written.strip(), False))
    return list(seen.values())


def _brand_list(brands: list[tuple[str, bool]], unknown: str, separator: str) -> str:
    return separator.join(name if known else f"{name}{unknown}" for name, known in brands)


def hub_verdict(ruleset: RuleSet, hub: progress_pb2.CountyHub | None, as_of: dt.date) -> common_pb2.Verdict:
    programme = ruleset.book.programme
    fact = hub_fact(hub, as_of, ruleset)
    firing = ruleset.engine.evaluate(HUB, fact)
    min_brands = programme.model.hub.min_brands

    def values() -> dict[str, str]:
        if hub is None:  # only the HUB-MISSING reason, which names no value
            return _shown(fact, as_of)
        said = {name: fact.get(name) for name in ("unified_warehousing", "sorting", "delivery")}  # None: not given
        return {
            **_shown(fact, as_of),
            "brands": _brand_list(_brands(hub, ruleset), "（品牌表未列，按一个品牌计）", "、") or "（无）",
            "brands_en": _brand_list(_brands(hub, ruleset), " (in no brand of the table: counted as one)", ", ")
            or "(none)",
            "brands_short": str(max(0, min_brands - fact["brand_count"])),
            "established_on": hub.established_on or "（未填）",
            **{f"{k}_zh": "（未填）" if v is None else "是" if v else "否" for k, v in said.items()},
            **{f"{k}_en": "not given" if v is None else "yes" if v else "no" for k, v in said.items()},
        }

    subject = (hub.name.strip() if hub is not None else "") or HUB_SUBJECT_ID
    return verdicts.verdict(subject, firing, values, ruleset.version, as_of.isoformat())


_REMEDY = {
    "NOT_STANDARDISED": "按核查意见整改并补齐信息，通过核查（无错误、信息齐全）后计入",
    "SAME_VILLAGE": "无需处理：同村另设的点不计入任务数；任务未完成的，可在尚无服务点的行政村设点",
}
_CAUSE_FIELD = {"NOT_STANDARDISED": "station", "SAME_VILLAGE": "station.village"}


def progress_report(
    ruleset: RuleSet,
    members: Sequence[Member],
    as_of: dt.date,
    hub: progress_pb2.CountyHub | None,
    award: Award | None = None,
) -> progress_pb2.ProgressReport:
    """The progress report of the programme as of a date, from the given set of stations; `award`
    the county's decisions on disputed sign codes (none: every dispute is still open)."""
    programme: Programme = ruleset.book.programme
    index = CodeIndex(ruleset, (m.station for m in members))
    tallies = {t.name: Tally(t) for t in programme.townships}
    exclusions = _Exclusions(ruleset)
    excluded: list[tuple[int, common_pb2.Reason]] = []  # (member position, reason): in the set's order
    county_codes: list[str] = []
    points: list[tuple[int, Member, common_pb2.Verdict, Tally]] = []  # filed village points, to count per village
    for i, m in enumerate(members):
        s = m.station
        verdict = check_station(ruleset, s, as_of, code_holders(ruleset, s, None, index, award))
        code = sign_code_of(s)
        if code and registry_county(s, ruleset) == programme.county_code:
            county_codes.append(code)  # 一县一编号: every station of the county numbers in one series
        reason = exclusions.reason(m, verdict)
        if reason is not None:
            excluded.append((i, reason))
            continue
        township = programme.township(s.township)
        if township is None:  # an unknown township excludes the station through its reasons
            continue
        tally = tallies[township.name]
        tally.registered += 1
        if s.kind == station_pb2.STATION_KIND_TOWNSHIP_STATION:
            cause = township_station_cause(s, verdict, as_of, ruleset.book.missing_ids)
            if cause is None:
                count_township_station(tally)
            elif isinstance(cause, Cause):
                excluded.append((i, exclusions.cause(m, cause, _CAUSE_FIELD[cause.name], _REMEDY[cause.name])))
        elif filed_by(s, as_of):  # a village point (one of no kind was excluded by its STN-KIND-MISSING)
            points.append((i, m, verdict, tally))
    # 全覆盖 counts villages: of the filed points of one village, the first filed counts (ties: set order)
    first_of: dict[str, Member] = {}
    for i, m, verdict, tally in sorted(points, key=lambda p: (p[1].station.filing.filed_on, p[0])):
        township = tally.township
        village_code, village_name = programme.village_code(township.code, m.station.village)
        first = first_of.setdefault(village_code, m)
        if first is m:
            count_village_point(tally, verdict)
        else:
            cause = same_village(first, village_name)
            excluded.append((i, exclusions.cause(m, cause, _CAUSE_FIELD[cause.name], _REMEDY[cause.name])))
    excluded.sort(key=lambda e: e[0])
    ordered = [tallies[t.name] for t in programme.townships]
    county_level, fact = county_reasons(ruleset, ordered, code_gaps(county_codes), as_of)
    reasons = verdicts.sort_reasons(county_level + [r for _, r in excluded], ruleset.book.rules)
    return progress_pb2.ProgressReport(
        programme=programme.id,
        as_of=as_of.isoformat(),
        townships=[township_progress(ruleset, t, as_of) for t in ordered],
        township_stations_done=fact["stations_done"],
        township_stations_goal=fact["stations_goal"],
        village_points_filed=fact["points_filed"],
        village_points_goal=fact["points_goal"],
        required_fraction=fact["required_fraction"],
        verdict=common_pb2.Verdict(
            subject_id=programme.id,
            outcome=verdicts.outcome(reasons, False),
            reasons=reasons,
            ruleset_version=ruleset.version,
            evaluated_as_of=as_of.isoformat(),
        ),
        hub=hub_verdict(ruleset, hub, as_of),
    )
