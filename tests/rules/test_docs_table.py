"""docs/rules.md's rule table (rule, subject, severity, basis, citation) is the one the packs give."""

from __future__ import annotations

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.rulebook import catalogue, packs


def test_the_rule_table_in_the_docs_is_current() -> None:
    docs = catalogue.DOCS.read_text(encoding="utf-8")
    book = packs.load(DEFAULT_RULES_DIR)
    assert docs == catalogue.rendered(docs, book), "run: python -m ruralpost.service.rulebook.catalogue"


def test_the_table_names_every_rule_with_its_basis() -> None:
    book = packs.load(DEFAULT_RULES_DIR)
    table = catalogue.table(book)
    for rule in book.rules.values():
        assert f"| {rule.id} | {rule.subject} | " in table
    assert "| STN-HOURS-TEXT | station | WARNING | setting 设定 | 附件3 三 |" in table
