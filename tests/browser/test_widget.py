"""The help widget on another site, in a real browser ("Done means" of issue 7).

A shop's English checkout page, served on another loopback port, embeds
``<script src="KB/widget.js" data-lang="ar" data-topic="payments" defer>`` under a strict
Content-Security-Policy of its own (no inline styles or scripts). One customer opens the widget
with the keyboard, searches in Arabic, reads an answer and confirms it solved the problem;
another, on a phone, goes through the contact flow and writes to support. A manager then finds
both on the dashboard under the widget channel with the checkout page's path. A page on a site
that is not in KB_WIDGET_ORIGINS gets no panel: Chromium refuses to frame it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, Response
from werkzeug.serving import make_server

from kb import create_app
from kb.accounts import create_user
from kb.contact.models import ContactRequest
from kb.extensions import db
from kb.insights.models import ArticleView, ContactFlow, SearchEvent
from kb.insights.widget import WidgetEvent

from ..conftest import STAFF_PASSWORD, app_config
from .conftest import LOCAL_HOST, TIMEOUT_MS, serve

pytestmark = pytest.mark.browser

CHECKOUT = "/checkout/payment"
# Personal data in the address: it must never reach kb.
CHECKOUT_WITH_PRIVATE_PARTS = CHECKOUT + "?order=12345678&email=sara%40example.com#card"
MANAGER = "manager@kb.example"
REFERENCE = re.compile(r"KB-[0-9A-HJKMNP-TV-Z]{8}")

# The shop's own styles: aggressive rules that must not reach inside the widget, and a button
# of its own that the widget's styles must leave alone.
SHOP_CSS = """
html, body { font: 14px/1.2 Georgia, serif; direction: ltr; }
button { background: rgb(200, 0, 0) !important; color: rgb(255, 255, 0); font-size: 30px; }
iframe { display: none !important; }
div { display: none !important; }
"""
SHOP_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Checkout · Example Shop</title>
  <link rel="stylesheet" href="/shop.css">
  <script src="{kb}/widget.js" data-lang="ar" data-topic="payments" defer></script>
</head>
<body>
  <h1>Payment</h1>
  <p>Card number and billing address.</p>
  <button id="pay" type="button">Pay now</button>
</body>
</html>
"""
# A page that frames kb's panel itself, passing an allowed origin it does not have.
FORGED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Forged</title></head>
<body>
  <iframe id="forged" title="help" src="{kb}/ar/widget?origin={allowed}&amp;path=/"></iframe>
</body>
</html>
"""


class ShopSite:
    """Another site on its own loopback port; kb's address is filled in once kb is served."""

    def __init__(self):
        self.kb_url = ""
        self.allowed_origin = ""
        self.app = Flask("shop")
        self.app.add_url_rule(CHECKOUT, "checkout", self.checkout)
        self.app.add_url_rule("/forged", "forged", self.forged)
        self.app.add_url_rule("/shop.css", "css", lambda: Response(SHOP_CSS, mimetype="text/css"))

    def checkout(self):
        response = Response(SHOP_PAGE.format(kb=self.kb_url), mimetype="text/html")
        # A strict policy of the shop's own: widget.js must need no inline style or script.
        response.headers["Content-Security-Policy"] = (
            f"default-src 'self'; script-src 'self' {self.kb_url}; "
            f"frame-src {self.kb_url}; style-src 'self'; object-src 'none'"
        )
        return response

    def forged(self):
        page = FORGED_PAGE.format(kb=self.kb_url, allowed=self.allowed_origin)
        return Response(page, mimetype="text/html")


@contextmanager
def serve_shop(site: ShopSite) -> Iterator[str]:
    server = make_server(LOCAL_HOST, 0, site.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="shop-server", daemon=True)
    thread.start()
    try:
        yield f"http://{LOCAL_HOST}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def sites(tmp_path, shared_index):
    """(kb, allowed shop, other shop): kb allows the first shop only."""
    shop, other = ShopSite(), ShopSite()
    with serve_shop(shop) as shop_url, serve_shop(other) as other_url:
        app = create_app(app_config(tmp_path, INDEX_DIR=str(shared_index), WIDGET_ORIGINS=shop_url))
        with app.app_context():
            db.create_all()
            create_user(MANAGER, STAFF_PASSWORD, "manager")
        with serve(app) as kb:
            for site in (shop, other):
                site.kb_url = kb.base_url
                site.allowed_origin = shop_url
            yield kb, shop_url, other_url


def open_checkout(context, shop_url: str):
    page = context.new_page()
    page.goto(shop_url + CHECKOUT_WITH_PRIVATE_PARTS)
    return page


def rows(app, model) -> list:
    with app.app_context():
        return list(db.session.scalars(db.select(model).order_by(model.id)))


