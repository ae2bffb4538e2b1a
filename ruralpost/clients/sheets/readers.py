"""Reading submissions lazily, one row at a time: CSV (and tab-separated text), JSON, JSON Lines, Excel.

A text file's encoding is found, not assumed: a BOM (UTF-8, UTF-16), else the whole file must
decode as UTF-8, else as GB18030 (a superset of GBK: what Excel and WPS save on Chinese Windows).
The decision is made on the whole file before the first row is handed on, so a file is read to its
end or refused with the line where it stops decoding, never cut short at the first odd byte.

Rows keep the number a person sees: the spreadsheet row (header = row 1) for CSV and Excel, however
many text lines a quoted cell spans; the line for JSON Lines and JSON. `Rows.count` tallies the rows
of the file, the blank ones skipped and the ones handed on, so a report can say that nothing was
lost. Nothing here knows the column layout.

A file costs what its size says, not what it claims: an Excel workbook is refused from its zip
directory before it is parsed (too many parts, too much unzipped, a part squeezed like a zip bomb),
its rows are taken by their own numbers (a lone row numbered 20,000,000 is not twenty million
empty rows), and a row limit counts blank rows too and stops reading where it is reached.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ruralpost.clients.reports.labels import ENCODING_NAMES

SUFFIXES = (".csv", ".tsv", ".txt", ".json", ".jsonl", ".xlsx")
SUFFIX_LIST = ".csv、.tsv/.txt（制表符分隔的文本，如 Excel 的“Unicode 文本”）、.json、.jsonl 或 .xlsx"
_BLOCK = 1 << 20
# UTF-8 text found before a byte that is not UTF-8: more than this and the file mixes two
# encodings (read as GB18030 its UTF-8 part would come out garbled, so it is refused instead).
_MIXED_AFTER = 3
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# ---- what a file may cost (the client side's limits, in one place; the console adds its row limit)
EXCEL_MAX_ROW = 1_048_576  # Excel's own last row: a sheet numbering rows beyond it is not Excel's
XLSX_MAX_PARTS = 1_000  # zip members of a workbook (Excel writes a dozen or two)
XLSX_MAX_UNZIPPED = 256 * 1024 * 1024  # all parts unzipped (~145,000 rows of the station layout)
XLSX_MAX_SHARED_STRINGS = 64 * 1024 * 1024  # openpyxl holds the shared strings in memory at once
XLSX_MAX_RATIO = 100  # unzipped/zipped of one part over XLSX_RATIO_FROM (a sheet is ~16, a bomb ~1000)
XLSX_RATIO_FROM = 1024 * 1024


class ReadError(ValueError):
    """The file cannot be read at all (not a row problem)."""


class TooLarge(ReadError):
    """The file would cost more to read than the limits allow (the console answers 413)."""


class NoRows(ReadError):
    """A file with a header (or nothing) and no data rows: there is nothing to check."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{path}: 文件里没有数据行（只有表头或空行），没有可核验的 the file has no data rows (a header only)"
        )


@dataclass
class Row:
    number: int
    cells: dict[str, Any] = field(default_factory=dict)
    problem: str = ""  # set when the row itself could not be read (bad JSON line)
    line: int = 0  # CSV: the text line the row starts on (cells above may span lines)

    @property
    def where(self) -> str:
        """The text line, when an editor shows the row elsewhere than the spreadsheet does."""
        if self.line and self.line != self.number:
            return f"（文本第{self.line}行 text line {self.line}）"
        return ""


@dataclass
class Count:
    """What the reader saw, complete once the rows are read: `in_file == read + blank`."""

    in_file: int = 0  # data rows of the file (header excluded), blank ones included
    blank: int = 0  # blank rows, skipped
    read: int = 0  # rows handed on: with cells, or with the problem that kept them unread
    # column number (1-based) with an empty header cell -> the first row with data in it: that
    # data has no column to go to and is not checked (a header cell merged over two columns)
    unnamed: dict[int, int] = field(default_factory=dict)

    def note_unnamed(self, header: list[str], values: Sequence[object], number: int) -> None:
        for i, (name, value) in enumerate(zip(header, values, strict=False)):
            if not name and value is not None and str(value).strip():
                self.unnamed.setdefault(i + 1, number)


