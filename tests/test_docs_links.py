"""The repository explains itself: nothing cites a document, an issue or a folder a clone lacks.

Every tracked file is read for citations of a design note (an upper-case Markdown name) or a
`docs/` page that is not in the repository, of the notes folder beside a checkout, of a tracker's issue
number, and of a machine path; every relative link of the Markdown files must reach a file (and
its `#anchor` a heading). Each finding names the file and the line.
"""

from __future__ import annotations

import posixpath
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.support import ROOT

# An upper-case Markdown name (a note such as the design's contract or catalogue), a docs/ page,
# the folder of notes beside a checkout, an issue number, a path on the build machine.
_NOTE = re.compile(r"(?<![\w/.-])([A-Z][A-Z0-9_-]*\.md)\b")
_DOCS_PAGE = re.compile(r"(?<![\w/.-])(docs/[\w./-]+\.md)\b")
_OUTSIDE = re.compile(r"\.\./shared\b")
_ISSUE = re.compile(r"\bissues? +#?\d+\b", re.IGNORECASE)
_MACHINE = re.compile(r"(?<![\w.~-])/wor" r"k/")  # in two parts, so this line is no finding

_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_FENCE = re.compile(r"^(```|~~~)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def tracked_files() -> list[str]:
    """The files a clone holds (and new ones not ignored), as git lists them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted(name for name in listed.split("\0") if name and (ROOT / name).is_file())


def _text(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data:
        return None  # an image or another binary file
    return data.decode("utf-8", errors="replace")


def outside_citations(name: str, text: str, present: set[str]) -> list[str]:
    """`file:line: what` for every citation in `text` of something the repository does not hold."""
    basenames = {p.rsplit("/", 1)[-1] for p in present}
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{name}:{number}"
        found += [f"{where}: cites {m} (not in the repository)" for m in _NOTE.findall(line) if m not in basenames]
        found += [f"{where}: cites {m} (no such page)" for m in _DOCS_PAGE.findall(line) if m not in present]
        found += [f"{where}: cites the notes folder outside the repository" for _ in _OUTSIDE.findall(line)]
        found += [f"{where}: cites an issue ({m.strip()}): say the thing itself" for m in _ISSUE.findall(line)]
        found += [f"{where}: names a machine path outside the repository" for _ in _MACHINE.findall(line)]
    return found


def slug(heading: str) -> str:
    """The anchor a Markdown renderer (GitHub's rule) gives a heading."""
    text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _lines_outside_fences(text: str) -> Iterable[tuple[int, str]]:
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line.strip()):
            fenced = not fenced
        elif not fenced:
            yield number, line


def anchors(text: str) -> set[str]:
    return {slug(m.group(1)) for _, line in _lines_outside_fences(text) if (m := _HEADING.match(line))}


def broken_links(name: str, text: str, read: dict[str, str]) -> list[str]:
    """`file:line: link` for every relative link of a Markdown file whose target or anchor is missing.

    `read` maps repository paths to the text of the Markdown files, for their anchors."""
    found = []
    base = posixpath.dirname(name)
    for number, line in _lines_outside_fences(text):
        for target in _LINK.findall(re.sub(r"`[^`]*`", "", line)):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            resolved = posixpath.normpath(posixpath.join(base, path)) if path else name
            if resolved.startswith("..") or (not (ROOT / resolved).exists() and resolved not in read):
                found.append(f"{name}:{number}: link to {target}: no such file")
            elif anchor and resolved.endswith(".md") and anchor not in anchors(read.get(resolved, "")):
                found.append(f"{name}:{number}: link to {target}: no such heading")
    return found


@pytest.fixture(scope="module")
def repository() -> dict[str, str | None]:
    try:
        names = tracked_files()
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.fail(f"git cannot list the tracked files: {e}")
    return {name: _text(ROOT / name) for name in names}


def test_nothing_cites_what_a_clone_lacks(repository: dict[str, str | None]) -> None:
    present = set(repository)
    found = [f for name, text in repository.items() if text is not None for f in outside_citations(name, text, present)]
    assert not found, "\n".join(found)


def test_every_markdown_link_reaches_its_file_and_heading(repository: dict[str, str | None]) -> None:
    markdown = {name: text for name, text in repository.items() if name.endswith(".md") and text is not None}
    assert "README.md" in markdown and "docs/architecture.md" in markdown
    found = [f for name, text in markdown.items() for f in broken_links(name, text, markdown)]
    assert not found, "\n".join(found)


# ---- the checks themselves catch what they are for (built from parts, so this file cites nothing)

_NOTE_NAME = "RULES" + ".md"
_ISSUE_TEXT = "iss" + "ue #" + "14"


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (f"# Counting follows {_NOTE_NAME} (revision 2)", f"cites {_NOTE_NAME}"),
        (f"the check itself ({_ISSUE_TEXT}).", "cites an issue"),
        ("see `../" + "shared/design/notes.txt`", "notes folder"),
        ("read docs/" + "nowhere.md first", "no such page"),
        ("data in /" + "work/main/var", "machine path"),
    ],
)
def test_a_citation_of_what_is_missing_is_named_with_its_line(line: str, why: str) -> None:
    found = outside_citations("ruralpost/x.py", f"first line\n{line}\n", {"README.md", "docs/rules.md"})
    assert len(found) == 1 and found[0].startswith("ruralpost/x.py:2: ") and why in found[0], found


def test_citations_of_what_the_repository_holds_pass() -> None:
    text = "see docs/rules.md and README.md; upstream jruizgit/rules#222; var/work/ is relative"
    assert outside_citations("x.py", text, {"README.md", "docs/rules.md"}) == []


def test_a_broken_link_or_anchor_is_named() -> None:
    read = {"docs/api.md": "# The API\n\n## Planned (not yet available)\n", "README.md": "## Installing\n"}
    page = (
        "[ok](api.md#planned-not-yet-available) [up](../README.md#installing) [web](https://example.org/x)\n"
        "[gone](gone.md) [bad anchor](api.md#nothing) [self](#the-api)\n"
        "```\n[in a code block](ignored.md)\n```\n"
    )
    found = broken_links("docs/api.md", page, read)
    assert found == [
        "docs/api.md:2: link to gone.md: no such file",
        "docs/api.md:2: link to api.md#nothing: no such heading",
    ], found


def test_headings_slug_as_a_renderer_makes_them() -> None:
    assert slug("Planned (not yet available)") == "planned-not-yet-available"
    assert slug("The way of `CheckStation`") == "the-way-of-checkstation"
    assert slug("2. unary: `unary_ratio`, p50, p99") == "2-unary-unary_ratio-p50-p99"
