"""The reference data the offices keep: the shipped first version, its checks, its version."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.refdata.load import from_mapping, load_reference, reference_dir
from ruralpost.service.refdata.model import Tables
from ruralpost.service.rulebook.schema import RulebookError, json_schema

REFERENCE = load_reference(DEFAULT_RULES_DIR, "jingle-2023")
FOLDER = reference_dir(DEFAULT_RULES_DIR, "jingle-2023")


def test_the_catalogue_knows_farm_products_by_the_names_sellers_write() -> None:
    farm_names = [n for p in REFERENCE.tables.products if p.farm for n in (p.name, *p.aliases)]
    assert len(farm_names) >= 300  # several hundred names, not thirteen
    for written, filed in [
        ("核桃", "核桃"),
        ("薄皮核桃", "核桃"),
        ("红枣", "红枣"),
        ("大枣", "红枣"),
        ("土鸡蛋", "鸡蛋"),
        ("柴鸡蛋", "鸡蛋"),
        ("羊肉", "羊肉"),
        ("羔羊肉", "羊肉"),
        ("苹果", "苹果"),
        ("胡麻油", "胡麻油"),
        ("小米", "小米"),
        ("黄芪", "黄芪"),
        ("藜麦", "藜麦"),
        ("莜面", "莜面"),
        ("荞麦", "荞麦"),
        ("土豆", "马铃薯"),
        ("马 铃 薯", "马铃薯"),  # spacing ignored
    ]:
        product = REFERENCE.product(written)
        assert product is not None and product.farm and product.name == filed, written
        assert product.section[:2] in {"01", "02", "03", "04", "13", "14"}, product
    for written in ("手机", "服装", "手机壳"):
        product = REFERENCE.product(written)
        assert product is not None and not product.farm, written
    assert REFERENCE.product("松花粉") is None  # in no list: a parcel of it is held for review


def test_the_classification_is_cited_in_the_data() -> None:
    header = (FOLDER / "products.yaml").read_text(encoding="utf-8").split("products:")[0]
    assert "统计用产品分类目录" in header and "国家统计局" in header and "2010" in header


def test_the_national_platforms_and_their_spellings() -> None:
    for written, name in [
        ("苏宁易购", "苏宁易购"),
        ("1688", "1688"),
        ("天猫", "天猫"),
        ("抖店", "抖音"),
        ("快手小店", "快手"),
        ("视频号", "微信小店"),
        ("美团优选", "美团"),
        ("唯品会", "唯品会"),
        ("有赞", "有赞"),
        ("小红书", "小红书"),
    ]:
        platform = REFERENCE.platform(written)
        assert platform is not None and platform.e_commerce and platform.name == name, written
    shop = REFERENCE.platform("线下门店")
    assert shop is not None and not shop.e_commerce


def test_the_first_roster_holds_the_operator_of_the_task_table_only() -> None:
    for kind, office in [("UPBOUND_AGRICULTURAL", "工信局"), ("DOWNBOUND_PARCEL", "供销社、邮政公司")]:
        entry = REFERENCE.operator("山西壹公里信息科技有限公司静乐分公司", kind)
        assert entry is not None and entry.name == "山西壹公里信息科技有限公司" and entry.decided_by == office
        assert REFERENCE.operator("静乐县智通电子商务产业物流园区有限公司", kind) is None
    assert {r.status for r in REFERENCE.tables.rates} == {"provisional"}


def test_the_version_is_the_content() -> None:
    again = from_mapping("jingle-2023", REFERENCE.tables.model_dump(mode="json", by_alias=True), "again")
    assert again.version == REFERENCE.version and len(REFERENCE.version) == 16
    changed = REFERENCE.tables.model_dump(mode="json", by_alias=True)
    changed["products"].append({"name": "松花粉", "aliases": [], "class": "林产品", "section": "02 林产品"})
    assert from_mapping("jingle-2023", changed, "changed").version != REFERENCE.version


@pytest.mark.parametrize(
    ("tables", "says"),
    [
        ({"products": [{"name": "核桃"}, {"name": "山核桃", "aliases": ["核 桃"]}]}, "'核 桃' is a name of both"),
        ({"platforms": [{"name": "京东"}, {"name": "京东"}]}, "'京东' is a name of both"),
        (
            {
                "rates": [
                    {
                        "kind": "UPBOUND_AGRICULTURAL",
                        "tier": "",
                        "label": "a",
                        "rate_fen": 1,
                        "status": "provisional",
                        "source": "s",
                    },
                    {
                        "kind": "UPBOUND_AGRICULTURAL",
                        "tier": "",
                        "label": "b",
                        "rate_fen": 2,
                        "status": "provisional",
                        "source": "s",
                    },
                ]
            },
            "has two rates",
        ),
        ({"brands": [{"name": "顺丰", "colour": "black"}]}, "brands[0].colour: unknown keys"),
        ([], "must be a mapping of tables"),
    ],
)
def test_a_version_that_fails_its_checks_is_refused(tables: object, says: str) -> None:
    with pytest.raises(RulebookError, match=says.replace("(", r"\(").replace("[", r"\[")):
        from_mapping("jingle-2023", tables, "import")


def test_a_missing_table_file_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "reference" / "jingle-2023"
    folder.mkdir(parents=True)
    for name in ("operators", "products", "platforms"):
        (folder / f"{name}.yaml").write_text((FOLDER / f"{name}.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(RulebookError, match=r"reference/jingle-2023/rates.yaml: missing"):
        load_reference(tmp_path, "jingle-2023")


def test_the_committed_schema_is_what_the_model_gives() -> None:
    committed = (DEFAULT_RULES_DIR / "schema" / "reference.schema.json").read_text(encoding="utf-8")
    assert committed == json_schema(Tables), "run: python -m ruralpost.service.refdata.model"
    for path in sorted(FOLDER.glob("*.yaml")):
        assert path.read_text(encoding="utf-8").startswith(
            "# yaml-language-server: $schema=../../schema/reference.schema.json\n"
        ), path
