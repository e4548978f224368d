"""The article editor in a real browser: live preview while typing, save, and customers
find the new text at once. Runs on a private copy of the articles (the editor writes files)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest

from kb import create_app
from kb.accounts import create_user
from kb.extensions import db

from ..conftest import FIXTURE_ARTICLES, STAFF_PASSWORD, app_config, make_index
from .conftest import LiveApp, serve

pytestmark = pytest.mark.browser

WRITER = "writer@kb.example"
# What the writer types, and a word of it customers then search for.
NEW_TEXT = {
    "en": ("Parcels can also travel by hovercraft.", "hovercraft"),
    "ar": ("يمكن أيضا شحن الطرود بالمنطاد.", "المنطاد"),
}
LANGS = [pytest.param("en", id="en"), pytest.param("ar", id="ar")]


@pytest.fixture
def writable_live_app(tmp_path) -> Iterator[LiveApp]:
    """Like ``live_app``, on private copies of the articles and the index, with a writer."""
    articles = tmp_path / "articles"
    shutil.copytree(FIXTURE_ARTICLES, articles)
    index = make_index(articles, tmp_path / "index")
    app = create_app(app_config(tmp_path, ARTICLES_DIR=str(articles), INDEX_DIR=str(index)))
    with app.app_context():
        db.create_all()
        create_user(WRITER, STAFF_PASSWORD, "writer")
    with serve(app) as live:
        yield live


@pytest.mark.parametrize("lang", LANGS)
def test_a_writer_sees_the_live_preview_saves_and_customers_find_it(
    new_context, expect, writable_live_app, lang
):
    typed, word = NEW_TEXT[lang]
    context = new_context(
        viewport={"width": 1280, "height": 900},
        locale=lang,
        extra_http_headers={"Accept-Language": lang},
    )
    page = context.new_page()
    page.goto(writable_live_app.url("/admin/login"))
    page.locator("#email").fill(WRITER)
    page.locator("#password").fill(STAFF_PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/admin/")

    page.goto(writable_live_app.url(f"/admin/articles/{lang}/track-order"))
    expect(page.locator("html")).to_have_attribute("lang", lang)
    editor_url = page.url
    preview = page.locator("#preview-body")
    expect(preview).not_to_contain_text(typed)
    body = page.locator("#body")
    body.click()
    body.press("Control+End")
    body.press_sequentially("\n\n" + typed, delay=15)
    # The preview follows the typing without a page load (the URL and the form stay).
    expect(preview).to_contain_text(typed)
    assert page.url == editor_url
    expect(preview).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")

    page.locator("form.editor-form button[type=submit]:not([name])").click()
    page.wait_for_url(editor_url)
    expect(page.locator("p.notice[role=status]")).to_be_visible()
    expect(preview).to_contain_text(typed)

    customer = new_context(viewport={"width": 390, "height": 844}).new_page()
    customer.goto(writable_live_app.url(f"/{lang}/search?q={word}"))
    result = customer.locator(".results a").first
    expect(result).to_have_attribute("href", re.compile(rf"^/{lang}/articles/track-order(\?|$)"))
    result.click()
    expect(customer.locator(".article-body")).to_contain_text(typed)
