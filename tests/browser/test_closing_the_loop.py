"""Closing the loop in a real browser, in English and Arabic (issue 4, "Done means").

Customers search a phrasing no article answers and then write to support; a manager links
the article that would have answered them. A writer opens the content gaps, opens the top
gap's article in the editor, adds the phrasing to its questions and saves. A new customer
then finds that article first for the phrasing, and the manager's dashboard shows the
flows, the deflection and abandonment rates and the edit among the recent edits.
Runs on private copies of the articles and the index (the editor writes files).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator

import pytest

from kb import create_app
from kb.accounts import create_user
from kb.contact import find_contact
from kb.contact.inbox import link_answer
from kb.extensions import db
from kb.insights.gaps import content_gaps
from kb.insights.metrics import Period
from kb.insights.models import utcnow
from kb.search import normalize_query

from ..conftest import FIXTURE_ARTICLES, STAFF_PASSWORD, app_config, make_index
from .conftest import LiveApp, serve

pytestmark = pytest.mark.browser

WRITER = "writer@kb.example"
MANAGER = "manager@kb.example"
ANSWER_SLUG = "track-order"
# Phrasings no article answers yet: in English search offers an unrelated article, in
# Arabic it finds nothing at all.
PHRASING = {
    "en": "neighbour signed for the box",
    "ar": "الجار استلم الصندوق",
}
CUSTOMERS = 2
LANGS = [pytest.param("en", id="en"), pytest.param("ar", id="ar")]
REFERENCE = re.compile(r"KB-[0-9A-HJKMNP-TV-Z]{8}")


@pytest.fixture
def loop_app(tmp_path) -> Iterator[LiveApp]:
    """A live app on private copies of the articles and index, with a writer and a manager."""
    articles = tmp_path / "articles"
    shutil.copytree(FIXTURE_ARTICLES, articles)
    index = make_index(articles, tmp_path / "index")
    app = create_app(app_config(tmp_path, ARTICLES_DIR=str(articles), INDEX_DIR=str(index)))
    with app.app_context():
        db.create_all()
        create_user(WRITER, STAFF_PASSWORD, "writer")
        create_user(MANAGER, STAFF_PASSWORD, "manager")
    with serve(app) as live:
        yield live


def customer_page(new_context, lang: str, **options):
    context = new_context(
        viewport={"width": 390, "height": 844},
        locale=lang,
        extra_http_headers={"Accept-Language": lang},
        **options,
    )
    return context.new_page()


def staff_page(new_context, live_app: LiveApp, lang: str, email: str):
    """A logged-in back-office page whose browser prefers ``lang``."""
    context = new_context(
        viewport={"width": 1280, "height": 900},
        locale=lang,
        extra_http_headers={"Accept-Language": lang},
    )
    page = context.new_page()
    page.goto(live_app.url("/admin/login"))
    page.locator("#email").fill(email)
    page.locator("#password").fill(STAFF_PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/admin/")
    return page


def search_then_contact_support(page, expect, live_app: LiveApp, lang: str, phrasing: str) -> str:
    """A customer searches, finds nothing that helps and writes to support; the reference."""
    page.goto(live_app.url(f"/{lang}/"))
    search = page.locator("form[role=search]")
    search.locator("input[name=q]").fill(phrasing)
    search.locator("button").click()
    page.wait_for_url(re.compile(rf"/{lang}/search\?"))
    page.goto(live_app.url(f"/{lang}/contact"))
    page.locator("#question").fill(phrasing)
    # "I still need help": the second button of the question form.
    page.locator("form.contact-question button[name=step]").click()
    form = page.locator("#contact-form form")
    expect(form).to_be_visible()
    expect(form.locator("textarea[name=message]")).to_have_value(phrasing)
    form.locator("input[name=name]").fill("Sara Haddad")
    form.locator("input[name=email]").fill("sara@example.com")
    form.locator("select[name=category]").select_option("orders")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/{lang}/contact/sent$"))
    reference = page.locator(".reference").inner_text().strip()
    assert REFERENCE.fullmatch(reference), reference
    return reference


@pytest.mark.parametrize("lang", LANGS)
def test_a_content_gap_is_fixed_in_the_editor_and_shows_on_the_dashboard(
    new_context, expect, loop_app, lang
):
    phrasing = PHRASING[lang]
    answer_key = f"{lang}/{ANSWER_SLUG}"

    # Customers (JavaScript off: the plain HTML flow) search, then contact support.
    for _number in range(CUSTOMERS):
        page = customer_page(new_context, lang, java_script_enabled=False)
        reference = search_then_contact_support(page, expect, loop_app, lang, phrasing)
        with loop_app.app.app_context():
            assert find_contact(reference) is not None
            # The manager's judgement on the request: this article would have answered it.
            link_answer(reference, answer_key)
    with loop_app.app.app_context():
        now = utcnow()
        top = content_gaps(Period(now - dt.timedelta(hours=1), now + dt.timedelta(minutes=1)))
    assert (top[0].query, top[0].top_article) == (normalize_query(phrasing), answer_key)
    assert top[0].failed >= CUSTOMERS

    # The writer opens the top content gap's article and adds the phrasing to its questions.
    writer = staff_page(new_context, loop_app, lang, WRITER)
    writer.locator(".header-nav a[href='/admin/gaps']").click()
    writer.wait_for_url("**/admin/gaps")
    expect(writer.locator("html")).to_have_attribute("lang", lang)
    expect(writer.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
    gap = writer.locator("li.gap").first
    expect(gap.locator(".gap-query span[dir=auto]")).to_have_text(normalize_query(phrasing))
    expect(gap.locator(".gap-figures dd").first).to_have_text(str(top[0].failed))
    gap.locator(f".gap-actions a[href='/admin/articles/{answer_key}']").click()
    editor_url = loop_app.url(f"/admin/articles/{answer_key}")
    writer.wait_for_url(editor_url)
    questions = writer.locator("#questions")
    questions.click()
    questions.press("Control+End")
    questions.press_sequentially("\n" + phrasing, delay=10)
    writer.locator("form.editor-form button[type=submit]:not([name])").click()
    writer.wait_for_url(editor_url)
    expect(writer.locator("p.notice[role=status]")).to_be_visible()
    expect(writer.locator("#questions")).to_contain_text(phrasing)
    # The edit page lists the change with its effect (no data after it yet).
    expect(writer.locator("section.edit-impacts .revision")).to_have_count(1)

    # A new customer finds the article first for that phrasing, at once.
    customer = customer_page(new_context, lang)
    customer.goto(loop_app.url(f"/{lang}/search?q={phrasing}"))
    first = customer.locator("ol.results h2 a").first
    expect(first).to_have_attribute("href", re.compile(rf"^/{lang}/articles/{ANSWER_SLUG}(\?|$)"))

    # The manager's dashboard: the flows, deflection and abandonment, and the edit.
    manager = staff_page(new_context, loop_app, lang, MANAGER)
    manager.goto(loop_app.url("/admin/dashboard"))
    expect(manager.locator("html")).to_have_attribute("lang", lang)
    expect(manager.locator("#figure-started .figure-value")).to_have_text(str(CUSTOMERS))
    expect(manager.locator("#figure-contacted .figure-value")).to_have_text(str(CUSTOMERS))
    expect(manager.locator("#figure-resolved .figure-value")).to_have_text("0")
    for rate in ("deflection", "abandonment"):
        parts = manager.locator(f"#figure-{rate} .figure-parts")
        expect(parts).to_have_text(f"0 / {CUSTOMERS}")
    # The flows trend table: the first captioned table after the per-channel one.
    flows = manager.locator("table:has(caption):not(.channel-table) >> nth=0").locator("tbody tr")
    expect(flows.last.locator("td").first).to_have_text(str(CUSTOMERS))
    edits = manager.locator("table.recent-edits tbody tr")
    expect(edits).to_have_count(1)
    expect(edits.first.locator("th a")).to_have_attribute(
        "href", f"/admin/articles/{answer_key}/revisions"
    )
    expect(edits.first.locator(".edit-author")).to_have_text(WRITER)
