"""What a customer sees in a real browser: search and feedback, and answers before contact.

Each test is a new visit (a fresh browser context) against its own app and database, and
checks what was stored where the flow promises it (feedback, resolved flows, requests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from kb.contact import find_contact
from kb.extensions import db
from kb.insights import searches_before_contact
from kb.insights.models import ArticleView, ContactFlow, Feedback

pytestmark = pytest.mark.browser

REFERENCE = re.compile(r"KB-[0-9A-HJKMNP-TV-Z]{8}")
SCREENSHOTS = "/tmp/kb-{lang}-contact.png"


@dataclass(frozen=True)
class Customer:
    """One language's customer: what they type, what they should find, the UI they read."""

    lang: str
    direction: str
    query: str  # typed into search or the contact question; finds `answer` first
    answer_slug: str
    answer_title: str
    answer_text: str  # a phrase from the answer's body
    unanswered: str  # a contact question that still gets suggestions, then the form
    name: str
    ui: dict[str, str]


ENGLISH = Customer(
    lang="en",
    direction="ltr",
    query="where is my order",
    answer_slug="track-order",
    answer_title="Track your order",
    answer_text="The tracking page shows each step",
    unanswered="my package has not arrived",
    name="Sara Haddad",
    ui={
        "yes": "Yes",
        "no": "No",
        "thanks": "Thanks for letting us know!",
        "what_missing": "Thanks. What was missing?",
        "send_feedback": "Send feedback",
        "feedback_done": "Thank you. Our writers read every comment.",
        "continue": "Continue",
        "still_need_help": "I still need help",
        "solved": "Yes, this solved my problem",
        "glad": "Glad we could help!",
        "send": "Send message",
        "got_it": "We've got your message",
    },
)
ARABIC = Customer(
    lang="ar",
    direction="rtl",
    query="وين طلبي",
    answer_slug="track-order",
    answer_title="تتبع طلبك",
    answer_text="تعرض صفحة التتبع كل مراحل توصيل الشحنة",
    unanswered="الطلب ما وصلني",
    name="سارة حداد",
    ui={
        "yes": "نعم",
        "no": "لا",
        "thanks": "شكرًا لإخبارنا!",
        "what_missing": "شكرًا. ما الذي كان ناقصًا؟",
        "send_feedback": "أرسل ملاحظتك",
        "feedback_done": "شكرًا لك. كتّابنا يقرؤون كل ملاحظة.",
        "continue": "متابعة",
        "still_need_help": "ما زلت أحتاج مساعدة",
        "solved": "نعم، هذا حل مشكلتي",
        "glad": "يسعدنا أننا ساعدناك!",
        "send": "أرسل الرسالة",
        "got_it": "وصلتنا رسالتك",
    },
)
CUSTOMERS = [pytest.param(ENGLISH, id="en"), pytest.param(ARABIC, id="ar")]


# --- steps a customer takes -------------------------------------------------------------


def search_from_home(page, live_app, customer: Customer, query: str) -> None:
    page.goto(live_app.url(f"/{customer.lang}/"))
    search = page.locator("form[role=search]")
    search.locator("input[name=q]").fill(query)
    search.get_by_role("button").click()
    page.wait_for_url(re.compile(rf"/{customer.lang}/search\?"))


def ask_with_live_suggestions(page, expect, live_app, customer: Customer, question: str):
    """Type the question key by key on the contact page; return the visible suggestion list."""
    if not page.url.endswith(f"/{customer.lang}/contact"):
        page.goto(live_app.url(f"/{customer.lang}/contact"))
    contact_url = page.url
    page.locator("#question").press_sequentially(question, delay=40)
    suggestions = page.locator("#suggestion-list details")
    expect(suggestions.first).to_be_visible()
    # Answers came while typing: nothing was submitted and no contact form is in sight.
    assert page.url == contact_url
    expect(page.locator("#contact-form")).to_be_hidden()
    return suggestions


def open_suggestion(expect, suggestions, customer: Customer):
    """Open the customer's answer in place; return its <details>."""
    answer = suggestions.filter(
        has=suggestions.page.locator("summary").get_by_text(customer.answer_title, exact=True)
    )
    answer.locator("summary").click()
    expect(answer.locator(".article-body")).to_contain_text(customer.answer_text)
    return answer


