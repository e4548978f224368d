"""The article editor: real files in a private articles directory, a real index."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from kb.accounts import create_user
from kb.content import parse_article
from kb.content.revisions import ArticleRevision
from kb.content.store import ArticleFields, article_text
from kb.extensions import db
from kb.web.services import search_engine

from .conftest import FIXTURE_ARTICLES, STAFF_PASSWORD, csrf_token, log_in, page, textarea_text

WRITER = "writer@kb.example"


@pytest.fixture
def writer(writable_app):
    """A client logged in as a writer on the writable app."""
    with writable_app.app_context():
        create_user(WRITER, STAFF_PASSWORD, "writer")
    client = writable_app.test_client()
    assert log_in(client, WRITER).status_code == 302
    return client


@pytest.fixture
def articles_dir(writable_app) -> Path:
    return Path(writable_app.config["ARTICLES_DIR"])


def editor_form(response) -> dict[str, str]:
    """The values of the editor form as a browser would submit them."""
    html = page(response)
    form = html.select_one("form.editor-form")
    data = {field["name"]: field.get("value", "") for field in form.select("input[name]")}
    for textarea in form.select("textarea"):
        data[textarea["name"]] = textarea_text(form, textarea["name"])
    for select in form.select("select"):
        chosen = select.find("option", selected=True) or select.find("option")
        data[select["name"]] = chosen["value"]
    return data


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def revisions(app, key: str) -> list[ArticleRevision]:
    with app.app_context():
        rows = db.session.scalars(
            db.select(ArticleRevision)
            .where(ArticleRevision.article_key == key)
            .order_by(ArticleRevision.id)
        ).all()
        db.session.expunge_all()
        return rows


def search_keys(app, text: str, lang: str) -> list[str]:
    with app.test_request_context():
        return [hit.key for hit in search_engine().search(text, lang).hits]


def files_under(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and not path.name.startswith("kb.sqlite3")
    }


def save(client, lang: str, slug: str, **changes):
    url = f"/admin/articles/{lang}/{slug}"
    data = {**editor_form(client.get(url)), **changes}
    return client.post(url, data=data)


# Listing


def titles(response) -> list[str]:
    return [a.get_text(strip=True) for a in page(response).select(".article-table tbody td a")]


def test_articles_are_listed_and_filtered(writer, articles_dir):
    everything = titles(writer.get("/admin/articles"))
    assert len(everything) == 7
    arabic = page(writer.get("/admin/articles?lang=ar"))
    assert {row.select("td")[2].get_text() for row in arabic.select("tbody tr")} == {"العربية"}
    assert len(arabic.select("tbody tr")) == 3
    assert titles(writer.get("/admin/articles?lang=en&category=orders")) == ["Track your order"]
    assert titles(writer.get("/admin/articles?q=YOUR+Order")) == ["Track your order"]
    assert titles(writer.get("/admin/articles?q=track-order")) == ["تتبع طلبك", "Track your order"]
    assert titles(writer.get("/admin/articles?q=تتبع")) == ["تتبع طلبك"]
    assert titles(writer.get("/admin/articles?status=draft")) == ["Gift cards"]
    save(writer, "en", "reset-password", status="draft")
    drafts = titles(writer.get("/admin/articles?status=draft"))
    assert drafts == ["Gift cards", "Reset your password"]
    # Unknown filter values are ignored, never an error.
    assert len(titles(writer.get("/admin/articles?lang=xx&category=../x&status=gone"))) == 7


# Editing


def test_saving_writes_the_file_atomically_and_records_a_revision(
    writable_app, writer, articles_dir, monkeypatch
):
    path = articles_dir / "en" / "track-order.md"
    before = path.read_text(encoding="utf-8")
    replaced = []
    real_replace = os.replace

    def recording_replace(source, target):
        replaced.append((Path(source), Path(target)))
        real_replace(source, target)

    monkeypatch.setattr("kb.content.store.os.replace", recording_replace)
    response = save(
        writer,
        "en",
        "track-order",
        title="Track your parcel",
        tags="tracking, delivery",
        questions="where is my order\n\nwhen will my parcel come\n",
        body="Open **My orders**.\r\n\r\nEvery step is shown.",
    )
    assert response.status_code == 302
    assert response.location == "/admin/articles/en/track-order"
    expected = (
        "---\n"
        "title: Track your parcel\n"
        "lang: en\n"
        "summary: See where your parcel is and when it arrives.\n"
        "category: orders\n"
        "tags:\n- tracking\n- delivery\n"
        "questions:\n- where is my order\n- when will my parcel come\n"
        f"updated: {today().isoformat()}\n"
        "related:\n- refund-timing\n"
        "---\n\n"
        "Open **My orders**.\n\nEvery step is shown.\n"
    )
    assert path.read_text(encoding="utf-8") == expected
    # Written beside the target and renamed over it; no temporary file is left behind.
    assert len(replaced) == 1
    source, target = replaced[0]
    assert target == path and source.parent == path.parent and not source.name.endswith(".md")
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []
    [revision] = revisions(writable_app, "en/track-order")
    assert (revision.author, revision.action) == (WRITER, "edit")
    assert (revision.content_before, revision.content_after) == (before, expected)
    assert "The article was saved." in writer.get(response.location).get_data(as_text=True)


def test_invalid_input_is_shown_next_to_the_fields_and_nothing_is_written(
    writable_app, writer, articles_dir
):
    before = files_under(articles_dir)
    response = save(
        writer,
        "en",
        "track-order",
        title="",
        category="Not A Slug",
        related="no-such-article",
        questions="\n".join(f"question {n}" for n in range(51)),
        summary="x" * 501,
        body="   ",
    )
    assert response.status_code == 400
    html = page(response)
    errors = {p["id"].removesuffix("-error"): p.get_text() for p in html.select(".field-error[id]")}
    assert set(errors) == {"title", "category", "questions", "summary", "body"}
    assert html.select_one("#title")["aria-invalid"] == "true"
    # What was typed is still there.
    assert textarea_text(html, "questions").startswith("question 0\nquestion 1")
    assert files_under(articles_dir) == before
    assert revisions(writable_app, "en/track-order") == []


def test_the_article_rules_refuse_unknown_related_articles_and_broken_links(
    writable_app, writer, articles_dir
):
    before = files_under(articles_dir)
    response = save(writer, "en", "track-order", related="refund-timing, no-such-article")
    assert response.status_code == 400
    assert "no-such-article" in page(response).select_one("#related-error").get_text()
    response = save(writer, "en", "track-order", body="See [this](/en/articles/missing-one).")
    assert response.status_code == 400
    assert "/en/articles/missing-one" in page(response).select_one("#body-error").get_text()
    assert files_under(articles_dir) == before


def test_a_saved_change_is_searchable_and_on_the_public_page_at_once(writable_app, writer):
    assert search_keys(writable_app, "hovercraft", "en") == []
    writer.get("/en/articles/track-order")  # the library has loaded the old text
    response = save(
        writer, "en", "track-order", body="Parcels may arrive by hovercraft on Fridays."
    )
    assert response.status_code == 302
    assert search_keys(writable_app, "hovercraft", "en") == ["en/track-order"]
    public = writable_app.test_client().get("/en/articles/track-order")
    assert "arrive by hovercraft" in public.get_data(as_text=True)


def test_an_arabic_change_is_searchable_at_once(writable_app, writer):
    response = save(writer, "ar", "track-order", body="يصل الطرد مع المندوب خلال ثلاثة أيام.")
    assert response.status_code == 302
    assert search_keys(writable_app, "المندوب", "ar")[0] == "ar/track-order"


def test_saving_an_unchanged_form_writes_nothing(writable_app, writer, articles_dir):
    before = files_under(articles_dir)
    response = save(writer, "en", "track-order")
    assert response.status_code == 302
    assert "Nothing changed." in writer.get(response.location).get_data(as_text=True)
    assert files_under(articles_dir) == before
    assert revisions(writable_app, "en/track-order") == []


@pytest.mark.parametrize("path", sorted(FIXTURE_ARTICLES.rglob("*.md")), ids=lambda p: p.stem)
def test_the_editor_round_trips_every_article_unchanged(path):
    article, problems = parse_article(path.read_text(encoding="utf-8"), path)
    assert problems == []
    text = article_text(article.lang, ArticleFields.of(article), article.updated)
    again, problems = parse_article(text, path)
    assert problems == []
    assert again == article
    assert text.startswith(f"---\ntitle: {article.title}\nlang: {article.lang}\n")


def test_a_concurrent_change_is_not_overwritten_silently(writer, articles_dir):
    path = articles_dir / "en" / "track-order.md"
    data = editor_form(writer.get("/admin/articles/en/track-order"))
    path.write_text(path.read_text(encoding="utf-8") + "\nAdded by hand.\n", encoding="utf-8")
    changed = path.read_text(encoding="utf-8")
    response = writer.post("/admin/articles/en/track-order", data={**data, "title": "Mine"})
    assert response.status_code == 400
    assert "changed this article since you opened it" in response.get_data(as_text=True)
    assert path.read_text(encoding="utf-8") == changed
    # The warning was seen: saving again replaces the other change.
    again = editor_form(response)
    assert again["title"] == "Mine"
    assert writer.post("/admin/articles/en/track-order", data=again).status_code == 302
    assert "title: Mine" in path.read_text(encoding="utf-8")


def test_the_editor_starts_from_the_file_even_before_the_library_sees_a_pull(writer, articles_dir):
    # Another server's edit arrived by `git pull`; `flask kb sync` has not run here yet, so
    # the library still holds the old text. Opening and saving must not undo that edit.
    assert "Track your order" in writer.get("/en/articles/track-order").get_data(as_text=True)
    path = articles_dir / "en" / "track-order.md"
    pulled = path.read_text(encoding="utf-8").replace(
        "title: Track your order", "title: Track your parcel"
    )
    assert pulled != path.read_text(encoding="utf-8")
    path.write_text(pulled, encoding="utf-8")
    data = editor_form(writer.get("/admin/articles/en/track-order"))
    assert data["title"] == "Track your parcel"
    response = writer.post("/admin/articles/en/track-order", data={**data, "summary": "Mine"})
    assert response.status_code == 302
    saved = path.read_text(encoding="utf-8")
    assert "title: Track your parcel" in saved and "summary: Mine" in saved


def test_an_expired_session_keeps_the_typed_text(writer, articles_dir):
    before = files_under(articles_dir)
    data = editor_form(writer.get("/admin/articles/en/track-order"))
    data.pop("csrf_token")
    response = writer.post("/admin/articles/en/track-order", data={**data, "body": "My new text"})
    assert response.status_code == 400
    html = page(response)
    assert textarea_text(html, "body") == "My new text"
    assert html.select_one("form.editor-form input[name=csrf_token]")["value"]
    assert files_under(articles_dir) == before


def test_a_long_article_is_accepted_beyond_the_customer_form_cap(writer, articles_dir):
    body = "\n\n".join("هذه فقرة طويلة من نص المقالة للتجربة." for _ in range(1500))
    assert len(body.encode()) > 64 * 1024
    assert save(writer, "ar", "track-order", body=body).status_code == 302
    assert body in (articles_dir / "ar" / "track-order.md").read_text(encoding="utf-8")
    too_long = save(writer, "ar", "track-order", body="x" * 100_001)
    assert too_long.status_code == 400


# Preview


def test_preview_button_without_javascript_keeps_everything_typed(writer, articles_dir):
    before = files_under(articles_dir)
    data = editor_form(writer.get("/admin/articles/en/track-order"))
    response = writer.post(
        "/admin/articles/en/track-order",
        data={**data, "title": "Draft title", "body": "## New heading\n\nSome *new* text",
              "action": "preview"},
    )  # fmt: skip
    assert response.status_code == 200
    html = page(response)
    assert html.select_one("#title")["value"] == "Draft title"
    assert textarea_text(html, "body") == "## New heading\n\nSome *new* text"
    preview = html.select_one("#preview-body")
    assert preview.select_one("h2").get_text() == "New heading"
    assert preview.select_one("em").get_text() == "new"
    assert files_under(articles_dir) == before


def test_preview_endpoint_returns_sanitised_html(writer):
    token = csrf_token(writer.get("/admin/articles/en/track-order"))
    body = (
        "# Title\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
        "[click](javascript:alert(1)) and [ok](https://example.com)"
    )
    response = writer.post("/admin/articles/preview", data={"body": body, "csrf_token": token})
    assert response.status_code == 200
    html = response.get_json()["html"]
    assert "<h1" in html and 'href="https://example.com"' in html
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html


def test_preview_endpoint_needs_a_csrf_token(writer):
    response = writer.post("/admin/articles/preview", data={"body": "# Hi"})
    assert response.status_code == 400
    header = {"X-CSRFToken": csrf_token(writer.get("/admin/articles/en/track-order"))}
    assert writer.post("/admin/articles/preview", data={"body": "# Hi"}, headers=header).is_json


# Creating


def test_a_new_article_is_created_where_the_design_says(writable_app, writer, articles_dir):
    form = editor_form(writer.get("/admin/articles/new?lang=ar"))
    assert form["lang"] == "ar" and form["status"] == "draft"
    response = writer.post(
        "/admin/articles/new",
        data={
            **form,
            "slug": "gift-wrap",
            "title": "تغليف الهدايا",
            "category": "orders",
            "status": "published",
            "questions": "هل يمكن تغليف الطلب كهدية",
            "body": "نعم، اختر **تغليف الهدية** عند الدفع.",
        },
    )
    assert response.status_code == 302
    assert response.location == "/admin/articles/ar/gift-wrap"
    path = articles_dir / "ar" / "orders" / "gift-wrap.md"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\ntitle: تغليف الهدايا\nlang: ar\n")  # no \u escapes
    [revision] = revisions(writable_app, "ar/gift-wrap")
    assert (revision.action, revision.content_before, revision.content_after) == (
        "create",
        None,
        text,
    )
    assert search_keys(writable_app, "تغليف", "ar")[0] == "ar/gift-wrap"
    assert writable_app.test_client().get("/ar/articles/gift-wrap").status_code == 200


def test_a_new_article_without_category_goes_to_general(writer, articles_dir):
    form = editor_form(writer.get("/admin/articles/new?lang=en"))
    data = {**form, "slug": "store-hours", "title": "Store hours", "body": "We are open 9-5."}
    assert writer.post("/admin/articles/new", data=data).status_code == 302
    assert (articles_dir / "en" / "general" / "store-hours.md").is_file()


def test_an_existing_article_cannot_be_created_again(writable_app, writer, articles_dir):
    before = files_under(articles_dir)
    form = editor_form(writer.get("/admin/articles/new?lang=en"))
    data = {**form, "slug": "track-order", "title": "Again", "body": "Text."}
    response = writer.post("/admin/articles/new", data=data)
    assert response.status_code == 400
    assert "already exists" in page(response).select_one("#slug-error").get_text()
    assert files_under(articles_dir) == before
    assert revisions(writable_app, "en/track-order") == []


def test_a_content_gap_question_starts_a_new_article(writer):
    response = writer.get(
        "/admin/articles/new", query_string={"lang": "ar", "question": "وين فلوسي"}
    )
    assert response.status_code == 200
    form = editor_form(response)
    assert form["lang"] == "ar"
    assert form["questions"] == "وين فلوسي"
    assert page(response).select_one("#questions")["dir"] == "auto"


# Publishing, revisions


def test_unpublishing_hides_the_article_and_publishing_brings_it_back(writable_app, writer):
    token = csrf_token(writer.get("/admin/articles/en/track-order"))
    public = writable_app.test_client()
    assert "en/track-order" in search_keys(writable_app, "track order", "en")
    response = writer.post(
        "/admin/articles/en/track-order/status", data={"status": "draft", "csrf_token": token}
    )
    assert response.status_code == 302
    assert "en/track-order" not in search_keys(writable_app, "track order", "en")
    assert public.get("/en/articles/track-order").status_code == 404
    assert "Track your order" in titles(writer.get("/admin/articles?status=draft"))
    writer.post(
        "/admin/articles/en/track-order/status", data={"status": "published", "csrf_token": token}
    )
    assert "en/track-order" in search_keys(writable_app, "track order", "en")
    assert public.get("/en/articles/track-order").status_code == 200
    assert [r.action for r in revisions(writable_app, "en/track-order")] == [
        "unpublish",
        "publish",
    ]


def test_an_earlier_revision_can_be_restored(writable_app, writer, articles_dir):
    path = articles_dir / "en" / "track-order.md"
    original = path.read_text(encoding="utf-8")
    save(writer, "en", "track-order", body="First rewrite.")
    first = path.read_text(encoding="utf-8")
    save(writer, "en", "track-order", body="Second rewrite with zeppelins.")
    history = writer.get("/admin/articles/en/track-order/revisions")
    assert history.status_code == 200
    edits = revisions(writable_app, "en/track-order")
    token = csrf_token(history)
    response = writer.post(
        "/admin/articles/en/track-order/restore",
        data={"revision": edits[0].id, "csrf_token": token},
    )
    assert response.status_code == 302
    assert path.read_text(encoding="utf-8") == first
    restored = revisions(writable_app, "en/track-order")[-1]
    assert restored.action == "restore" and restored.content_after == first
    assert "en/track-order" not in search_keys(writable_app, "zeppelins", "en")
    assert edits[0].content_before == original
    # A revision of another article is not this article's to restore.
    writer.post("/admin/articles/en/gift-cards/restore", data={"revision": edits[1].id,
                                                                "csrf_token": token})  # fmt: skip
    assert "zeppelins" not in (articles_dir / "en" / "gift-cards.md").read_text(encoding="utf-8")


def test_the_revision_diff_is_escaped_and_keeps_each_line_direction(writer):
    save(writer, "ar", "track-order", body='سطر عربي جديد\n\n<img src=x onerror="alert(1)">')
    response = writer.get("/admin/articles/ar/track-order/revisions")
    html = page(response)
    added = [row.select_one(".diff-text").get_text() for row in html.select("tr.diff-added")]
    assert "سطر عربي جديد" in added
    assert '<img src=x onerror="alert(1)">' in added  # shown as text, not markup
    assert html.select("img") == []
    assert all(cell["dir"] == "auto" for cell in html.select(".diff-text"))
    assert html.select("tr.diff-removed")


# Language of the back office


def test_the_editor_speaks_the_browsers_language_not_the_articles(writer):
    english = page(writer.get("/admin/articles/ar/track-order"))
    assert english.html["lang"] == "en"
    assert english.select_one("#title")["dir"] == "auto"
    assert english.select_one("#preview-body")["dir"] == "rtl"
    arabic = page(writer.get("/admin/articles/en/track-order", headers={"Accept-Language": "ar"}))
    assert (arabic.html["lang"], arabic.html["dir"]) == ("ar", "rtl")
    assert arabic.select_one("#preview-body")["dir"] == "ltr"


# Access and path traversal


def test_anonymous_visitors_are_sent_to_the_login_page(writable_app):
    client = writable_app.test_client()
    for url in ("/admin/articles", "/admin/articles/en/track-order", "/admin/articles/new"):
        response = client.get(url)
        assert response.status_code == 302 and response.location.startswith("/admin/login")


TRAVERSALS = [
    "../x",
    "..%2fx",
    "..%2Fen%2Ftrack-order",
    "%2e%2e%2fx",
    "..\\x",
    "..%5cx",
    "%2fetc%2fpasswd",
    "/etc/passwd",
    "track-order%00",
    "track-order\x00",
    "\u2024\u2024%2fx",
    "\uff0e\uff0e%2fx",
    "\u2e2e\u2e2e%2fx",
    "track-order.md",
    "TRACK-ORDER",
    "track-order%0a",
]


def test_bad_article_addresses_are_not_found(writer):
    for bad in TRAVERSALS:
        for suffix in ("", "/revisions"):
            for url in (
                f"/admin/articles/en/{bad}{suffix}",
                f"/admin/articles/{bad}/track-order{suffix}",
            ):
                assert writer.get(url).status_code in (400, 404), url


def test_bad_addresses_cannot_write_anything(writable_app, writer, tmp_path):
    before = files_under(tmp_path)
    token = csrf_token(writer.get("/admin/articles/en/track-order"))
    data = {"csrf_token": token, "status": "draft", "revision": "1", "title": "x", "body": "x"}
    form = editor_form(writer.get("/admin/articles/new"))
    for bad in TRAVERSALS:
        for url in (f"/admin/articles/en/{bad}", f"/admin/articles/{bad}/track-order"):
            for target in (url, url + "/status", url + "/restore"):
                assert writer.post(target, data=data).status_code in (400, 404, 405), target
        for field in ("slug", "lang", "category"):
            new = {**form, "slug": "fine", "title": "T", "body": "B", field: bad}
            response = writer.post("/admin/articles/new", data=new)
            assert response.status_code == 400, (field, bad)
    assert files_under(tmp_path) == before
    assert revisions(writable_app, "en/fine") == []