@dataclass
class Rows:
    """A file's header (None for JSON) and its rows, read as they are iterated."""

    path: Path
    header: list[str] | None
    rows: Iterator[Row]
    total_hint: int | None  # about how many rows, for the progress bar; None when unknown
    encoding: str = ""  # a key of ENCODING_NAMES for text files, "" for Excel
    count: Count = field(default_factory=Count)
    stopped: str = ""  # why reading stopped before the end (a row limit), "" when it did not

    def peek(self) -> Row | None:
        """The first row with cells (None when there is none); it and any unreadable rows before
        it are read again by the next iteration."""
        seen: list[Row] = []
        for row in self.rows:
            seen.append(row)
            if not row.problem:
                break
        self.rows = itertools.chain(seen, self.rows)
        return seen[-1] if seen and not seen[-1].problem else None


@dataclass(frozen=True)
class Gap:
    """Rows a sheet leaves out (blank to whoever opens it), before the row numbered `before`."""

    rows: int
    before: int


def _rows(
    path: Path,
    header: list[str] | None,
    items: Iterator[Row | Gap | None],
    hint: int | None,
    encoding: str,
    max_rows: int | None = None,
    count: Count | None = None,
) -> Rows:
    """Rows whose `count` follows the iteration; a reader yields None for a blank row and a Gap for
    rows a sheet leaves out. Past `max_rows` rows of the file (blank ones count: each costs a read)
    reading stops, with one last row saying so, and `stopped` says why."""
    count = count or Count()
    result = Rows(path, header, iter(()), hint, encoding, count)

    def tallied() -> Iterator[Row]:
        last = 1
        for item in items:
            blank = item.rows if isinstance(item, Gap) else 1
            if max_rows is not None and count.in_file + blank > max_rows:
                number = item.before if isinstance(item, Gap) else item.number if item else last + 1
                result.stopped = (
                    f"文件超过 {max_rows:,} 行的上限（空行也算），从第 {number:,} 行起没有读取、没有核验 "
                    f"(more than {max_rows:,} rows, blank ones included: rows from {number:,} on were not read)"
                )
                yield Row(number, problem=result.stopped)
                return
            count.in_file += blank
            if not isinstance(item, Row):
                count.blank += blank
                last = item.before - 1 if isinstance(item, Gap) else last + 1
                continue
            last = item.number
            count.read += 1
            yield item

    result.rows = tallied()
    return result


def kind_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ReadError(
            f"{path}: 不支持的文件类型 {suffix or '（无扩展名）'}，应为 {SUFFIX_LIST} "
            f"(unsupported file type; use .csv, .tsv/.txt, .json, .jsonl or .xlsx)"
        )
    return suffix


# ---- the encoding of a text file


@dataclass(frozen=True)
class Text:
    """A text file that decodes completely: its encoding and number of lines."""

    encoding: str
    lines: int


@dataclass(frozen=True)
class _Failure:
    encoding: str
    offset: int  # the first byte that does not decode
    line: int  # the text line it is on
    non_ascii: int  # non-ASCII characters decoded before it (capped)
    at_end: bool  # the file ends inside a character


