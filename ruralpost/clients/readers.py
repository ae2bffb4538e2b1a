"""Reading submissions lazily, one row at a time: CSV (and tab-separated text), JSON, JSON Lines, Excel.

A text file's encoding is found, not assumed: a BOM (UTF-8, UTF-16), else the whole file must
decode as UTF-8, else as GB18030 (a superset of GBK: what Excel and WPS save on Chinese Windows).
The decision is made on the whole file before the first row is handed on, so a file is read to its
end or refused with the line where it stops decoding, never cut short at the first odd byte.

Rows keep the number a person sees: the spreadsheet row (header = row 1) for CSV and Excel, however
many text lines a quoted cell spans; the line for JSON Lines and JSON. `Rows.count` tallies the rows
of the file, the blank ones skipped and the ones handed on, so a report can say that nothing was
lost. Nothing here knows the column layout.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUFFIXES = (".csv", ".tsv", ".txt", ".json", ".jsonl", ".xlsx")
SUFFIX_LIST = ".csv、.tsv/.txt（制表符分隔的文本，如 Excel 的“Unicode 文本”）、.json、.jsonl 或 .xlsx"
_BLOCK = 1 << 20
# UTF-8 text found before a byte that is not UTF-8: more than this and the file mixes two
# encodings (read as GB18030 its UTF-8 part would come out garbled, so it is refused instead).
_MIXED_AFTER = 3
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8（带 BOM）",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16LE",
    "utf-16-be": "UTF-16BE",
    "gb18030": "GB18030/GBK",
}


class ReadError(ValueError):
    """The file cannot be read at all (not a row problem)."""


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


def _rows(
    path: Path,
    header: list[str] | None,
    items: Iterator[Row | None],
    hint: int | None,
    encoding: str,
    count: Count | None = None,
) -> Rows:
    """Rows whose `count` follows the iteration; a reader yields None for a blank row."""
    count = count or Count()

    def tallied() -> Iterator[Row]:
        for item in items:
            count.in_file += 1
            if item is None:
                count.blank += 1
                continue
            count.read += 1
            yield item

    return Rows(path, header, tallied(), hint, encoding, count)


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


def _table_rows(path: Path, text: Text) -> Rows:
    f = path.open(encoding=text.encoding, newline="")
    first = f.readline()
    # Excel's "Unicode text" is tab-separated; a header holds no commas or tabs of its own.
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    lines = _Lines(itertools.chain([first], f) if first else [])
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as e:
        f.close()
        raise ReadError(f"{path}: 无法读取表头 cannot read the header: {e}") from None
    if header is None:
        f.close()
        raise ReadError(f"{path}: 文件是空的 the file is empty")
    lines.take()
    count = Count()
    unnamed = not all(h.strip() for h in header)

    def rows() -> Iterator[Row | None]:
        with f:
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

    return _rows(path, header, rows(), max(text.lines - 1, 0), text.encoding, count)


# ---- JSON Lines and JSON


def _jsonl_rows(path: Path, text: Text) -> Rows:
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
                if not isinstance(data, dict):
                    yield Row(number, problem="应为一个 JSON 对象 expected a JSON object")
                    continue
                yield Row(number, data)

    return _rows(path, None, rows(), text.lines, text.encoding)


_SPACE = re.compile(r"[ \t\r\n]*")


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


def _json_rows(path: Path, text: Text, list_key: str) -> Rows:
    """One object, an array of them, or `{list_key: [...]}`; each row numbered by the line it starts on."""
    content = path.read_text(encoding=text.encoding)
    try:
        data = json.loads(content)
    except json.JSONDecodeError as e:
        raise ReadError(
            f"{path}: 不是合法的 JSON（第{e.lineno}行第{e.colno}个字符）：{e.msg} (invalid JSON at line {e.lineno})"
        ) from None
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

    return _rows(path, None, rows(), len(entries), text.encoding)


# ---- Excel


def _xlsx_rows(path: Path) -> Rows:
    import openpyxl  # type: ignore[import-untyped, unused-ignore]
    from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped, unused-ignore]

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as e:
        raise ReadError(f"{path}: 无法读取 Excel 文件 cannot read the Excel file: {e}") from None
    sheet = book.worksheets[0]
    it = sheet.iter_rows(values_only=True)
    first = next(it, None)
    if first is None:
        book.close()
        raise ReadError(f"{path}: 第一个工作表是空的 the first sheet is empty")
    header = ["" if v is None else str(v).strip() for v in first]
    total = sheet.max_row - 1 if sheet.max_row else None
    count = Count()
    unnamed = not all(header)

    def rows() -> Iterator[Row | None]:
        try:
            for number, values in enumerate(it, start=2):
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
        finally:
            book.close()

    return _rows(path, header, rows(), total, "", count)


def open_rows(path: Path, list_key: str = "stations") -> Rows:
    """The file's rows; `list_key` names the list a `.json` object may hold (`{"stations": [...]}`)."""
    suffix = kind_of(path)
    if path.is_dir():
        raise ReadError(f"{path}: 这是文件夹，不是文件 a folder, not a file")
    if not path.is_file():
        raise ReadError(f"{path}: 文件不存在 no such file")
    if suffix == ".xlsx":
        return _xlsx_rows(path)
    text = detect(path)
    if suffix == ".jsonl":
        return _jsonl_rows(path, text)
    if suffix == ".json":
        return _json_rows(path, text, list_key)
    return _table_rows(path, text)


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
