"""The schema of rule packs and programme data, and how a mistake in them is told.

The pydantic models below are the one description of what a file in `rules/` may hold: the loader
validates with them, and `python -m ruralpost.service.rulebook.schema` writes the JSON Schema they
give to `rules/schema/` (committed, so that an editor checks a pack while it is typed). Every
mistake becomes a RulebookError whose lines read `<file>: <path of the value>: <problem>`, because
the county's rule editors fix files, not tracebacks.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import string
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from ruralpost.limits import MAX_CONDITION_DEPTH, MAX_RULE_NUMBER
from ruralpost.service.config import DEFAULT_RULES_DIR


class RulebookError(ValueError):
    """A rule pack or the programme data is not valid; each line says file, path of the value, problem."""


RULE_ID = r"^[A-Z]+(-[A-Z0-9]+)+$"
MISSING_ID = r"^[A-Z]+(-[A-Z0-9]+)*-MISSING$"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# ---------------------------------------------------------------- value types


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty (不能为空)")
    return value


def _template(value: str) -> str:
    """Texts are str.format templates over the fact's values: a stray brace breaks every verdict."""
    try:
        list(string.Formatter().parse(value))
    except ValueError as e:
        raise ValueError(f"bad template {value!r}: {e}") from None
    return value


def _rule_id(value: str) -> str:
    if not re.fullmatch(RULE_ID, value):
        raise ValueError(f"id {value!r} is not of the form ABC-DEF (capitals, digits and hyphens)")
    return value


def _missing_id(value: str) -> str:
    if not re.fullmatch(MISSING_ID, value):
        raise ValueError(f"missing_id {value!r} must be of the form ABC-DEF-MISSING (end in -MISSING)")
    return value


def _day(value: object) -> object:
    """A date, quoted or not (rule periods and operator dates are only ever shown and parsed)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not YYYY-MM-DD (a date such as 2023-06-30)")


def _unquoted_day(value: object) -> object:
    """Programme dates reach the rules as `${…}` parameters the engine compares as day numbers; a
    quoted date would reach it as text and compare wrongly, so it is refused here."""
    if isinstance(value, str):
        raise ValueError(f"{value!r} is quoted: write the date unquoted, YYYY-MM-DD (日期不加引号)")
    return _day(value)


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as e:
        raise ValueError(f"{value!r} is not a valid regular expression: {e}") from None
    return value


def _yyyymm(value: int) -> int:
    if not (190001 <= value <= 299912 and 1 <= value % 100 <= 12):
        raise ValueError(f"{value} is not a month written YYYYMM (e.g. 202307)")
    return value


def _relative_csv(value: str) -> str:
    if Path(value).is_absolute() or not value.endswith(".csv"):
        raise ValueError(f"{value!r} must be a .csv file named relative to the programme file")
    return value


def _relative_yaml(value: str) -> str:
    if Path(value).is_absolute() or not value.endswith(".yaml"):
        raise ValueError(f"{value!r} must be a .yaml file named relative to the programme file")
    return value


RelativeYaml = Annotated[str, Field(min_length=1), AfterValidator(_relative_yaml)]


def _digits(value: object) -> object:
    """A spelling written as a bare number (`832`) is meant as its digits."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _as_list(value: object) -> object:
    """`when:`/`require:` take one condition or a list of them (all must hold)."""
    return [value] if isinstance(value, dict) else value


_SCALARS = (str, int, float, bool, type(None))