def test_customers_get_help_in_the_widget_and_the_dashboard_shows_where(sites, new_context, expect):
    kb, shop_url, _ = sites

    # Customer 1, on a desktop, with the keyboard only.
    page = open_checkout(new_context(viewport={"width": 1280, "height": 900}), shop_url)
    button = page.get_by_role("button", name="مساعدة", exact=True)
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "false")
    # The shop's styles do not reach the widget's button, nor the widget's styles the shop's.
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(11, 107, 87)"
    assert page.locator("#pay").evaluate("b => getComputedStyle(b).fontSize") == "30px"
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    frame_element = page.locator("kb-help-widget iframe")
    expect(frame_element).to_be_visible()
    source = urlsplit(frame_element.get_attribute("src"))
    assert (source.scheme + "://" + source.netloc, source.path) == (kb.base_url, "/ar/widget")
    assert parse_qs(source.query) == {
        "origin": [shop_url],
        "path": [CHECKOUT],
        "topic": ["payments"],
    }  # the page's query string and fragment stay on the shop's page
    panel = page.frame_locator("kb-help-widget iframe")
    expect(panel.locator("html")).to_have_attribute("dir", "rtl")
    expect(panel.locator("html")).to_have_attribute("lang", "ar")
    assert page.locator("html").get_attribute("lang") == "en"
    # data-topic="payments": the topic's answers are there before anything is typed.
    expect(panel.locator("#answers-heading + ul a")).to_have_text(["لماذا رُفضت بطاقتي؟"])
    search = panel.locator("#search-q")
    expect(search).to_be_focused()  # focus moved into the panel

    # Escape inside the panel closes it and gives the focus back to the button.
    page.keyboard.press("Escape")
    expect(frame_element).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_be_focused()

    page.keyboard.press("Enter")  # opens again, where the customer left it
    expect(search).to_be_focused()
    page.keyboard.type("ليش انرفضت", delay=30)
    suggestion = panel.locator("#search-q-listbox .combobox-option-article").first
    expect(suggestion).to_have_text("لماذا رُفضت بطاقتي؟")
    page.keyboard.press("Enter")  # searches what was typed
    result = panel.locator("ol.results a").first
    expect(result).to_have_text("لماذا رُفضت بطاقتي؟")
    result.click()
    expect(panel.locator("article h1")).to_have_text("لماذا رُفضت بطاقتي؟")
    expect(panel.locator(".article-body")).to_contain_text("تاريخ انتهاء البطاقة")
    panel.get_by_role("button", name="نعم، هذا حل مشكلتي").click()
    expect(panel.locator(".confirmation h1")).to_be_visible()
    expect(panel.locator(".effort-survey")).to_be_visible()
    assert page.url == shop_url + CHECKOUT_WITH_PRIVATE_PARTS  # the shop page never moved
    panel.locator("body").press("Escape")
    expect(button).to_be_focused()

    # Customer 2, on a phone: the panel takes the whole screen.
    phone = {"width": 390, "height": 740}
    page = open_checkout(new_context(viewport=phone, is_mobile=True, has_touch=True), shop_url)
    page.get_by_role("button", name="مساعدة", exact=True).click()
    frame_element = page.locator("kb-help-widget iframe")
    expect(frame_element).to_be_visible()
    box = page.locator("kb-help-widget .panel").bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 740)
    panel = page.frame_locator("kb-help-widget iframe")
    panel.locator(".contact-prompt a").click()  # "Contact us"
    question = panel.locator("#question")
    question.fill("ليش انرفضت البطاقة")
    expect(panel.locator("#suggestion-list .suggestion summary").first).to_have_text(
        "لماذا رُفضت بطاقتي؟"
    )  # answers before the form, live
    panel.get_by_role("button", name="ما زلت أحتاج مساعدة").click()
    form = panel.locator("#contact-form form")
    form.locator("input[name=name]").fill("سارة حداد")
    form.locator("input[name=email]").fill("sara@example.com")
    expect(form.locator("textarea[name=message]")).to_have_value("ليش انرفضت البطاقة")
    form.locator("button[type=submit]").click()
    reference = panel.locator(".reference")
    expect(reference).to_have_text(REFERENCE)
    shown_reference = reference.inner_text().strip()

    # What kb recorded: both flows in the widget channel, on the checkout page's path.
    flows = rows(kb.app, ContactFlow)
    assert [(f.channel, f.host_origin, f.host_path, f.outcome) for f in flows] == [
        ("widget", shop_url, CHECKOUT, "resolved"),
        ("widget", shop_url, CHECKOUT, "contacted"),
    ]
    assert flows[0].resolved_key == "ar/card-declined"
    [request] = rows(kb.app, ContactRequest)
    assert (request.reference, request.flow_id, request.lang) == (
        shown_reference,
        flows[1].id,
        "ar",
    )
    searches = rows(kb.app, SearchEvent)
    assert {(s.channel, s.host_path) for s in searches} == {("widget", CHECKOUT)}
    assert "ليش انرفضت" in [s.query for s in searches]
    assert [(v.channel, v.article_key) for v in rows(kb.app, ArticleView)] == [
        ("widget", "ar/card-declined")
    ]
    opens = [(e.event, e.host_path) for e in rows(kb.app, WidgetEvent)]
    assert opens.count(("open", CHECKOUT)) == 3  # twice for customer 1, once for customer 2
    assert ("close", CHECKOUT) in opens

    # The manager's dashboard: both customers under the widget, on the checkout page.
    page = new_context(viewport={"width": 1280, "height": 900}, locale="en").new_page()
    page.goto(kb.url("/admin/login"))
    page.locator("#email").fill(MANAGER)
    page.locator("#password").fill(STAFF_PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/admin/")
    page.goto(kb.url("/admin/dashboard?channel=widget"))
    host_page = page.locator("table.host-pages-by-flows tbody tr", has_text=shop_url + CHECKOUT)
    expect(host_page).to_have_count(1)
    # Host page | started | resolved | contacted | abandoned | deflection
    expect(host_page.locator("td")).to_have_text(["2", "1", "1", "0", re.compile(r"50")])


def test_a_site_not_in_the_allowed_origins_gets_no_panel(sites, browser, expect):
    """widget.js on another site, and a page framing the panel with a forged origin: the panel
    refuses to render in both (frame-ancestors), and nothing is recorded."""
    kb, shop_url, other_url = sites
    # Not the new_context fixture: Chromium reports the refused frame as a CSP violation on
    # the console, which that fixture counts as a failure. Here it is the expected outcome.
    context = loopback_context(browser)
    try:
        page = open_checkout(context, other_url)
        with page.expect_console_message(refused_frame):
            page.get_by_role("button", name="مساعدة", exact=True).click()
        assert_no_panel(page, kb.base_url)

        page = context.new_page()
        with page.expect_console_message(refused_frame):
            page.goto(other_url + "/forged")
        assert_no_panel(page, kb.base_url)
    finally:
        context.close()
    assert rows(kb.app, WidgetEvent) == [] and rows(kb.app, ContactFlow) == []


def refused_frame(message) -> bool:
    return "frame-ancestors" in message.text


def assert_no_panel(page, kb_url: str) -> None:
    """The page's one frame holds Chromium's error page, not kb's panel."""
    frame = page.locator("iframe").element_handle().content_frame()
    frame.wait_for_load_state()
    assert frame.url.startswith("chrome-error:") and not frame.url.startswith(kb_url), frame.url
    assert frame.locator(".widget-panel, #search-q, [data-host-origin]").count() == 0


def loopback_context(browser, hosts=(LOCAL_HOST,)):
    """A browser context (new cookies) whose requests may reach ``hosts`` only."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.route(
        "**/*",
        lambda route: (
            route.continue_() if urlsplit(route.request.url).hostname in hosts else route.abort()
        ),
    )
    return context


def test_the_panel_keeps_its_session_in_a_shop_on_another_site(
    tmp_path, shared_index, browser, expect
):
    """Production's case: the shop is another *site* (localhost is not 127.0.0.1's site), so
    the site's SameSite=Lax cookie is not sent to the panel; its own SameSite=None; Secure;
    Partitioned cookie is (Chromium treats loopback http as secure), and the whole contact
    flow works in the frame."""
    shop = ShopSite()
    with serve_shop(shop) as loopback_url:
        shop_url = loopback_url.replace(LOCAL_HOST, "localhost")
        config = app_config(
            tmp_path,
            INDEX_DIR=str(shared_index),
            WIDGET_ORIGINS=shop_url,
            SESSION_COOKIE_SECURE=True,
        )
        app = create_app(config)
        with app.app_context():
            db.create_all()
        with serve(app) as kb:
            shop.kb_url = kb.base_url
            context = loopback_context(browser, hosts=(LOCAL_HOST, "localhost"))
            try:
                page = open_checkout(context, shop_url)
                page.get_by_role("button", name="مساعدة", exact=True).click()
                panel = page.frame_locator("kb-help-widget iframe")
                panel.locator(".contact-prompt a").click()
                panel.locator("#question").fill("بطاقتي مرفوضة")
                panel.get_by_role("button", name="ما زلت أحتاج مساعدة").click()
                form = panel.locator("#contact-form form")
                form.locator("input[name=name]").fill("سارة حداد")
                form.locator("input[name=email]").fill("sara@example.com")
                form.locator("button[type=submit]").click()
                expect(panel.locator(".reference")).to_have_text(REFERENCE)
                cookies = {cookie["name"]: cookie for cookie in context.cookies(kb.base_url)}
                assert cookies["kb_widget"]["sameSite"] == "None"
                assert cookies["kb_widget"]["secure"] is True
            finally:
                context.close()
            [flow] = rows(kb.app, ContactFlow)
            assert (flow.channel, flow.host_origin, flow.host_path, flow.outcome) == (
                "widget",
                shop_url,
                CHECKOUT,
                "contacted",
            )