def _decode(path: Path, encoding: str) -> Text | _Failure:
    """One pass over the whole file, in blocks: its lines, or where it stops decoding."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    lines = offset = non_ascii = 0
    last = ""
    with path.open("rb") as f:
        while True:
            block = f.read(_BLOCK)
            pending = decoder.getstate()[0]
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as e:
                # e.start counts from the bytes held back from the last block.
                before = (pending + block)[: e.start].decode(encoding, "replace")
                return _Failure(
                    encoding,
                    offset - len(pending) + e.start,
                    lines + _line_ends(before) + 1,
                    non_ascii + len(_NON_ASCII.findall(before)),
                    not block,
                )
            lines += _line_ends(text) - (1 if last == "\r" and text.startswith("\n") else 0)
            if non_ascii <= _MIXED_AFTER and not text.isascii():
                non_ascii += len(_NON_ASCII.findall(text))
            last = text[-1:] or last
            offset += len(block)
            if not block:
                break
    return Text(encoding, lines + (1 if last and last not in "\r\n" else 0))


def _line_ends(text: str) -> int:
    """Line ends as Python's text files split lines: \\n, \\r\\n and a lone \\r (old Mac CSV)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _not_text(head: bytes) -> str | None:
    """Why a file is not text at all, for the files people most often mistake for CSV."""
    if head.startswith(b"PK\x03\x04"):
        return "这是 Excel 工作簿（.xlsx），请把扩展名改为 .xlsx (an Excel workbook: name it .xlsx)"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "这是旧版 Excel（.xls），请在 Excel/WPS 中另存为 .xlsx 或 CSV (an old .xls workbook: save as .xlsx)"
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 without a BOM: ASCII text has a NUL in every other byte."""
    even, odd = head[0::2], head[1::2]
    if odd and odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even and even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def detect(path: Path) -> Text:
    """The encoding the whole file decodes in; ReadError saying where it does not."""
    with path.open("rb") as f:
        head = f.read(4096)
    why = _not_text(head)
    if why:
        raise ReadError(f"{path}: {why}")
    if head.startswith(codecs.BOM_UTF8):
        tries = ["utf-8-sig"]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        tries = ["utf-16"]
    elif b"\0" in head:
        utf16 = _utf16_without_bom(head)
        if utf16 is None:
            raise ReadError(f"{path}: 不是文本文件（含有 NUL 字节）not a text file (NUL bytes)")
        tries = [utf16]
    else:
        tries = ["utf-8", "gb18030"]
    failures: list[_Failure] = []
    for encoding in tries:
        result = _decode(path, encoding)
        if isinstance(result, Text):
            return result
        failures.append(result)
        if encoding == "utf-8" and result.non_ascii > _MIXED_AFTER and result.at_end:
            raise ReadError(
                f"{path}: 文件在第{result.line}行的一个字符中间结束，文件不完整？"
                f"(the file ends inside a character on line {result.line}: cut short?)"
            )
        if encoding == "utf-8" and result.non_ascii > _MIXED_AFTER:
            raise ReadError(
                f"{path}: 文件混用了两种编码：第{result.line}行之前是 UTF-8，第{result.line}行"
                f"（字节偏移 {result.offset}）起不是。请把整个文件另存为“CSV UTF-8”。(the file mixes encodings: "
                f"UTF-8 up to line {result.line}, something else from byte offset {result.offset}; "
                "save it all as CSV UTF-8)"
            )
    where = "；".join(f"不是 {ENCODING_NAMES[f.encoding]}（第{f.line}行，字节偏移 {f.offset}）" for f in failures)
    where_en = "; ".join(f"not {f.encoding} (line {f.line}, byte offset {f.offset})" for f in failures)
    raise ReadError(
        f"{path}: 无法识别文件的编码：{where}。请在 Excel/WPS 中另存为“CSV UTF-8”。"
        f"(cannot decode the file: {where_en}; save it as CSV UTF-8)"
    )


# ---- delimited text


class _Lines:
    """The file's lines as csv.reader takes them, counted, keeping the lines of the record being read."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines = iter(lines)
        self.count = 0
        self.record: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.count += 1
        self.record.append(line)
        return line

    def take(self) -> list[str]:
        taken, self.record = self.record, []
        return taken


def _unclosed(raw: list[str], delimiter: str) -> bool:
    """A record of several lines that ends inside quotes: an opening quote never closed swallowed
    the rest of the file (csv.reader then returns it as one row, silently). A record that closed
    is followed by a blank line as a record of its own; an unclosed one takes that line in too."""
    return len(raw) > 1 and sum(1 for _ in csv.reader([*raw, "\n"], delimiter=delimiter)) == 1


def _open_table(path: Path, text: Text) -> tuple[TextIO, _Lines, Iterator[list[str]], str]:
    """The open file, its lines as read, a csv reader over them and the delimiter."""
    f = path.open(encoding=text.encoding, newline="")
    first = f.readline()
    # Excel's "Unicode text" is tab-separated; a header holds no commas or tabs of its own.
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    lines = _Lines(itertools.chain([first], f) if first else [])
    return f, lines, csv.reader(lines, delimiter=delimiter), delimiter