def _check_condition(value: Any, where: str, depth: int) -> None:
    """Only JSON values with string keys, in the shapes the engine adapter reads (`negate`)."""
    if depth > MAX_CONDITION_DEPTH:
        raise ValueError(f"{where}: nested too deeply")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: key {key!r} is not text")
            inner = f"{where}.{key}" if where else key
            if key in ("$and", "$or") and not (
                isinstance(item, list) and item and all(isinstance(c, dict) and c for c in item)
            ):
                raise ValueError(f"{inner}: takes a list of conditions (mappings)")
            if key == "$neq" and not isinstance(item, dict):
                raise ValueError(f"{inner}: takes a mapping {{fact: value}}")
            if key in ("$iany", "$iall") and not (
                isinstance(item, dict) and all(isinstance(c, dict) and c for c in item.values())
            ):
                raise ValueError(f"{inner}: takes a mapping {{list_fact: condition on $i}}")
            _check_condition(item, inner, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_condition(item, f"{where}[{i}]", depth + 1)
    elif isinstance(value, dt.datetime) or not isinstance(value, (*_SCALARS, dt.date)):
        raise ValueError(f"{where}: a {type(value).__name__} cannot be part of a condition")
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and not abs(value) <= MAX_RULE_NUMBER:
        raise ValueError(
            f"{where}: {value!r} is not a number the engine compares (finite, at most {MAX_RULE_NUMBER:.0e})"
        )


def _condition(value: dict[str, Any]) -> dict[str, Any]:
    if not value:
        raise ValueError("a condition must be a non-empty mapping")
    _check_condition(value, "", 0)
    return value


Text = Annotated[str, Field(min_length=1), AfterValidator(_non_blank)]
Template = Annotated[str, Field(min_length=1), AfterValidator(_non_blank), AfterValidator(_template)]
OptionalTemplate = Annotated[str, AfterValidator(_template)]
RuleId = Annotated[str, AfterValidator(_rule_id), WithJsonSchema({"type": "string", "pattern": RULE_ID})]
MissingId = Annotated[str, AfterValidator(_missing_id), WithJsonSchema({"type": "string", "pattern": MISSING_ID})]
SeverityName = Literal["INFO", "WARNING", "ERROR"]  # as written; packs.Severity once loaded
# Where a rule comes from (docs/rules.md, revision 2): the programme text says it (programme), a national text
# the programme points to (national), our reading of a programme clause (inferred), or a number,
# format or list the programme does not give, chosen here and to be confirmed by the county (setting).
Basis = Literal["programme", "national", "inferred", "setting"]
Day = Annotated[dt.date, BeforeValidator(_day)]
UnquotedDay = Annotated[
    dt.date,
    BeforeValidator(_unquoted_day),
    WithJsonSchema({"type": "string", "format": "date", "description": "YYYY-MM-DD, unquoted"}),
]
Regex = Annotated[str, AfterValidator(_regex), WithJsonSchema({"type": "string", "format": "regex"})]
Spelling = Annotated[
    Text,
    BeforeValidator(_digits),
    WithJsonSchema({"type": ["string", "integer"], "description": "a name as people write it"}),
]
Count = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(ge=1)]
Fen = Annotated[int, Field(ge=0, description="money: a non-negative integer of fen (分)")]
Month = Annotated[int, AfterValidator(_yyyymm), Field(description="YYYYMM")]
DivisionCode = Annotated[str, Field(pattern=r"^\d{6,12}$", description="a division code, quoted")]
Subject = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", description="station, claim, township, …")]
StationKind = Literal["TOWNSHIP_STATION", "VILLAGE_POINT"]
ClaimKind = Literal["UPBOUND_AGRICULTURAL", "DOWNBOUND_PARCEL"]

_CONDITION_SCHEMA = {
    "type": "object",
    "minProperties": 1,
    "description": "a durable_rules condition, e.g. {$gte: {area_m2: 10}}",
}
Condition = Annotated[dict[str, Any], AfterValidator(_condition), WithJsonSchema(_CONDITION_SCHEMA)]
Conditions = Annotated[
    list[Condition],
    BeforeValidator(_as_list),
    WithJsonSchema(
        {
            "anyOf": [_CONDITION_SCHEMA, {"type": "array", "items": _CONDITION_SCHEMA}],
            "description": "one condition, or a list of conditions that must all hold",
        }
    ),
]
Requirement = Annotated[Conditions, Field(min_length=1)]