def write_to_support(page, expect, customer: Customer, question: str) -> str:
    """From the contact page, ask for the form, send it; return the reference shown."""
    page.get_by_role("button", name=customer.ui["still_need_help"], exact=True).click()
    form = page.locator("#contact-form form")
    expect(form).to_be_visible()
    expect(form.locator("textarea[name=message]")).to_have_value(question)
    # The bot trap sits in a 1px box that clips it: people never see it.
    trap = form.locator(".honeypot:has(input[name=website])").bounding_box()
    assert trap is None or max(trap["width"], trap["height"]) <= 1, f"bot trap shows: {trap}"
    form.locator("input[name=name]").fill(customer.name)
    form.locator("input[name=email]").fill("sara@example.com")
    form.locator("select[name=category]").select_option("orders")
    form.get_by_role("button", name=customer.ui["send"], exact=True).click()
    page.wait_for_url(re.compile(rf"/{customer.lang}/contact/sent$"))
    expect(page.locator("h1")).to_have_text(customer.ui["got_it"])
    reference = page.locator(".reference").inner_text().strip()
    assert REFERENCE.fullmatch(reference), reference
    return reference


def assert_request_stored(live_app, customer: Customer, reference: str, question: str) -> None:
    with live_app.app.app_context():
        stored = find_contact(reference)
        assert stored is not None, f"{reference} was confirmed but not stored"
        searches = searches_before_contact(stored.visit_id, stored.created_at)
        flow = db.session.get(ContactFlow, stored.flow_id) if stored.flow_id else None
    assert (stored.lang, stored.name, stored.email, stored.message, stored.category) == (
        customer.lang,
        customer.name,
        "sara@example.com",
        question,
        "orders",
    )
    assert ("contact", question) in [(search.source, search.query) for search in searches]
    assert flow is not None and flow.outcome == "contacted"