def _table_rows(path: Path, text: Text, max_rows: int | None) -> Rows:
    # The header is read and the file closed; the rows open it again when they are read, so a
    # file refused for its header (or never read on) leaves nothing open.
    f, _, reader, delimiter = _open_table(path, text)
    with f:
        try:
            header = next(reader, None)
        except csv.Error as e:
            raise ReadError(f"{path}: 无法读取表头 cannot read the header: {e}") from None
    if header is None:
        raise ReadError(f"{path}: 文件是空的 the file is empty")
    count = Count()
    unnamed = not all(h.strip() for h in header)

    def rows() -> Iterator[Row | None]:
        f, lines, reader, _ = _open_table(path, text)
        with f:
            next(reader, None)  # the header, read above
            lines.take()
            number = 1
            while True:
                problem = ""
                try:
                    values = next(reader)
                except StopIteration:
                    break
                except csv.Error as e:
                    values, problem = [], f"无法读取这一行 unreadable row: {e}"
                number += 1
                raw = lines.take()
                start = lines.count - len(raw) + 1
                if not problem and _unclosed(raw, delimiter):
                    problem = (
                        f"引号没有闭合：从这一行到文件末尾的 {len(raw)} 行文本被读成了"
                        f"一行，都没有核验 (unclosed quote: the {len(raw)} text lines from line {start} "
                        "to the end of the file were read as one row, none of them checked)"
                    )
                if problem:
                    yield Row(number, problem=problem, line=start)
                    continue
                if not any(v.strip() for v in values):
                    yield None
                    continue
                if len(values) > len(header) and any(v.strip() for v in values[len(header) :]):
                    yield Row(
                        number,
                        problem=f"这一行有{len(values)}列，表头只有{len(header)}列"
                        f"（this row has {len(values)} columns, the header {len(header)}）",
                        line=start,
                    )
                    continue
                if unnamed:
                    count.note_unnamed(header, values, number)
                yield Row(number, dict(zip(header, values, strict=False)), line=start)
            if lines.count != text.lines:  # the file changed under us: say so, never stop quietly
                yield Row(
                    number + 1,
                    line=lines.count + 1,
                    problem=f"文件第{lines.count + 1}行起没有读到（读取时文件共{text.lines}行）"
                    f"(lines from {lines.count + 1} of {text.lines} were not read)",
                )

    return _rows(path, header, rows(), max(text.lines - 1, 0), text.encoding, max_rows, count)


# ---- JSON Lines and JSON


def _jsonl_rows(path: Path, text: Text, max_rows: int | None) -> Rows:
    def rows() -> Iterator[Row | None]:
        with path.open(encoding=text.encoding) as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    yield None
                    continue
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as e:
                    yield Row(number, problem=f"不是合法的 JSON：{e.msg}（第{e.colno}个字符）invalid JSON")
                    continue
                except RecursionError:
                    yield Row(number, problem=_TOO_DEEP)
                    continue
                if not isinstance(data, dict):
                    yield Row(number, problem="应为一个 JSON 对象 expected a JSON object")
                    continue
                yield Row(number, data)

    return _rows(path, None, rows(), text.lines, text.encoding, max_rows)


_SPACE = re.compile(r"[ \t\r\n]*")
_TOO_DEEP = "JSON 嵌套过深，不是站点或申报的数据 (JSON nested too deeply: not stations or claims)"


def _skip(content: str, at: int) -> int:
    match = _SPACE.match(content, at)
    assert match is not None
    return match.end()


class _LineAt:
    """Line numbers of increasing offsets in one string, counted once."""

    def __init__(self, content: str) -> None:
        self.content, self.at, self.line = content, 0, 1

    def __call__(self, offset: int) -> int:
        self.line += self.content.count("\n", self.at, offset)
        self.at = offset
        return self.line


def _element_starts(content: str, at: int) -> Iterator[int]:
    """Where each element of the (valid) JSON array at content[at] == "[" starts."""
    decoder = json.JSONDecoder()
    at = _skip(content, at + 1)
    while content[at] != "]":
        yield at
        _, at = decoder.raw_decode(content, at)
        at = _skip(content, at)
        if content[at] == ",":
            at = _skip(content, at + 1)


def _member_start(content: str, at: int, key: str) -> int:
    """Where the value of `key` in the (valid) JSON object at content[at] == "{" starts (the
    last one, as json.loads keeps)."""
    decoder = json.JSONDecoder()
    found = -1
    at = _skip(content, at + 1)
    while content[at] != "}":
        name, at = decoder.raw_decode(content, at)
        at = _skip(content, _skip(content, at) + 1)  # past the colon
        if name == key:
            found = at
        _, at = decoder.raw_decode(content, at)
        at = _skip(content, at)
        if content[at] == ",":
            at = _skip(content, at + 1)
    return found