class _Strict(BaseModel):
    """Unknown keys are errors (a misspelt key would otherwise be silently ignored), values keep
    the type YAML gave them (a quoted "50" is not a number of fen), and a loaded model is read only."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# ---------------------------------------------------------------- rule packs


class Bilingual(_Strict):
    zh: Template
    en: Template


class FactModel(_Strict):
    """A fact a request may leave out: an applicable rule that reads it makes the verdict INCOMPLETE,
    unless only WARNING rules read it (advice never blocks) and the progress count does not."""

    missing_id: MissingId
    field: Text
    label: Bilingual
    counted: bool = Field(
        False,
        description="the progress count reads it: missing, it keeps the verdict INCOMPLETE even when only "
        "a WARNING rule reads it (the operator)",
    )


class Citation(_Strict):
    document: Text = Field(description="a key of the programme's `documents`")
    clause: Text

    @field_validator("document")
    @classmethod
    def _known_document(cls, value: str, info: ValidationInfo) -> str:
        documents = (info.context or {}).get("documents")
        if documents is not None and value not in documents:
            raise ValueError(f"{value!r} is not in the programme's documents {sorted(documents)}")
        return value


class SeverityOverride(_Strict):
    when: Requirement
    severity: SeverityName


class RuleModel(_Strict):
    """One rule: it fires when it applies (`when`) and its requirement (`require`) does not hold."""

    id: RuleId
    subject: Subject | None = Field(None, description="defaults to the pack's subject")
    severity: SeverityName
    basis: Basis = Field(
        description="programme (the programme document says it), national (备案规定, 安全规范), "
        "inferred (our reading of a programme clause: the description says which and why), "
        "setting (chosen here, to be confirmed: every reason says so)"
    )
    description: Template
    when: Conditions = Field(default_factory=list)
    require: Requirement | None = Field(None, description="left out: the rule fires whenever it applies")
    reads: list[Text] = Field(
        default_factory=list, description="missable facts the requirement depends on beyond those it names"
    )
    severity_overrides: list[SeverityOverride] = Field(default_factory=list)
    field: Template
    expected: OptionalTemplate = ""
    actual: OptionalTemplate = ""
    message: Bilingual
    remedy: Template
    citation: Citation
    effective_from: Day | None = None
    effective_to: Day | None = None

    @model_validator(mode="after")
    def _period(self) -> RuleModel:
        if self.effective_from and self.effective_to and self.effective_from > self.effective_to:
            raise ValueError(f"effective_from {self.effective_from} is after effective_to {self.effective_to}")
        return self


class PackModel(_Strict):
    """A rule pack: a YAML file at the top of `rules/` (`${…}` are programme parameters)."""

    model_config = ConfigDict(title="ruralpost rule pack")

    pack: Text
    subject: Subject
    facts: dict[Text, FactModel] = Field(default_factory=dict)
    rules: list[RuleModel]


# ---------------------------------------------------------------- programme data


def _sign_template(value: str) -> str:
    """Filled with only township and village (stations/facts.py): any other name fails there."""
    fields = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    unknown = fields - {"township", "village"}
    if unknown:
        raise ValueError(f"{value!r} may name only {{township}} and {{village}}, not {sorted(unknown)}")
    return value


SignTemplate = Annotated[Template, AfterValidator(_sign_template)]


class County(_Strict):
    name: Text
    code: DivisionCode


class TownshipModel(_Strict):
    name: Text
    code: DivisionCode
    township_stations: Count
    village_points: Count
    aliases: list[Spelling] = Field(default_factory=list)


class SignText(_Strict):
    TOWNSHIP_STATION: SignTemplate
    VILLAGE_POINT: SignTemplate

    def of(self, kind: str) -> str:
        """The template of a station kind (its proto enum name)."""
        return {"TOWNSHIP_STATION": self.TOWNSHIP_STATION, "VILLAGE_POINT": self.VILLAGE_POINT}[kind]


class Goals(_Strict):
    county_hub: Count | None = None
    township_stations: Count
    village_points: Count


class MilestoneModel(_Strict):
    date: UnquotedDay
    fraction: Annotated[float, Field(ge=0, le=1)] = 0.0
    village_points_per_township: Count | None = None


class Hub(_Strict):
    min_brands: Positive
    deadline: UnquotedDay


def _one_character(value: dict[str, str]) -> dict[str, str]:
    for written, official in value.items():
        if len(written) != 1 or len(official) != 1:
            raise ValueError(f"{written!r}: {official!r} must map one character to one character")
    return value


class Zones(_Strict):
    """附件3 四(2) 一定的区域划分 gives no number: 1 is "some division"; more is this programme's setting."""

    min_count: Positive


class AreaVolume(_Strict):
    """附件3 四(1) 面积应与其所承载的业务量相匹配 gives no figure: the reference is programme data."""

    m2_per_daily_parcel: Annotated[float, Field(gt=0, le=100)]
    label: Text
    label_en: Text


def yuan(fen: int) -> str:
    """Fen as yuan for people: 50 -> 0.50."""
    return f"{fen // 100}.{fen % 100:02d}"


class Downbound(_Strict):
    max_recipient_fee_fen: Fen


class Waybill(_Strict):
    min_length: Positive
    max_length: Positive

    @model_validator(mode="after")
    def _ordered(self) -> Waybill:
        if self.min_length > self.max_length:
            raise ValueError(f"min_length {self.min_length} is more than max_length {self.max_length}")
        return self


class SubsidyModel(_Strict):
    """方案 五: the claim period, limits and who keeps each roster. The roster, products, platforms
    and rates are reference data the offices keep (rules/reference/<programme>/)."""

    roster_keepers: dict[ClaimKind, Text] = Field(
        description="附件1 二: the office that reviews the operators of each kind of claim"
    )
    downbound: Downbound
    period_from: Month
    period_to: Month
    max_parcels: Positive
    waybill: Waybill

    @model_validator(mode="after")
    def _period(self) -> SubsidyModel:
        if self.period_from > self.period_to:
            raise ValueError(f"period_from {self.period_from} is after period_to {self.period_to}")
        return self