def horizontal_overflow(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def text_box(page, selector: str) -> dict[str, float]:
    """Where the text of the first match is drawn (not its block box, which is full width)."""
    return page.locator(selector).first.evaluate(
        """element => {
            const range = document.createRange();
            range.selectNodeContents(element);
            const text = range.getBoundingClientRect();
            const box = element.getBoundingClientRect();
            return {left: text.left - box.left, right: box.right - text.right};
        }"""
    )


def centre_x(locator) -> float:
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2


# --- tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_search_open_top_result_and_say_it_helped(page, expect, live_app, customer):
    search_from_home(page, live_app, customer, customer.query)
    top = page.locator("ol.results h2 a").first
    expect(top).to_have_text(customer.answer_title)
    top.click()

    page.wait_for_url(re.compile(rf"/{customer.lang}/articles/{customer.answer_slug}\?"))
    expect(page.locator("article h1")).to_have_text(customer.answer_title)
    feedback = page.locator("#feedback")
    feedback.get_by_role("button", name=customer.ui["yes"], exact=True).click()
    expect(page.locator("#feedback [role=status]")).to_have_text(customer.ui["thanks"])

    key = f"{customer.lang}/{customer.answer_slug}"
    with live_app.app.app_context():
        feedback_rows = db.session.scalars(db.select(Feedback)).all()
        view = db.session.scalars(db.select(ArticleView)).first()
    assert [(row.article_key, row.helpful) for row in feedback_rows] == [(key, True)]
    assert (view.article_key, view.search_id is not None, view.position) == (key, True, 1)


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_live_suggestion_solves_the_problem_before_any_form(page, expect, live_app, customer):
    suggestions = ask_with_live_suggestions(page, expect, live_app, customer, customer.query)
    answer = open_suggestion(expect, suggestions, customer)
    answer.get_by_role("button", name=customer.ui["solved"], exact=True).click()

    page.wait_for_url(re.compile(rf"/{customer.lang}/contact/resolved\?article=track-order$"))
    expect(page.locator("h1")).to_have_text(customer.ui["glad"])
    expect(page.locator(".confirmation a")).to_have_text(customer.answer_title)
    with live_app.app.app_context():
        flow = db.session.scalars(db.select(ContactFlow)).one()
    assert (flow.outcome, flow.resolved_key) == ("resolved", f"{customer.lang}/track-order")
    assert f"{customer.lang}/track-order" in flow.suggestions_shown


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_still_need_help_sends_the_question_with_a_reference(page, expect, live_app, customer):
    question = customer.unanswered
    ask_with_live_suggestions(page, expect, live_app, customer, question)
    reference = write_to_support(page, expect, customer, question)
    assert_request_stored(live_app, customer, reference, question)


def test_contact_flow_works_without_javascript(new_context, expect, live_app):
    page = new_context(java_script_enabled=False).new_page()
    customer = ENGLISH
    page.goto(live_app.url("/en/contact"))
    page.locator("#question").fill(customer.query)
    page.get_by_role("button", name=customer.ui["continue"], exact=True).click()

    page.wait_for_url(re.compile(r"/en/contact\?q="))
    expect(page.locator("#suggestions")).to_be_visible()
    expect(page.locator("#contact-form")).to_be_hidden()
    open_suggestion(expect, page.locator("#suggestion-list details"), customer)

    reference = write_to_support(page, expect, customer, customer.query)
    assert_request_stored(live_app, customer, reference, customer.query)


def test_search_and_what_was_missing_work_without_javascript(new_context, expect, live_app):
    page = new_context(java_script_enabled=False).new_page()
    ui = ENGLISH.ui
    search_from_home(page, live_app, ENGLISH, "refund")
    page.locator("ol.results h2 a").first.click()
    expect(page.locator("article h1")).to_have_text("When will I get my refund?")

    page.locator("#feedback").get_by_role("button", name=ui["no"], exact=True).click()
    comment = page.get_by_role("textbox", name=ui["what_missing"])
    expect(comment).to_be_visible()
    comment.fill("Nothing about refunds to a gift card.")
    page.get_by_role("button", name=ui["send_feedback"], exact=True).click()
    expect(page.locator("#feedback [role=status]")).to_have_text(ui["feedback_done"])

    with live_app.app.app_context():
        row = db.session.scalars(db.select(Feedback)).one()
    assert (row.article_key, row.helpful, row.comment) == (
        "en/refund-timing",
        False,
        "Nothing about refunds to a gift card.",
    )


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_pages_read_in_the_language_direction(page, expect, live_app, customer):
    rtl = customer.direction == "rtl"
    page.goto(live_app.url(f"/{customer.lang}/"))
    expect(page.locator("html")).to_have_attribute("dir", customer.direction)
    search = page.locator("form[role=search]")
    input_x = centre_x(search.locator("input[name=q]"))
    button_x = centre_x(search.get_by_role("button"))
    # The search field comes first in reading order: on the right in Arabic, left in English.
    assert (input_x > button_x) if rtl else (input_x < button_x)

    suggestions = ask_with_live_suggestions(page, expect, live_app, customer, customer.query)
    open_suggestion(expect, suggestions, customer)
    assert page.evaluate("getComputedStyle(document.body).direction") == customer.direction
    heading = text_box(page, "main h1")
    start, end = (heading["right"], heading["left"]) if rtl else (heading["left"], heading["right"])
    assert start < 2 < end, f"heading text is not at the {customer.direction} start: {heading}"
    continue_x = centre_x(page.get_by_role("button", name=customer.ui["continue"], exact=True))
    help_x = centre_x(page.get_by_role("button", name=customer.ui["still_need_help"], exact=True))
    assert (continue_x > help_x) if rtl else (continue_x < help_x)
    summary = text_box(page, "#suggestion-list summary")
    assert (summary["left"] > summary["right"]) if rtl else (summary["left"] < summary["right"])
    page.screenshot(path=SCREENSHOTS.format(lang=customer.lang), full_page=True)


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_contact_flow_fits_a_phone_screen(new_context, expect, live_app, customer):
    page = new_context(viewport={"width": 375, "height": 740}).new_page()
    page.goto(live_app.url(f"/{customer.lang}/contact"))
    scroll, width = horizontal_overflow(page)
    assert scroll <= width, f"contact page scrolls sideways: {scroll}px > {width}px"

    # The refund answer holds a table, the widest thing an answer can bring in.
    refund = "how long does a refund take" if customer.lang == "en" else "متى ترجع فلوسي"
    suggestions = ask_with_live_suggestions(page, expect, live_app, customer, refund)
    suggestions.first.locator("summary").click()
    expect(suggestions.first.locator(".article-body .loading")).to_have_count(0)
    scroll, width = horizontal_overflow(page)
    assert scroll <= width, f"an opened answer scrolls sideways: {scroll}px > {width}px"

    page.get_by_role("button", name=customer.ui["still_need_help"], exact=True).click()
    expect(page.locator("#contact-form form")).to_be_visible()
    scroll, width = horizontal_overflow(page)
    assert scroll <= width, f"the contact form scrolls sideways: {scroll}px > {width}px"


def test_i_still_need_help_keeps_the_question_typed_so_far(page, expect, live_app):
    question = ENGLISH.unanswered
    ask_with_live_suggestions(page, expect, live_app, ENGLISH, question)
    page.get_by_role("button", name=ENGLISH.ui["still_need_help"], exact=True).click()
    expect(page.locator("#contact-form textarea[name=message]")).to_have_value(
        question, timeout=2_000
    )


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_a_question_typed_before_the_script_arrives_still_gets_answers(
    page, expect, live_app, customer
):
    # A slow connection: the customer types while kb.js is still on its way.
    held = []
    page.route("**/static/kb.js", lambda route: held.append(route))
    page.goto(live_app.url(f"/{customer.lang}/contact"), wait_until="commit")
    page.locator("#question").fill(customer.query)
    for _ in range(200):  # the page asks for the script within 10 s
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the contact page never asked for kb.js"
    held[0].continue_()
    suggestions = page.locator("#suggestion-list details")
    expect(suggestions.first).to_be_visible()
    expect(
        suggestions.locator("summary").get_by_text(customer.answer_title, exact=True)
    ).to_be_visible()