def _json_rows(path: Path, text: Text, list_key: str, max_rows: int | None) -> Rows:
    """One object, an array of them, or `{list_key: [...]}`; each row numbered by the line it starts on."""
    content = path.read_text(encoding=text.encoding)
    try:
        data = json.loads(content)
    except json.JSONDecodeError as e:
        raise ReadError(
            f"{path}: 不是合法的 JSON（第{e.lineno}行第{e.colno}个字符）：{e.msg} (invalid JSON at line {e.lineno})"
        ) from None
    except RecursionError:
        raise ReadError(f"{path}: {_TOO_DEEP}") from None
    line_at = _LineAt(content)
    start = _skip(content, 0)
    entries: list[Any]
    if isinstance(data, list):
        entries, starts = data, list(_element_starts(content, start))
    elif isinstance(data, dict) and isinstance(data.get(list_key), list):
        others = [k for k in data if k != list_key]
        if others:
            raise ReadError(
                f"{path}: 除“{list_key}”外不认识 {', '.join(others)} "
                f"(unknown keys beside {list_key!r}: {', '.join(others)})"
            )
        entries = data[list_key]
        starts = list(_element_starts(content, _member_start(content, start, list_key)))
    else:
        entries, starts = [data], [start]
    numbers = [line_at(s) for s in starts]

    def rows() -> Iterator[Row | None]:
        for number, entry in zip(numbers, entries, strict=True):
            if isinstance(entry, dict):
                yield Row(number, entry)
            else:
                yield Row(number, problem="应为一个 JSON 对象 expected a JSON object")

    return _rows(path, None, rows(), len(entries), text.encoding, max_rows)


# ---- Excel


def _check_zip(path: Path) -> None:
    """Refuses a workbook from its zip directory, before a byte is unzipped. The sizes it declares
    hold: Python's zipfile stops each part at its declared size (and a part cut short fails its CRC)."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise ReadError(
            f"{path}: 不是 Excel 工作簿（.xlsx 是 zip 文件）：是不是把 CSV 文件改成了 .xlsx 扩展名？"
            "(not an Excel workbook: an .xlsx is a zip file; a CSV renamed .xlsx?)"
        ) from None
    unzipped = sum(p.file_size for p in parts)
    if len(parts) > XLSX_MAX_PARTS:
        raise TooLarge(
            f"{path}: 工作簿含 {len(parts):,} 个部件，上限 {XLSX_MAX_PARTS:,}，不像 Excel 保存的文件 "
            f"(the workbook holds {len(parts):,} parts, at most {XLSX_MAX_PARTS:,} are read)"
        )
    if unzipped > XLSX_MAX_UNZIPPED:
        raise TooLarge(
            f"{path}: 工作簿解压后 {unzipped / 2**20:,.0f} MB，上限 {XLSX_MAX_UNZIPPED / 2**20:,.0f} MB；"
            f"请拆分文件或另存为 CSV (the workbook unzips to {unzipped / 2**20:,.0f} MB, "
            f"at most {XLSX_MAX_UNZIPPED / 2**20:,.0f} MB: split it or save it as CSV)"
        )
    for part in parts:
        squeezed = part.file_size > XLSX_RATIO_FROM and part.file_size > XLSX_MAX_RATIO * max(part.compress_size, 1)
        strings = part.filename.endswith("sharedStrings.xml") and part.file_size > XLSX_MAX_SHARED_STRINGS
        if squeezed or strings:
            raise TooLarge(
                f"{path}: 工作簿的部件 {part.filename} 解压后 {part.file_size / 2**20:,.0f} MB"
                f"（压缩 {part.compress_size:,} 字节），不像 Excel 保存的文件，拒绝读取 "
                f"(the part {part.filename} unzips to {part.file_size / 2**20:,.0f} MB from "
                f"{part.compress_size:,} bytes: not a workbook Excel saves, refused)"
            )


def _sheet_rows(sheet: Any) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(row number, values) of the rows the sheet's XML holds. openpyxl's iter_rows would make an
    empty row for every number a sheet skips (twenty million for one row numbered 20,000,000) and
    would drop rows beyond the sheet's declared dimension; its own parser does neither."""
    from openpyxl.worksheet._reader import WorkSheetParser  # type: ignore[import-untyped, unused-ignore]

    book = sheet.parent
    with sheet._get_source() as source:
        parser = WorkSheetParser(
            source,
            sheet._shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        for number, cells in parser.parse():
            yield number, sheet._get_row(cells, values_only=True)


def _open_book(path: Path) -> Any:
    """The workbook, read-only, once its zip directory says it is worth opening (`_check_zip`)."""
    import openpyxl  # type: ignore[import-untyped, unused-ignore]
    from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped, unused-ignore]

    _check_zip(path)
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise ReadError(f"{path}: 无法读取 Excel 文件 (cannot read the workbook)：{e}") from None