class ProgrammeModel(_Strict):
    """One programme's facts (`rules/programmes/<id>.yaml`); rules read them as `${…}` parameters."""

    model_config = ConfigDict(title="ruralpost programme data")

    programme: Text = Field(description="the programme id: the file's name without .yaml")
    name: Text
    year: Annotated[int, Field(ge=1900, le=2999)]
    county: County
    divisions: Annotated[Text, AfterValidator(_relative_csv)] = Field(
        description="the division list (CSV: code,name,level,parent_code), relative to this file"
    )
    documents: Annotated[dict[Text, Text], Field(min_length=1)] = Field(
        description="the documents reasons cite, by the short key rule packs use"
    )
    names: RelativeYaml | None = Field(
        None, description="how people write names (reference data, relative to this file): rules/reference/names.yaml"
    )
    issued_on: UnquotedDay = Field(description="the date the programme document was issued")
    operator: Text
    operator_aliases: list[Spelling] = Field(
        default_factory=list, description="the operator's branches and other names: the same operator"
    )
    variant_characters: Annotated[dict[Text, Text], AfterValidator(_one_character)] = Field(
        default_factory=dict, description="a character people write -> the official one (洼: 窊)"
    )
    townships: Annotated[list[TownshipModel], Field(min_length=1)]
    retired_townships: dict[Text, Text] = Field(default_factory=dict)
    sign_text: SignText
    goals: Goals
    sign_code_formats: dict[StationKind, Text]
    filing_days: Count
    refile_days: Count = Field(description="备案规定 第九条: days within which a change is re-filed")
    zones: Zones
    area_volume: AreaVolume
    milestones: dict[Text, MilestoneModel] = Field(default_factory=dict)
    hub: Hub
    subsidy: SubsidyModel | None = None


# ---------------------------------------------------------------- mistakes as lines


def path_of(loc: Sequence[int | str], data: Any) -> str:
    """A pydantic location as an editor finds it in the file: `rules[3] (STN-AREA-TOWNSHIP).severity`."""
    out = ""
    node = data
    for part in loc:
        if part == "[key]":
            out += " (the key)"
            continue
        if isinstance(node, list) and isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if 0 <= part < len(node) else None
            rid = node.get("id") if isinstance(node, dict) else None
            if isinstance(rid, str) and rid:
                out += f" ({rid})"
        elif isinstance(part, int) and isinstance(node, dict) and part not in node:
            continue  # one condition written without a list: the model made it a list of one
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _yaml_kind(value: object) -> str:
    """What YAML made of the value, in the words of someone who wrote it."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _problem(error: ErrorDetails) -> str:
    kind = error["type"]
    value = error.get("input")
    shown = f" {value!r}" if isinstance(value, _SCALARS) and value is not None and len(repr(value)) <= 80 else ""
    if kind == "extra_forbidden":
        return "unknown keys are not allowed (未知的键; misspelt?)"
    if kind == "missing":
        return "Field required (缺少此项)"
    if kind in ("dict_type", "model_type"):
        return f"must be a mapping (key: value, …), not {_yaml_kind(value)}{shown}"
    if kind == "list_type":
        return f"must be a list ([…] or lines starting with -), not {_yaml_kind(value)}{shown}"
    if kind == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])
    return f"{error['msg']} (got {_yaml_kind(value)}{shown})"


def problems(source: str, error: ValidationError, data: Any) -> list[str]:
    """One line per problem: `<file>: <path>: <problem>`."""
    lines = []
    for e in error.errors():
        where = path_of(e["loc"], data)
        lines.append(f"{source}: {where}: {_problem(e)}" if where else f"{source}: {_problem(e)}")
    return lines


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: Any, source: str, context: dict[str, Any] | None = None) -> M:
    """The data as the model, or a RulebookError with every problem on a line of its own."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as e:
        raise RulebookError("\n".join(problems(source, e, data))) from None


# ---------------------------------------------------------------- the committed JSON Schema

SCHEMA_DIR = DEFAULT_RULES_DIR / "schema"
SCHEMAS: dict[str, type[BaseModel]] = {"pack.schema.json": PackModel, "programme.schema.json": ProgrammeModel}


def json_schema(model: type[BaseModel]) -> str:
    """The model's JSON Schema as committed: editors (yaml-language-server) check files with it."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **model.model_json_schema()}
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def main(argv: Sequence[str] = ()) -> int:
    """Writes rules/schema/*.schema.json from the models (run after changing a model)."""
    target = Path(argv[0]) if argv else SCHEMA_DIR
    target.mkdir(parents=True, exist_ok=True)
    for name, model in SCHEMAS.items():
        (target / name).write_text(json_schema(model), encoding="utf-8")
        print(f"wrote {target / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
