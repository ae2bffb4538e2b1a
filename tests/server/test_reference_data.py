"""The reference data as a versioned store, on a real server: read by every role, changed by admins
through the API and `ruralpost data`, checked before it counts, shared by replicas on one database."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

import grpc
import pytest
import yaml
from google.protobuf import json_format
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ruralpost.cli import main
from ruralpost.service.config import DEFAULT_RULES_DIR, Config
from ruralpost.service.server import Running, running
from ruralpost.v1 import (
    claim_pb2,
    claim_pb2_grpc,
    common_pb2,
    progress_pb2,
    progress_pb2_grpc,
    reference_pb2,
    reference_pb2_grpc,
    rules_pb2,
    rules_pb2_grpc,
)
from tests.backends import decisions, pg_schema
from tests.claims.test_subsidy import farm_claim
from tests.support import TOKENS, md

SONGHUAFEN = {"name": "松花粉", "aliases": ["松花粉末"], "class": "林产品采集品", "section": "02 林产品"}


def _said(e: grpc.RpcError) -> str:
    """The status message with the fields it names (google.rpc.BadRequest), as one text."""
    status = rpc_status.from_call(e)  # type: ignore[arg-type]
    said = [e.details() or ""]
    for detail in status.details if status else ():
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            said += [f"{v.field}: {v.description}" for v in bad.field_violations]
    return "\n".join(said)


def _reference(ch: grpc.Channel) -> reference_pb2_grpc.ReferenceDataServiceStub:
    return reference_pb2_grpc.ReferenceDataServiceStub(ch)


def _current(ch: grpc.Channel, who: str = "admin") -> dict:  # type: ignore[type-arg]
    answer = _reference(ch).GetReferenceData(reference_pb2.GetReferenceDataRequest(), metadata=md(who))
    data: dict = json.loads(answer.data_json)  # type: ignore[type-arg]
    assert data["version"] == answer.info.version
    return data


def _evaluate(ch: grpc.Channel, claim_id: str, commit: bool = False) -> claim_pb2.EvaluateClaimResponse:
    claim = farm_claim(claim_id, [("松花粉", "京东"), ("核桃", "京东")])
    request = claim_pb2.EvaluateClaimRequest(claim=claim, commit=commit, accept_provisional_rates=commit)
    return claim_pb2_grpc.SubsidyServiceStub(ch).EvaluateClaim(request, metadata=md("admin"))


def test_an_unknown_product_is_held_then_eligible_after_data_import(
    secured: Running, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = f"127.0.0.1:{secured.port}"
    with grpc.insecure_channel(server) as ch:
        before = _evaluate(ch, "IMPT-0001")
        assert (before.held_pieces, before.eligible_pieces) == (1, 1)
        first = before.reference_version

        token = ["--server", server, "--token", TOKENS["admin"]]
        exported = tmp_path / "reference.json"
        assert main(["data", "export", "--out", str(exported), *token]) == 0
        data = json.loads(exported.read_text(encoding="utf-8"))
        assert data["version"] == 1 and {"operators", "products", "platforms", "brands", "rates"} <= set(data)
        data["products"].append(SONGHUAFEN)
        exported.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        capsys.readouterr()
        assert main(["data", "import", str(exported), "--reason", "工信局审核：松花粉为林产品", *token]) == 0
        assert capsys.readouterr().out.strip() == "2"  # the new version

        after = _evaluate(ch, "IMPT-0002")
        assert (after.held_pieces, after.eligible_pieces) == (0, 2)
        assert after.reference_version != first
        assert after.reference_version == secured.runtime.rules.current.reference.version
        # a rule reload keeps the store's newest version (the package's YAML is only version 1)
        rules_pb2_grpc.RulesServiceStub(ch).ReloadRules(rules_pb2.ReloadRulesRequest(), metadata=md("admin"))
        assert secured.runtime.rules.current.reference.version == after.reference_version

        assert main(["data", "history", "--format", "json", *token]) == 0
        history = json.loads(capsys.readouterr().out)
        assert [v["version"] for v in history["versions"]] == [2, 1]
        assert history["versions"][0]["author"] == "ops-admin"
        assert history["versions"][0]["reason"] == "工信局审核：松花粉为林产品"
        assert history["versions"][1]["content_hash"] == first
        # the old version stays readable
        old = _reference(ch).GetReferenceData(reference_pb2.GetReferenceDataRequest(version=1), metadata=md("reader"))
        assert old.info.content_hash == first and "松花粉" not in old.data_json


@pytest.mark.parametrize("suffix", [".xlsx", ""])
def test_export_and_import_by_spreadsheet_or_csv_folder(secured: Running, tmp_path: Path, suffix: str) -> None:
    server = f"127.0.0.1:{secured.port}"
    token = ["--server", server, "--token", TOKENS["admin"]]
    out = tmp_path / f"reference{suffix}"
    assert main(["data", "export", "--out", str(out), *token]) == 0
    if not suffix:
        assert sorted(p.name for p in out.iterdir()) == [
            "brands.csv", "operators.csv", "platforms.csv", "products.csv", "rates.csv",
        ]  # fmt: skip
    assert main(["data", "import", str(out), "--reason", "原样导回 (round trip)", *token]) == 0
    # what came back is what went out: the same content, a new version
    history = secured.runtime.store.reference.history(secured.runtime.rules.current.reference.programme)
    assert [v.version for v in history] == [2, 1]
    assert history[0].content_hash == history[1].content_hash


def test_every_role_reads_and_only_admins_change(secured: Running) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as ch:
        stub = _reference(ch)
        products = _current(ch, "reader")["products"]
        for who in ("reader", "op", "approver", "admin"):
            assert stub.ListReferenceVersions(reference_pb2.ListReferenceVersionsRequest(), metadata=md(who)).versions
        change = reference_pb2.ReplaceReferenceTableRequest(
            table="products", entries_json=json.dumps([*products, SONGHUAFEN], ensure_ascii=False), reason="试图修改"
        )
        for who in ("reader", "op", "approver"):
            with pytest.raises(grpc.RpcError) as e:
                stub.ReplaceReferenceTable(change, metadata=md(who))
            assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
            with pytest.raises(grpc.RpcError) as e:
                stub.ImportReferenceData(
                    reference_pb2.ImportReferenceDataRequest(data_json="{}", reason="x"), metadata=md(who)
                )
            assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert _current(ch)["version"] == 1
        answer = stub.ReplaceReferenceTable(change, metadata=md("admin"))
        assert (answer.info.version, answer.previous_version) == (2, 1) and answer.cases_passed > 0
        assert answer.info.author == "ops-admin" and _current(ch, "op")["version"] == 2


def test_a_malformed_change_is_refused_and_loses_nothing(secured: Running) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as ch:
        stub = _reference(ch)
        before = _current(ch)
        products, rates = before["products"], before["rates"]
        twice = [*products, {"name": "核桃仁", "aliases": ["核桃"]}]  # 核桃 is a name of another entry
        lower = [dict(r, previous_year_fen=r["rate_fen"] + 1) for r in rates]  # below last year's
        typo = [dict(products[0], colour="红")]  # a key the schema does not know

        def refused(table: str, entries: object, reason: str = "修改") -> grpc.RpcError:
            with pytest.raises(grpc.RpcError) as e:
                stub.ReplaceReferenceTable(
                    reference_pb2.ReplaceReferenceTableRequest(
                        table=table, entries_json=json.dumps(entries, ensure_ascii=False), reason=reason
                    ),
                    metadata=md("admin"),
                )
            return e.value

        for table, entries, named in (
            ("products", twice, "核桃"),
            ("rates", lower, "previous year"),
            ("products", typo, "colour"),
            ("products", {"name": "x"}, "entries_json"),
        ):
            e = refused(table, entries)
            assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, named
            assert named in _said(e), _said(e)
            assert "仍为第 1 版" in _said(e) or "须为一个对象列表" in _said(e)
        assert refused("fruit", []).code() == grpc.StatusCode.INVALID_ARGUMENT
        assert refused("products", products, reason=" ").code() == grpc.StatusCode.INVALID_ARGUMENT
        # well formed, but the golden cases fail with it: no platform is known any more
        e = refused("platforms", [])
        assert e.code() == grpc.StatusCode.FAILED_PRECONDITION and "黄金用例未通过" in (e.details() or "")
        with pytest.raises(grpc.RpcError) as bad:
            stub.ImportReferenceData(
                reference_pb2.ImportReferenceDataRequest(data_json="{not json", reason="x"), metadata=md("admin")
            )
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        # a refused change names the field its data came in, by either method, one table or several
        assert "entries_json: 基础数据未修改" in _said(refused("products", twice))
        for tables in ({"products": twice}, {"products": twice, "platforms": before["platforms"]}):
            with pytest.raises(grpc.RpcError) as one:
                stub.ImportReferenceData(
                    reference_pb2.ImportReferenceDataRequest(data_json=json.dumps(tables), reason="x"),
                    metadata=md("admin"),
                )
            assert "data_json: 基础数据未修改" in _said(one.value), _said(one.value)
        # nothing was stored, the version in use is the one before
        assert _current(ch) == before
        programme = secured.runtime.rules.current.reference.programme
        assert [v.version for v in secured.runtime.store.reference.history(programme)] == [1]


def test_a_malformed_import_file_is_a_usage_error(
    secured: Running, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = ["--server", f"127.0.0.1:{secured.port}", "--token", TOKENS["admin"]]
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert main(["data", "import", str(broken), "--reason", "x", *token]) == 2
    assert "不是有效的 JSON" in capsys.readouterr().err
    sheet = tmp_path / "broken.xlsx"
    sheet.write_bytes(b"not a workbook")
    assert main(["data", "import", str(sheet), "--reason", "x", *token]) == 2
    assert "不是有效的 Excel 文件" in capsys.readouterr().err
    duplicate = tmp_path / "dup.json"
    duplicate.write_text(json.dumps({"products": [{"name": "苹果"}, {"name": "苹果"}]}), encoding="utf-8")
    assert main(["data", "import", str(duplicate), "--reason", "x", *token]) == 1
    assert "INVALID_ARGUMENT" in capsys.readouterr().err
    assert secured.runtime.rules.reference_number == 1


def test_a_change_on_one_replica_is_seen_by_another_on_the_same_postgresql(tmp_path: Path, rules_copy: Path) -> None:
    with pg_schema() as url:
        config = Config(listen="127.0.0.1:0", db=url, rules_dir=rules_copy, grace_seconds=1)
        with (
            running(config) as a,
            running(config) as b,
            grpc.insecure_channel(f"127.0.0.1:{a.port}") as ach,
            grpc.insecure_channel(f"127.0.0.1:{b.port}") as bch,
        ):
            committed = _evaluate(bch, "REPL-0001", commit=True)
            assert committed.held_pieces == 1 and committed.committed
            products = _current(ach)["products"]
            _reference(ach).ReplaceReferenceTable(
                reference_pb2.ReplaceReferenceTableRequest(
                    table="products",
                    entries_json=json.dumps([*products, SONGHUAFEN], ensure_ascii=False),
                    reason="工信局审核",
                )
            )
            assert _evaluate(ach, "REPL-0002").held_pieces == 0  # at once where it changed
            deadline = time.monotonic() + 10
            while (seen := _evaluate(bch, "REPL-0003")).held_pieces and time.monotonic() < deadline:
                time.sleep(0.2)
            assert seen.held_pieces == 0 and seen.reference_version == a.runtime.rules.current.reference.version
            assert b.runtime.rules.reference_number == 2
            # the claim committed on the old version is answered as it was stored, on its version
            again = _evaluate(bch, "REPL-0001", commit=True)
            assert again == committed and again.reference_version != seen.reference_version


def _platform_case(rules: Path) -> None:
    """A golden case of this replica's own: a sale through 静乐好物小程序 is held for review."""
    claim = json_format.MessageToDict(farm_claim("LOCAL-0001", [("藜麦", "静乐好物小程序"), ("胡麻油", "京东")]))
    claim["requestedAmountFen"] = "100"  # the one eligible piece
    case = {
        "name": "本副本的用例：静乐好物小程序不在平台名单内，待审核",
        "input": {"claim": claim},
        "expect": {
            "outcome": "CLAIM_OUTCOME_PARTIALLY_ELIGIBLE",
            "rule_ids": ["SUB-RATES-PROVISIONAL", "SUB-UP-PLATFORM-REVIEW"],
        },
    }
    text = yaml.safe_dump({"pack": "subsidy", "cases": [case]}, allow_unicode=True)
    (rules / "cases" / "subsidy" / "local.yaml").write_text(text, encoding="utf-8")


