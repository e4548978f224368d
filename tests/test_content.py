"""Article files: front matter validation, rendering and sanitising."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kb.content import (
    SynonymGroup,
    check_articles,
    load_articles,
    load_synonyms,
    parse_article,
    render_markdown,
)

from .conftest import FIXTURE_ARTICLES

VALID = """---
title: Track your order
lang: en
summary: Where is my parcel?
category: orders
tags: [tracking]
questions:
  - where is my order
updated: 2026-10-01
related: [refund-timing]
---

Open **My orders**.
"""


def write(directory: Path, relative: str, text: str) -> Path:
    path = directory / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_article_is_parsed_with_every_field():
    article, problems = parse_article(VALID, Path("articles/en/track-order.md"))
    assert problems == []
    assert article.key == "en/track-order"
    assert article.title == "Track your order"
    assert article.questions == ("where is my order",)
    assert article.updated == dt.date(2026, 10, 1)
    assert article.related == ("refund-timing",)
    assert "<strong>My orders</strong>" in article.html


@pytest.mark.parametrize(
    ("change", "message", "line"),
    [
        (("summary: Where is my parcel?", "summry: typo"), "unknown key 'summry'", 4),
        (("lang: en", "lang: fr"), "'lang' must be one of ar, en", 3),
        (("title: Track your order", "title: ''"), "'title' must be a non-empty text", 2),
        (("tags: [tracking]", "tags: tracking"), "'tags' must be a list", 6),
        (("updated: 2026-10-01", "updated: yesterday"), "'updated' must be a date", 9),
        (("category: orders", "category: Orders & more"), "'category' must be lower-case", 5),
        (("related: [refund-timing]", "related: [Refund Timing]"), "not a valid slug", 10),
        (("lang: en\n", ""), "missing required key 'lang'", 1),
    ],
)
def test_bad_front_matter_is_reported_with_file_and_line(change, message, line):
    path = Path("articles/en/track-order.md")
    article, problems = parse_article(VALID.replace(*change), path)
    assert article is None
    assert any(message in p.message and p.line == line for p in problems), problems
    assert str(problems[0]).startswith(f"{path}:")


def test_draft_status_and_bad_status():
    article, _ = parse_article(VALID.replace("updated:", "status: draft\nupdated:"), Path("x.md"))
    assert article.status == "draft" and not article.published
    _, problems = parse_article(VALID.replace("updated:", "status: hidden\nupdated:"), Path("x.md"))
    assert "'status' must be 'published' or 'draft'" in problems[0].message


def test_invalid_yaml_and_missing_front_matter_are_errors():
    _, problems = parse_article("---\ntitle: [unclosed\n---\nbody\n", Path("a.md"))
    assert "not valid YAML" in problems[0].message
    _, problems = parse_article("no front matter here\n", Path("a.md"))
    assert "missing front matter" in problems[0].message


def test_file_name_must_be_a_slug():
    _, problems = parse_article(VALID, Path("articles/en/Track Order.md"))
    assert "not a valid slug" in problems[0].message


def test_front_matter_cannot_run_code():
    text = VALID.replace("tags: [tracking]", "tags: !!python/object/apply:os.system ['true']")
    _, problems = parse_article(text, Path("a.md"))
    assert problems and "not valid YAML" in problems[0].message


def test_loading_finds_articles_recursively_and_rejects_duplicate_keys(tmp_path):
    write(tmp_path, "en/orders/track-order.md", VALID.replace("related: [refund-timing]\n", ""))
    write(tmp_path, "en/other/track-order.md", VALID.replace("related: [refund-timing]\n", ""))
    articles, problems = load_articles(tmp_path)
    assert [a.key for a in articles] == ["en/track-order"]
    assert "duplicate article en/track-order" in problems[0].message


def test_check_reports_unknown_related_and_broken_links(tmp_path):
    body = VALID + "\nSee [missing](/en/articles/no-such-article).\n"
    write(tmp_path, "en/track-order.md", body)
    _, problems = check_articles(tmp_path)
    messages = [p.message for p in problems]
    assert "'related' names 'refund-timing', which has no en article" in messages
    assert "broken link to /en/articles/no-such-article" in messages


def test_fixture_and_sample_articles_are_valid():
    for directory in (FIXTURE_ARTICLES, Path(__file__).parent.parent / "articles"):
        articles, problems = check_articles(directory)
        assert problems == [], problems
        assert articles


def test_sanitiser_removes_script_and_event_handlers_but_keeps_safe_markup():
    html = render_markdown(
        "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
        "[bad](javascript:alert(1)) [good](https://example.com) [mail](mailto:a@b.example)\n\n"
        "## Heading\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    assert 'href="https://example.com"' in html and 'href="mailto:a@b.example"' in html
    assert '<h2 id="heading">' in html and "<table>" in html


def test_arabic_headings_keep_arabic_ids():
    assert '<h2 id="طريقة-الدفع">' in render_markdown("## طريقة الدفع")


def test_synonym_groups_are_validated(tmp_path):
    write(
        tmp_path,
        "synonyms.yml",
        "groups:\n"
        "  - [refund, money back]\n"
        "  - [only-one]\n"
        "  - [Refund, x]\n"
        "  - {terms: [refund, استرداد], across_languages: true}\n"
        "  - {terms: [a, b], across: true}\n"
        "  - {terms: [c, d], across_languages: yes please}\n"
        "  - [استرداد, استرجاع]\n",
    )
    groups, problems = load_synonyms(tmp_path)
    assert groups[0] == SynonymGroup(("refund", "money back"))
    assert SynonymGroup(("refund", "استرداد"), across_languages=True) in groups
    assert SynonymGroup(("استرداد", "استرجاع")) in groups
    messages = [p.message for p in problems]
    assert "group 2 must list two or more terms" in messages
    assert "'refund' is in group 1 and group 3" in messages
    assert "group 5 has unknown key(s) across (allowed: terms, across_languages)" in messages
    assert "group 6: across_languages must be true or false" in messages
    assert len(messages) == 4  # a cross-language group may repeat words of plain groups
