"""The XSS corpus in a real browser: no payload runs script, with and without the CSP.

Every payload of ../shared/eval/xss (read in place, never copied) is shown in headless
Chromium on loopback, all other network aborted:

- as published articles served by the app (all payloads as Markdown, a few documents),
- as one page of every payload's own ``render_markdown`` output (no payload can close or
  open markup for its neighbour there),
- as contact messages and feedback comments on the manager's contact request pages.

A script added before any page script records alert/confirm/prompt/print in
``window.__xss`` (in every frame), dialogs are recorded too, and the context fixture fails the
test on any uncaught script error or Content-Security-Policy report (a CSP report means the
markup tried to run inline script). Each check runs twice: with the app's CSP
(script-src 'self'), and with the header stripped so the sanitiser alone is proven.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from kb import create_app
from kb.accounts import create_user
from kb.contact import FIELD_LIMITS, submit_contact
from kb.content.render import render_markdown
from kb.extensions import db
from kb.insights.events import COMMENT_LIMIT, add_feedback_comment, record_feedback
from kb.web import CONTENT_SECURITY_POLICY

from ..conftest import FIXTURE_ARTICLES, STAFF_PASSWORD, app_config, make_index
from ..test_xss_corpus import batches, load_corpus
from .conftest import LOCAL_HOST, TIMEOUT_MS, LiveApp, serve

pytestmark = pytest.mark.browser

MANAGER = "manager@kb.example"
VISIT = "f" * 32
ARTICLE_SIZE = 60_000  # characters of payloads per article (the editor allows 100 000)
SETTLE_MS = 200  # lets onerror/onload/animation handlers of failed loads fire

RECORD_CALLS = """
(() => {
  window.__xss = [];
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    const record = (...args) => { window.__xss.push(name + "(" + String(args[0]) + ")"); };
    try {
      Object.defineProperty(window, name, { value: record, writable: false, configurable: false });
    } catch (error) { window[name] = record; }
  }
})();
"""


@pytest.fixture(scope="module")
def corpus(shared_eval):
    return load_corpus(shared_eval)


@pytest.fixture
def corpus_app(tmp_path, corpus) -> Iterator[tuple[LiveApp, list[str], list[str]]]:
    """The app with every payload in published articles and in stored contact requests.

    Yields the app, the article slugs and the contact references.
    """
    articles = tmp_path / "articles"
    shutil.copytree(FIXTURE_ARTICLES, articles)
    slugs = []
    for number, body in enumerate(batches_of_paragraphs(corpus, ARTICLE_SIZE), start=1):
        slug = f"xss-corpus-{number}"
        header = f"---\ntitle: XSS corpus {number}\nlang: en\n---\n\n"
        (articles / "en" / f"{slug}.md").write_text(header + body, encoding="utf-8")
        slugs.append(slug)
    index = make_index(articles, tmp_path / "index")
    app = create_app(app_config(tmp_path, ARTICLES_DIR=str(articles), INDEX_DIR=str(index)))
    with app.app_context():
        db.create_all()
        create_user(MANAGER, STAFF_PASSWORD, "manager")
        for comment in batches(corpus, COMMENT_LIMIT):
            feedback_id = record_feedback(VISIT, "en/track-order", helpful=False)
            assert add_feedback_comment(feedback_id, VISIT, comment)
        references = [
            submit_contact(
                visit_id=VISIT,
                flow_id=None,
                lang="en",
                name="Sara",
                email="sara@example.com",
                message=message,
            ).reference
            for message in batches(corpus, FIELD_LIMITS["message"])
        ]
    with serve(app) as live:
        yield live, slugs, references


def batches_of_paragraphs(corpus, limit: int) -> list[str]:
    """The payloads as Markdown paragraphs (blank line between), in documents of ~``limit``."""
    documents, current = [], []
    for payload in corpus:
        current.append(payload.text)
        if sum(map(len, current)) > limit:
            documents.append("\n\n".join(current))
            current = []
    return [*documents, "\n\n".join(current)] if current else documents


@pytest.fixture
def open_page(browser) -> Iterator:
    """Open a page (new context) that records script calls, optionally without the CSP.

    Unlike the shared ``new_context``, requests off the machine are expected here (payloads
    name outside hosts): they are aborted, not failures. A CSP report about images is
    expected too (the allow-list keeps http images, the CSP only allows https ones); any
    other CSP report, a dialog or an uncaught script error fails the test.
    """
    opened = []

    def open_one(with_csp: bool):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(RECORD_CALLS)
        problems: list[str] = []

        def local_only(route):
            if urlsplit(route.request.url).hostname == LOCAL_HOST:
                route.continue_()
            else:
                route.abort()

        def without_csp(route):
            if urlsplit(route.request.url).hostname != LOCAL_HOST:
                route.abort()
                return
            response = route.fetch(max_redirects=0)
            headers = {
                name: value
                for name, value in response.headers.items()
                if name.lower() != "content-security-policy"
            }
            route.fulfill(response=response, headers=headers)

        def on_console(message):
            text = message.text
            if "Content Security Policy" in text and '"img-src' not in text:
                problems.append(text)

        def on_dialog(dialog):
            problems.append(f"dialog {dialog.type}: {dialog.message}")
            dialog.dismiss()

        context.route("**/*", local_only if with_csp else without_csp)
        context.on("weberror", lambda error: problems.append(str(error.error)))
        context.on("console", on_console)
        context.on("dialog", on_dialog)
        page = context.new_page()
        page.problems = problems
        opened.append(context)
        return page

    yield open_one
    for context in opened:
        context.close()


def script_calls(page) -> list[str]:
    page.wait_for_timeout(SETTLE_MS)
    calls = list(page.problems)
    for frame in page.frames:
        try:
            calls += frame.evaluate("window.__xss || []")
        except Exception as error:  # a cross-origin or detached frame
            calls.append(f"unreadable frame {frame.url}: {error}")
    return calls


def visit(page, url: str) -> None:
    page.goto(url, wait_until="load")
    assert page.url == url, f"the page navigated away to {page.url}"
    assert script_calls(page) == [], url


CSP = [pytest.param(True, id="with-csp"), pytest.param(False, id="without-csp")]


@pytest.mark.parametrize("with_csp", CSP)
def test_no_payload_runs_script_in_published_articles(open_page, corpus_app, with_csp):
    live, slugs, _ = corpus_app
    page = open_page(with_csp)
    for slug in slugs:
        visit(page, live.url(f"/en/articles/{slug}"))
        assert page.locator(".article-body").count() >= 1


@pytest.mark.parametrize("with_csp", CSP)
def test_no_payload_runs_script_rendered_one_by_one(open_page, corpus_app, corpus, with_csp):
    live, _, _ = corpus_app
    page = open_page(with_csp)
    body = "".join(f"<section>{render_markdown(p.text)}</section>\n" for p in corpus)
    # Served on the app's origin (so the loopback-only rule lets it through) by the test.
    url = live.url("/xss-corpus-rendered")

    def serve(route):
        headers = {"content-type": "text/html; charset=utf-8"}
        if with_csp:
            headers["content-security-policy"] = CONTENT_SECURITY_POLICY
        route.fulfill(status=200, headers=headers, body=f"<!doctype html><title>x</title>{body}")

    page.route(url, serve)
    visit(page, url)
    assert page.locator("section").count() == len(corpus)


@pytest.mark.parametrize("with_csp", CSP)
def test_no_payload_runs_script_on_the_managers_contact_pages(
    open_page, corpus_app, corpus, with_csp
):
    live, _, references = corpus_app
    page = open_page(with_csp)
    page.goto(live.url("/admin/login"))
    page.locator("#email").fill(MANAGER)
    page.locator("#password").fill(STAFF_PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/admin/")
    visit(page, live.url("/admin/contacts"))
    for reference in references:
        visit(page, live.url(f"/admin/contacts/{reference}"))
        assert page.locator(".contact-message").inner_text().strip()
    # The last page also lists every feedback comment of the visit.
    assert page.locator(".journey-comment").count() == len(batches(corpus, COMMENT_LIMIT))