def _replace(ch: grpc.Channel, table: str, entries: list[dict], reason: str) -> int:  # type: ignore[type-arg]
    answer = _reference(ch).ReplaceReferenceTable(
        reference_pb2.ReplaceReferenceTableRequest(
            table=table, entries_json=json.dumps(entries, ensure_ascii=False), reason=reason
        )
    )
    return int(answer.info.version)


def test_a_version_another_replica_stored_passes_this_replicas_golden_cases_before_it_counts(
    tmp_path: Path, rules_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Replica B runs a golden case of its own that replica A does not: a version A stores that
    fails it is not taken by B (the version before stays, one error line says why, a change on B is
    refused naming it); the next version that passes is taken."""
    own = tmp_path / "rules-b"
    shutil.copytree(DEFAULT_RULES_DIR, own)
    _platform_case(own)
    caplog.set_level(logging.INFO, logger="ruralpost.service.runtime")
    with (
        pg_schema() as url,
        running(Config(listen="127.0.0.1:0", db=url, rules_dir=rules_copy, grace_seconds=1)) as a,
        running(Config(listen="127.0.0.1:0", db=url, rules_dir=own, grace_seconds=1)) as b,
        grpc.insecure_channel(f"127.0.0.1:{a.port}") as ach,
        grpc.insecure_channel(f"127.0.0.1:{b.port}") as bch,
    ):
        claim = claim_pb2_grpc.SubsidyServiceStub(bch)

        def held(claim_id: str) -> int:
            one = farm_claim(claim_id, [("藜麦", "静乐好物小程序")])
            return claim.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=one), metadata=md("admin")).held_pieces

        first = b.runtime.rules.current.reference.version
        platforms = _current(ach)["platforms"]
        added = {"name": "静乐好物小程序", "aliases": []}
        assert _replace(ach, "platforms", [*platforms, added], "工信局：县里的小程序商城") == 2
        deadline = time.monotonic() + 60
        while b.runtime.rules.refused is None and time.monotonic() < deadline:
            assert held(f"HOLD-{int(time.monotonic() * 1000) % 10000:04d}") == 1  # still version 1's answer
            time.sleep(0.2)
        refused = b.runtime.rules.refused
        assert refused is not None and refused.version == 2 and "本副本的用例" in refused.why
        assert b.runtime.rules.reference_number == 1 and b.runtime.rules.current.reference.version == first
        time.sleep(2.5)  # past another poll: asked again, not gated again, not logged again
        assert held("HOLD-9999") == 1
        lines = [r for r in caplog.records if "not taken" in r.getMessage()]
        assert len(lines) == 1 and lines[0].levelno == logging.ERROR
        assert "version 2" in lines[0].getMessage() and "version 1 stays" in lines[0].getMessage()
        # B cannot build a change on the version it kept
        with pytest.raises(grpc.RpcError) as e:
            _replace(bch, "products", _current(bch)["products"], "在旧版本上修改")
        assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "第 2 版" in (e.value.details() or "")

        # A takes the platform out again (3) and adds a product (4): the newest passes B's case, B takes it
        products = _current(ach)["products"]
        _replace(ach, "platforms", platforms, "撤回：小程序商城待审核")
        assert _replace(ach, "products", [*products, SONGHUAFEN], "工信局审核") == 4
        deadline = time.monotonic() + 60
        while b.runtime.rules.reference_number != 4 and time.monotonic() < deadline:
            assert held(f"TAKE-{int(time.monotonic() * 1000) % 10000:04d}") == 1
            time.sleep(0.2)
        assert b.runtime.rules.reference_number == 4 and b.runtime.rules.refused is None
        assert b.runtime.rules.current.reference.version == a.runtime.rules.current.reference.version


def test_the_hubs_brand_table_is_reference_data_an_admin_changes(secured: Running) -> None:
    """HUB-BRANDS counts brands by the reference data's brand table: a company an admin adds to a
    brand's names stops counting as a brand of its own, and the decision log keeps the version."""
    hub = progress_pb2.CountyHub(
        name="统仓共配中心",
        brands=["中通快递", "静乐县顺达物流有限公司"],
        unified_warehousing=True,
        sorting=True,
        delivery=True,
        established_on="2023-06-20",
    )
    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as ch:

        def hub_verdict() -> common_pb2.Verdict:
            request = progress_pb2.GetProgressRequest(as_of="2023-07-15", hub=hub)
            return progress_pb2_grpc.QuotaServiceStub(ch).GetProgress(request, metadata=md("admin")).report.hub

        assert "HUB-BRANDS" not in [r.rule_id for r in hub_verdict().reasons]  # 中通 and a company of its own
        brands = _current(ch)["brands"]
        next(b for b in brands if b["name"] == "中通")["aliases"].append("静乐县顺达物流有限公司")
        changed = _reference(ch).ReplaceReferenceTable(
            reference_pb2.ReplaceReferenceTableRequest(
                table="brands", entries_json=json.dumps(brands, ensure_ascii=False), reason="顺达物流为中通加盟网点"
            ),
            metadata=md("admin"),
        )
        after = hub_verdict()
        assert [r.rule_id for r in after.reasons] == ["HUB-BRANDS"]
        assert "中通" in after.reasons[0].message
    logged = next(d for d in decisions(secured.runtime.store) if d.method == "GetProgress")
    assert logged.reference_version == changed.info.content_hash