def _sheet_table(path: Path, book: Any, sheet: Any, max_rows: int | None, close: bool, what: str) -> Rows:
    """The rows of one sheet of an open workbook; `close`: the book closes when they are read."""
    try:
        it = _sheet_rows(sheet)
        first = next(it, None)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise ReadError(f"{path}: 无法读取 Excel 文件 (cannot read the workbook)：{e}") from None
    if first is None:
        raise ReadError(f"{path}: {what}是空的 (the sheet is empty)")
    header_row, values = first
    header = ["" if v is None else str(v).strip() for v in values]
    # a header whose last cells are empty (merged group titles) is as wide as the sheet says
    header += [""] * ((sheet.max_column or 0) - len(header))
    total = sheet.max_row - header_row if sheet.max_row else None
    count = Count()
    unnamed = not all(header)

    def rows() -> Iterator[Row | Gap | None]:
        previous = header_row
        try:
            for number, values in it:
                if number > previous + 1:
                    yield Gap(number - previous - 1, number)
                if number > EXCEL_MAX_ROW or number <= previous:
                    yield Row(
                        number,
                        problem=f"工作表的行号 {number:,} 不对（Excel 最多 {EXCEL_MAX_ROW:,} 行，且行号递增），"
                        f"从这里起没有读取 (row number {number:,} is not one Excel writes: the rest was not read)",
                    )
                    return
                previous = number
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                    yield None
                    continue
                cells = {h: v for h, v in zip(header, values, strict=False) if h and v is not None}
                extra = [v for v in values[len(header) :] if v is not None]
                if extra:
                    yield Row(
                        number, problem=f"这一行有超出表头的数据（{len(values)}列）data beyond the header's columns"
                    )
                    continue
                if unnamed:
                    count.note_unnamed(header, values, number)
                yield Row(number, cells)
        except (zipfile.BadZipFile, OSError, ValueError, KeyError) as e:
            yield Row(previous + 1, problem=f"工作表从这里起读不下去 (the sheet cannot be read from here on)：{e}")
        finally:
            if close:
                book.close()

    return _rows(path, header, rows(), total, "", max_rows, count)


def _xlsx_rows(path: Path, max_rows: int | None) -> Rows:
    book = _open_book(path)
    try:
        return _sheet_table(path, book, book.worksheets[0], max_rows, True, "第一个工作表")
    except BaseException:
        book.close()
        raise


class Workbook:
    """A workbook read sheet by sheet (one sheet per table), with the same limits as `open_rows`:
    refused from its zip directory before it is parsed, rows taken by their own numbers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.book = _open_book(path)
        self.names: list[str] = list(self.book.sheetnames)

    def rows(self, name: str, max_rows: int | None = None) -> Rows:
        return _sheet_table(self.path, self.book, self.book[name], max_rows, False, f"工作表“{name}”")

    def close(self) -> None:
        self.book.close()

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_rows(path: Path, list_key: str = "stations", max_rows: int | None = None) -> Rows:
    """The file's rows; `list_key` names the list a `.json` object may hold (`{"stations": [...]}`);
    past `max_rows` rows (blank ones included) reading stops (see `Rows.stopped`)."""
    suffix = kind_of(path)
    if path.is_dir():
        raise ReadError(f"{path}: 这是文件夹，不是文件 a folder, not a file")
    if not path.is_file():
        raise ReadError(f"{path}: 文件不存在 no such file")
    if suffix == ".xlsx":
        return _xlsx_rows(path, max_rows)
    text = detect(path)
    if suffix == ".jsonl":
        return _jsonl_rows(path, text, max_rows)
    if suffix == ".json":
        return _json_rows(path, text, list_key, max_rows)
    return _table_rows(path, text, max_rows)


def write_table(
    path: Path, header: list[str], rows: list[list[Any]], notes: list[list[str]] | None = None, sheet: str = "Sheet1"
) -> None:
    """Writes a small table as CSV (UTF-8 with BOM, so Excel shows Chinese) or .xlsx."""
    if path.suffix.lower() == ".xlsx":
        import openpyxl  # type: ignore[import-untyped, unused-ignore]

        book = openpyxl.Workbook()
        ws = book.active
        assert ws is not None
        ws.title = sheet
        ws.append(header)
        for r in rows:
            ws.append(r)
        if notes:
            info = book.create_sheet("填写说明")
            for n in notes:
                info.append(n)
        book.save(path)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")
