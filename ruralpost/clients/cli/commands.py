"""The client subcommands of `ruralpost`: check, claim, progress, rules, template, data, signcode.

Exit codes a workflow can gate on: 0 everything passed, 1 any item failed / was ineligible /
could not be read, 2 usage or connection errors (nothing was decided).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO, TypeVar

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from ruralpost.clients.cli.progressbar import ProgressBar
from ruralpost.clients.reports import html, table
from ruralpost.clients.reports.labels import PASSED, outcome_key
from ruralpost.clients.reports.summary import Item, Summary
from ruralpost.clients.sdk.client import DEFAULT_TARGET, ClientOptions, RuralpostClient
from ruralpost.clients.sdk.errors import RuralpostError
from ruralpost.clients.sheets import csvsafe, reference, template
from ruralpost.clients.sheets.claims import CLAIM_FIELDS, ClaimInput, iter_requests, read_claims
from ruralpost.clients.sheets.itemfile import (
    CLAIM_CSV_HEADER,
    StationCsv,
    StationJson,
    bad_row_record,
    claim_dict,
    claim_rows,
)
from ruralpost.clients.sheets.layout import CellError, LayoutError
from ruralpost.clients.sheets.readers import NoRows, ReadError, open_rows
from ruralpost.clients.sheets.stations import StationBatch, StationRows, bad_item
from ruralpost.v1 import claim_pb2, progress_pb2

M = TypeVar("M", bound=Message)

OK, FAILED, USAGE = 0, 1, 2
Handler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """Bad options or an unreadable input file: exit 2."""


def _date(text: str) -> str:
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}")


def _connection(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("connection")
    g.add_argument(
        "--server",
        default=os.environ.get("RURALPOST_SERVER", DEFAULT_TARGET),
        help="HOST:PORT of the service (default %(default)s; env RURALPOST_SERVER)",
    )
    g.add_argument("--timeout", type=float, default=60.0, help="deadline of a unary call in seconds")
    g.add_argument("--attempts", type=int, default=5, help="tries when the service is UNAVAILABLE")
    g.add_argument("--tls", action="store_true", help="connect with TLS (system roots)")
    g.add_argument("--root-cert", type=Path, help="PEM of the CA that signed the server (implies --tls)")
    g.add_argument(
        "--token", default=os.environ.get("RURALPOST_TOKEN"), help="bearer token (default: env RURALPOST_TOKEN)"
    )
    g.add_argument("-v", "--verbose", action="store_true", help="log each retry and show gRPC's own text of a failure")


def _client(args: argparse.Namespace) -> RuralpostClient:
    return RuralpostClient(
        ClientOptions(
            target=args.server,
            timeout=args.timeout,
            attempts=max(args.attempts, 1),
            tls=args.tls,
            root_cert=args.root_cert,
            token=args.token or None,
        )
    )


def _guarded(handler: Handler) -> Handler:
    """Maps what went wrong to the exit code, with one line on stderr saying what."""

    def run(args: argparse.Namespace) -> int:
        verbose = bool(getattr(args, "verbose", False))
        # The client's retry log is for -v: by default a failure is the one line below.
        logging.getLogger("ruralpost.clients").setLevel(logging.INFO if verbose else logging.ERROR)
        try:
            return handler(args)
        except RuralpostError as e:
            if e.is_connection:
                print(f"ruralpost: {connection_failure(args.server, e)}", file=sys.stderr)
                if verbose:
                    print(f"  {e.code.name}: {e.message}", file=sys.stderr)
                return USAGE
            print(f"ruralpost: 服务拒绝了请求 request refused: {e.code.name}: {e.message}", file=sys.stderr)
            for v in e.violations:
                print(f"  {v.field}: {v.description}", file=sys.stderr)
            return FAILED
        except (UsageError, ReadError, LayoutError) as e:
            print(f"ruralpost: {e}", file=sys.stderr)
            return USAGE
        except OSError as e:
            print(f"ruralpost: {file_error(e)}", file=sys.stderr)
            return USAGE

    return run


def connection_failure(server: str, error: RuralpostError) -> str:
    """One line in Chinese and English: the address, and what to check."""
    if error.code == grpc.StatusCode.UNAVAILABLE:
        if "://" in server:
            return (
                f"无法连接 {server}：地址只写 主机:端口，不带 http:// 或 https://"
                f" — cannot connect to {server}: give HOST:PORT, without http:// or https://"
            )
        if "http1.x server" in error.message or "Failed parsing HTTP/2" in error.message:
            return (
                f"无法连接 {server}：这是 HTTP 端口（网页控制台、curl 用），命令行要用服务的 gRPC 端口（--listen）"
                f" — cannot connect to {server}: this is an HTTP port (console, curl); use the gRPC port (--listen)"
            )
        if "resolv" in error.message or "lookup" in error.message:
            return (
                f"无法连接 {server}：找不到这个主机名，请检查 --server 的拼写"
                f" — cannot connect to {server}: the host name is not found, check --server"
            )
        return (
            f"无法连接 {server}：请确认服务已启动，且这是 gRPC 端口（不是 HTTP 端口 --http-listen），地址不带 http://"
            f" — cannot connect to {server}: is the server running, is this its gRPC port (not the HTTP one),"
            " and no http:// prefix?"
        )
    if error.code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return (
            f"{server} 没有在时限内应答，请确认服务已启动并且是 gRPC 端口，或加大 --timeout"
            f" — {server} did not answer in time: is the server running on this gRPC port? or raise --timeout"
        )
    if error.code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
        return (
            f"{server} 拒绝了调用者（{error.code.name}）：请检查 --token 或 RURALPOST_TOKEN 及其角色"
            f" — {server} refused the caller: check --token / RURALPOST_TOKEN and its role: {error.message}"
        )
    return f"调用 {server} 失败 call to {server} failed: {error.code.name}: {error.message}"


def file_error(error: OSError) -> str:
    """A file that cannot be read or written, in Chinese and English, naming it."""
    name = error.filename if error.filename is not None else ""
    if isinstance(error, FileNotFoundError):
        return f"{name}: 文件不存在 no such file"
    if isinstance(error, IsADirectoryError):
        return f"{name}: 这是文件夹，不是文件 a folder, not a file"
    if isinstance(error, NotADirectoryError):
        return f"{name}: 路径中有一段不是文件夹 a part of the path is not a folder"
    if isinstance(error, PermissionError):
        return f"{name}: 没有读写权限 permission denied"
    return f"{name}: 无法读写这个文件 cannot read or write the file: {error.strerror or error}"


@contextlib.contextmanager
def _output(path: Path | None, for_excel: bool = False) -> Iterator[TextIO]:
    """stdout, or a file; CSV files get a BOM so that Excel shows the Chinese."""
    if path is None:
        yield sys.stdout
        return
    with path.open("w", encoding="utf-8-sig" if for_excel else "utf-8", newline="") as f:
        yield f


def _json(message: Message) -> str:
    """Proto JSON with every field, zeros and empty lists too (0 points filed is an answer)."""
    return json_format.MessageToJson(
        message, preserving_proto_field_name=True, ensure_ascii=False, always_print_fields_with_no_presence=True
    )


def _warn(message: str) -> None:
    print(f"ruralpost: {message}", file=sys.stderr)


# ---- check


def _warn_unknown(columns: list[str], warned: list[str]) -> list[str]:
    """Warns once about columns the layout does not know (they are ignored, not an error)."""
    new = [c for c in columns if c not in warned]
    if new:
        _warn(f"忽略了不认识的列 ignored unknown columns: {', '.join(new)}")
    return warned + new


def _check(args: argparse.Namespace) -> int:
    path: Path = args.file
    bar_wanted = sys.stderr.isatty()
    rows = open_rows(path)
    stations = StationRows(rows)
    warned = _warn_unknown(stations.unknown_columns, [])
    summary = Summary(source=str(path), detail_limit=args.detail_limit)
    if stations.missing_columns:  # once, at the top of the report (and in the JSON summary)
        summary.notes.append(stations.missing_columns)
    bar = ProgressBar(rows.total_hint, enabled=bar_wanted)
    started = time.monotonic()
    with (
        _output(args.out if args.format != "table" else None, for_excel=args.format == "csv") as out,
        _client(args) as client,
    ):
        writer: StationCsv | StationJson | None = (
            StationCsv(out) if args.format == "csv" else StationJson(out) if args.format == "json" else None
        )
        try:
            batch = StationBatch(stations, as_of=args.as_of or "", register=args.register)
            for item in batch.items(client.check_stations(batch.requests())):
                summary.add(item)
                if writer is not None:
                    writer.write(item)
                bar.advance()
        finally:
            bar.finish()
        summary.seconds = time.monotonic() - started
        if not rows.count.read:
            raise NoRows(path)
        summary.file_read(rows.count, rows.encoding)
        if writer is not None:
            writer.close(summary)
    _warn_unknown(stations.unknown_columns, warned)
    if stations.register_asked and not args.register:
        _warn("文件里的 register 不会登记，只有 --register 才登记 (the file's register is ignored; pass --register)")
    text = table.stations_report(summary)
    if args.format == "table":
        if args.out is not None:
            args.out.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    elif args.out is not None:
        sys.stdout.write(text)  # the file has the items; the terminal gets the summary
    if args.report is not None:
        args.report.write_text(html.check_report(summary), encoding="utf-8")
    return OK if summary.all_passed else FAILED


# ---- claim


def _claim_fields(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in CLAIM_FIELDS}


def _claim(args: argparse.Namespace) -> int:
    try:
        found: ClaimInput = read_claims(args.file, _claim_fields(args))
    except (ValueError, CellError) as e:
        if isinstance(e, ReadError | LayoutError):
            raise
        raise UsageError(f"申报字段有误 bad claim field: {e}") from None
    commit = bool(args.commit)
    if found.commit and not commit:
        _warn("文件里的 commit 不会提交，只有 --commit 才提交 (the file's commit is ignored; pass --commit)")
    _warn_unknown(found.unknown_columns, [])
    for bad in found.bad_rows:
        _warn(f"第{bad.row}行被排除 row {bad.row} left out: {bad.problem}")
    # One slot per claim of the file, in its order: (claim id, result, problem).
    results: list[ClaimResult] = [
        (c.claim_id if c is not None else f"#{n}", None, problem) for n, c, problem in found.claims
    ]
    readable = [(i, c) for i, (_, c, _) in enumerate(found.claims) if c is not None]
    with _client(args) as client:
        if len(found.claims) == 1 and readable:
            claim = readable[0][1]
            try:
                answer = client.evaluate_claim(
                    claim, commit=commit, accept_provisional_rates=args.accept_provisional_rates
                )
                results[0] = (claim.claim_id, answer, "")
            except RuralpostError as e:
                if e.is_connection:
                    raise
                results[0] = (claim.claim_id, None, _refusal(e))
        elif readable:
            requests = iter_requests([c for _, c in readable], commit, args.accept_provisional_rates)
            for response in client.evaluate_claims(requests):
                slot, claim = readable[response.index]
                if response.HasField("result"):
                    results[slot] = (claim.claim_id, response.result, "")
                else:
                    refusal = _refusal(RuralpostError.from_status(response.error))
                    results[slot] = (claim.claim_id, None, refusal)
    _write_claims(args, results, found)
    good = all(r is not None and r.outcome == claim_pb2.CLAIM_OUTCOME_ELIGIBLE for _, r, _ in results)
    return OK if good and results and not found.bad_rows else FAILED


def _refusal(error: RuralpostError) -> str:
    detail = "；".join(f"{v.field}: {v.description}" for v in error.violations)
    return f"{error.code.name}: {detail or error.message}"


ClaimResult = tuple[str, claim_pb2.EvaluateClaimResponse | None, str]


def _write_claims(args: argparse.Namespace, results: list[ClaimResult], found: ClaimInput) -> None:
    rows = found.parcel_rows  # a parcel list: rejections name their file row
    bad_rows = found.bad_rows
    with _output(args.out, for_excel=args.format == "csv") as out:
        if args.format == "json":
            json.dump(
                {
                    "results": [
                        claim_dict(r, rows) if r is not None else {"claim_id": cid, "error": problem}
                        for cid, r, problem in results
                    ],
                    "bad_rows": [{"row": b.row, "column": b.column, "problem": b.problem} for b in bad_rows],
                    **({"rows_in_file": found.count.in_file, "blank_rows": found.count.blank} if found.count else {}),
                },
                out,
                ensure_ascii=False,
                indent=2,
            )
            out.write("\n")
        elif args.format == "csv":
            writer = csvsafe.Writer(out)
            writer.writerow(CLAIM_CSV_HEADER)
            for cid, r, problem in results:
                writer.writerows(claim_rows(r, cid, problem, rows))
            claim_id = results[0][0] if len(results) == 1 else ""
            writer.writerows(bad_row_record(claim_id, b) for b in bad_rows)
        else:
            out.write(_claims_table(results, found))
    if args.out is not None and args.format != "table":
        sys.stdout.write(_claims_table(results, found))  # the file has the records; the terminal the table


def _claims_table(results: list[ClaimResult], found: ClaimInput) -> str:
    parts = [
        (
            table.claim_report(r, found.parcel_rows)
            if r is not None
            else f"补贴申报 Claim {cid}：无法评估 not evaluated {problem}\n"
        )
        + "\n"
        for cid, r, problem in results
    ]
    if found.bad_rows:
        parts.append(f"■ 被排除的行 Rows left out — {len(found.bad_rows)}\n")
        parts.append(
            table.render(
                ["行号 Row", "列 Column", "问题 Problem"],
                [[b.row, b.column or "—", b.problem] for b in found.bad_rows],
                right=(0,),
            )
        )
        parts.append("\n")
    count = found.count
    if count is not None and (count.blank or count.in_file != len(found.parcel_rows) + len(found.bad_rows)):
        parts.append(
            f"快件清单共 {count.in_file:,} 行数据 rows in the file：{len(found.parcel_rows):,} 件计入申报 "
            f"in the claim，{len(found.bad_rows):,} 行被排除 left out，{count.blank:,} 行空行 blank\n"
        )
    return "".join(parts)


# ---- progress


def _progress(args: argparse.Namespace) -> int:
    stations = []
    bad: list[Item] = []
    if args.stations is not None:
        source = StationRows(open_rows(args.stations))
        for row in source.rows.rows:
            try:
                if row.problem:
                    raise ValueError(row.problem)
                stations.append(source.station(row))
            except ValueError as e:
                bad.append(bad_item(row, e, source))
        for b in bad:
            _warn(f"第{b.row}行被排除 row {b.row} left out: {b.problem}")
        if not source.rows.count.read:
            raise NoRows(args.stations)
    hub = None
    if args.hub is not None:
        try:
            hub = json_format.Parse(args.hub.read_text(encoding="utf-8"), progress_pb2.CountyHub())
        except (json_format.ParseError, UnicodeDecodeError) as e:
            raise UsageError(f"{args.hub}: 不是县级共配中心的 JSON not a county hub JSON: {e}") from None
    with _client(args) as client:
        report = client.get_progress(as_of=args.as_of, stations=stations, programme=args.programme, hub=hub)
    _emit(args, report, table.progress_report)
    if args.report is not None:
        args.report.write_text(html.progress_report(report), encoding="utf-8")
    return OK if progress_passed(report, hub_judged=hub is not None) and not bad else FAILED


def _emit(args: argparse.Namespace, message: M, render: Callable[[M], str]) -> None:
    """The answer as JSON (--format json) or as the table people read, to --out or stdout."""
    with _output(args.out) as out:
        if args.format == "json":
            out.write(_json(message))
            out.write("\n")
        else:
            out.write(render(message))


def progress_passed(report: progress_pb2.ProgressReport, hub_judged: bool) -> bool:
    """The county verdict and every township passing (warnings allowed), and the county hub when
    one was sent. The county verdict holds only the county rules: a township behind its own
    target fails itself (docs/progress.md), so it must be looked at on its own. Without `--hub`
    the server reports the hub INCOMPLETE (nothing to judge); that is not what was asked."""
    verdicts = [report.verdict.outcome, *(t.outcome for t in report.townships)]
    if hub_judged:
        verdicts.append(report.hub.outcome)
    return all(outcome_key(v) in PASSED for v in verdicts)


# ---- rules, template


def _rules(args: argparse.Namespace) -> int:
    with _client(args) as client:
        response = client.list_rules(subject=args.subject)
    _emit(args, response, table.rules_table)
    return OK


def _template(args: argparse.Namespace) -> int:
    if args.out is None:
        sys.stdout.write(template.csv_text(args.what, args.lang, not args.empty))
        return OK
    if args.out.suffix.lower() not in (".csv", ".xlsx"):
        raise UsageError(f"{args.out}: 模板只能写成 .csv 或 .xlsx")
    template.write(args.what, args.out, args.lang, not args.empty)
    return OK


# ---- data: the reference data (roster, products, platforms, brands, rates)


def _data_export(args: argparse.Namespace) -> int:
    with _client(args) as client:
        data = client.get_reference_data(args.version)
    reference.write(data, args.out)
    print(
        f"基础数据第 {data.get('version')} 版已写入 {args.out} (reference data version {data.get('version')} written)"
    )
    return OK


def _data_import(args: argparse.Namespace) -> int:
    if not args.reason.strip():
        raise UsageError("--reason: 请说明修改原因 (say why the data changes)")
    try:
        data = reference.read(args.file)
    except reference.ReferenceFileError as e:
        raise UsageError(str(e)) from None
    with _client(args) as client:
        answer = client.import_reference_data(data, args.reason)
    print(answer.info.version)
    print(
        f"基础数据已更新：第 {answer.previous_version} 版 → 第 {answer.info.version} 版，"
        f"{answer.cases_passed} 个黄金用例通过"
        f" (reference data version {answer.previous_version} -> {answer.info.version},"
        f" {answer.cases_passed} golden cases passed)",
        file=sys.stderr,
    )
    return OK


def _data_history(args: argparse.Namespace) -> int:
    with _client(args) as client:
        history = client.list_reference_versions()
    if args.format == "json":
        print(_json(history))
        return OK
    print("版本 version\t时间 when (UTC)\t修改人 who\t内容 hash\t原因 why")
    for v in history.versions:
        print(f"{v.version}\t{v.created_at}\t{v.author}\t{v.content_hash}\t{v.reason}")
    return OK


# ---- signcode: the county's decision on a sign code two operators registered


def _signcode_resolve(args: argparse.Namespace) -> int:
    if not args.reason.strip():
        raise UsageError("--reason: 请说明裁定理由 (say why the county decides so)")
    with _client(args) as client:
        answer = client.resolve_sign_code(args.county, args.code, args.operator, args.reason)
    if args.format == "json":
        print(_json(answer))
        return OK
    a = answer.award
    print(f"编号 {a.sign_code}（{a.county}）已裁定给 {a.operator} (sign code {a.sign_code} awarded to {a.operator})")
    if answer.HasField("previous"):
        print(
            f"原裁定 previously: {answer.previous.operator}（{answer.previous.awarded_at}，{answer.previous.author}）"
        )
    print("运营企业 operator\t站点 station\t结果 from now on")
    for h in answer.holders:
        fate = "通过 passes" if h.operator == a.operator else "STN-SIGN-CODE-AWARDED"
        print(f"{h.operator}\t{h.station_id}\t{fate}")
    return OK


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Registers the client subcommands on `ruralpost`'s parser (next to `serve`)."""
    p = sub.add_parser(
        "check",
        help="check a station list (.csv, .tsv/.txt, .json, .jsonl, .xlsx) through CheckStations",
        description="Check every station of a file; exit 0 all passed, 1 any did not, 2 usage or connection error.",
    )
    p.add_argument(
        "file",
        type=Path,
        help="station list: .csv, .tsv/.txt (tab-separated, e.g. Excel's Unicode text), .json, .jsonl "
        "or .xlsx (see `ruralpost template`); the encoding is found (UTF-8, UTF-16, GBK)",
    )
    p.add_argument("--as-of", type=_date, help="evaluation date YYYY-MM-DD (default: the server's today)")
    p.add_argument("--register", action="store_true", help="store the stations in the county registry")
    p.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="table: summary by outcome and rule; csv/json: one row per station with its reasons",
    )
    p.add_argument("--out", type=Path, help="write the output here instead of stdout")
    p.add_argument("--report", type=Path, help="also write a printable HTML report (PATH.html)")
    p.add_argument(
        "--detail-limit",
        type=int,
        default=1000,
        help="stations not passing listed in the HTML report (default %(default)s)",
    )
    _connection(p)
    p.set_defaults(run=_guarded(_check))

    p = sub.add_parser("claim", help="evaluate a subsidy claim (dry run unless --commit)")
    p.add_argument(
        "file",
        type=Path,
        help="a claim as .json (or a list; .jsonl one per line), or parcels as .csv, .tsv/.txt, "
        ".xlsx, or .json/.jsonl rows",
    )
    p.add_argument("--commit", action="store_true", help="record the eligible waybills as paid")
    p.add_argument(
        "--accept-provisional-rates",
        action="store_true",
        help="with --commit: accept that the amount rests on rates still marked provisional (接受暂定补贴标准)",
    )
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--out", type=Path, help="write the output here instead of stdout")
    g = p.add_argument_group("claim fields (for a parcel list; override a JSON claim's own)")
    g.add_argument("--claim-id")
    g.add_argument("--programme")
    g.add_argument("--operator")
    g.add_argument("--kind", help="UPBOUND_AGRICULTURAL (上行) or DOWNBOUND_PARCEL (下行)")
    g.add_argument("--period", help="YYYY-MM")
    g.add_argument("--township")
    g.add_argument("--declared-pieces", type=int)
    g.add_argument("--requested-amount-fen", type=int)
    _connection(p)
    p.set_defaults(run=_guarded(_claim))

    p = sub.add_parser("progress", help="filing progress per township (GetProgress)")
    p.add_argument("--as-of", type=_date, required=True, help="YYYY-MM-DD")
    p.add_argument("--stations", type=Path, help="stations to count (default: the registry)")
    p.add_argument("--programme", default="", help="programme id (default: the server's only one)")
    p.add_argument("--hub", type=Path, help="the county hub as JSON (CountyHub)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--out", type=Path)
    p.add_argument("--report", type=Path, help="also write a printable HTML report (PATH.html)")
    _connection(p)
    p.set_defaults(run=_guarded(_progress))

    p = sub.add_parser("rules", help="the active rules (ListRules) as a table")
    p.add_argument("--subject", default="", help="station, county_hub, progress, township, claim, parcel")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--out", type=Path)
    _connection(p)
    p.set_defaults(run=_guarded(_rules))

    p = sub.add_parser("template", help="a blank station or parcel list with example rows")
    p.add_argument("what", choices=("stations", "parcels"))
    p.add_argument("--out", type=Path, help=".csv or .xlsx (default: CSV on stdout)")
    p.add_argument(
        "--lang",
        choices=("both", "zh", "en"),
        default="both",
        help="headers: 中文/English (default), Chinese or English only",
    )
    p.add_argument("--empty", action="store_true", help="header only, no example rows")
    p.set_defaults(run=_guarded(_template), server="")

    data = sub.add_parser("data", help="the reference data: roster, products, platforms, brands, rates (基础数据)")
    actions = data.add_subparsers(dest="action", required=True)
    p = actions.add_parser("export", help="write the reference data to a file")
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help=".json (whole), .xlsx (a sheet per table), or a folder (a .csv per table)",
    )
    p.add_argument("--version", type=int, default=0, help="a past version (default: the current one)")
    _connection(p)
    p.set_defaults(run=_guarded(_data_export))
    p = actions.add_parser("import", help="replace the tables a file holds (admin); prints the new version")
    p.add_argument("file", type=Path, help=".json, .xlsx or a folder of <table>.csv, as `data export` writes them")
    p.add_argument("--reason", required=True, help="why the data changes (kept with the version)")
    _connection(p)
    p.set_defaults(run=_guarded(_data_import))
    p = actions.add_parser("history", help="every version: who, when, why")
    p.add_argument("--format", choices=("table", "json"), default="table")
    _connection(p)
    p.set_defaults(run=_guarded(_data_history))

    code = sub.add_parser("signcode", help="sign codes two operators registered (编号争议): the county decides")
    actions = code.add_subparsers(dest="action", required=True)
    p = actions.add_parser("resolve", help="award a disputed sign code to one operator (admin; ResolveSignCode)")
    p.add_argument("--county", required=True, help="the county (静乐县) or its code (140926)")
    p.add_argument("--code", required=True, help="the sign code, e.g. XZ0004")
    p.add_argument("--operator", required=True, help="the operator awarded the code (one whose station shows it)")
    p.add_argument("--reason", required=True, help="why the county decides so (kept with the decision)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    _connection(p)
    p.set_defaults(run=_guarded(_signcode_resolve))
