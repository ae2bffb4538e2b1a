"""Reading claims (what the CLI sends to EvaluateClaim): parcel lists plus fields, JSON, JSON Lines.

The SubsidyService itself is tested end to end where it is implemented; here only the files."""

from __future__ import annotations

import json
from pathlib import Path

from ruralpost.clients.sheets import template
from ruralpost.clients.sheets.claims import read_claims
from ruralpost.v1 import claim_pb2

FIELDS = {
    "claim_id": "C-2023-07-001",
    "programme": "jingle-2023",
    "operator": "山西壹公里信息科技有限公司",
    "kind": "上行",
    "period": "2023/7",
    "township": None,
    "declared_pieces": 3,
    "requested_amount_fen": 240,
}


def test_parcel_csv_with_claim_fields_and_a_bad_row(tmp_path: Path) -> None:
    text = template.csv_text("parcels", lang="zh").splitlines()
    text.append("YT7000000009,2023-07-05,藜麦,淘宝,静乐县,太原市,,,,是,八块")  # fee not a number
    path = tmp_path / "parcels.csv"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    found = read_claims(path, FIELDS)
    [(_, claim, problem)] = found.claims
    assert claim is not None and problem == ""
    assert claim.claim_id == "C-2023-07-001" and claim.period == "2023-07"
    assert claim.kind == claim_pb2.CLAIM_KIND_UPBOUND_AGRICULTURAL
    assert claim.declared_pieces == 3 and claim.requested_amount_fen == 240 and claim.township == ""
    assert [p.waybill for p in claim.parcels] == ["YT7000000001", "ZT7000000002"]
    assert claim.parcels[1].delivered_to_address is True
    assert not claim.parcels[0].HasField("delivered_to_address")  # empty: not reported
    assert [p.fee_charged_fen for p in claim.parcels] == [0, 0]  # the examples charge nothing
    assert found.parcel_rows == [2, 3]
    [bad] = found.bad_rows
    assert bad.row == 4 and bad.column == "向收件人收费（分）" and "八块" in bad.problem


def test_fee_is_whole_fen_under_either_header(tmp_path: Path) -> None:
    """The fee is the extra charge to the recipient in fen (SUB-DOWN-FEE); an amount that looks like
    yuan or is negative is a bad row, never silently 1/100 of what was meant."""
    path = tmp_path / "parcels.csv"
    rows = [
        "W0000001,300",
        "W0000002,0",
        "W0000003,",
        "W0000004,3.00",
        "W0000005,3元",
        "W0000006,-100",
        "W0000007,200分",
        "W0000008,¥2",
    ]
    path.write_text("运单号,收费（分）\n" + "\n".join(rows) + "\n", encoding="utf-8")
    found = read_claims(path, {})
    [(_, claim, _)] = found.claims
    assert claim is not None
    assert [(p.waybill, p.fee_charged_fen) for p in claim.parcels] == [
        ("W0000001", 300),
        ("W0000002", 0),
        ("W0000003", 0),
        ("W0000007", 200),
    ]
    assert found.parcel_rows == [2, 3, 4, 8]
    assert [(b.row, b.column) for b in found.bad_rows] == [
        (5, "收费（分）"),
        (6, "收费（分）"),
        (7, "收费（分）"),
        (9, "收费（分）"),
    ]
    assert "1元=100分" in found.bad_rows[0].problem and "负数" in found.bad_rows[2].problem


def test_json_claim_request_and_jsonl_claims(tmp_path: Path) -> None:
    one = tmp_path / "claim.json"
    one.write_text(
        json.dumps(
            {
                "claim": {
                    "claimId": "A",
                    "kind": "CLAIM_KIND_DOWNBOUND_PARCEL",
                    "parcels": [{"waybill": "W1", "feeChargedFen": "300"}],
                },
                "commit": True,
            }
        ),
        encoding="utf-8",
    )
    found = read_claims(one, {"operator": "X"})
    [(_, claim, _)] = found.claims
    assert claim is not None and claim.claim_id == "A" and claim.operator == "X"
    assert claim.parcels[0].fee_charged_fen == 300 and found.commit is True

    many = tmp_path / "claims.jsonl"
    many.write_text('{"claimId": "B1"}\n{"claimId": "B2", "kind": "NOT_A_KIND"}\n{"claimId": "B3"}\n', encoding="utf-8")
    found = read_claims(many, {})
    assert [(n, c.claim_id if c else None) for n, c, _ in found.claims] == [(1, "B1"), (2, None), (3, "B3")]
    assert "第2行" in found.claims[1][2]
