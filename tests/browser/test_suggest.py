"""Search as you type in a real browser: the search box as an ARIA 1.2 combobox.

The fixtures fail a test on any Content-Security-Policy violation or script error, so these
also check that the popup is built without inline scripts or styles.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

TYPED = {"en": ("trac", "Track your order"), "ar": ("تتب", "تتبع طلبك")}
LANGS = [pytest.param("en", id="en"), pytest.param("ar", id="ar")]


def type_in_home_search(page, live_app, lang: str, text: str):
    """Open the home page, type ``text`` key by key; return the search input."""
    page.goto(live_app.url(f"/{lang}/"))
    box = page.locator("#search-q")
    box.press_sequentially(text, delay=30)
    return box


@pytest.mark.parametrize("lang", LANGS)
def test_typing_shows_suggestions_as_a_combobox(page, expect, live_app, lang):
    typed, title = TYPED[lang]
    box = type_in_home_search(page, live_app, lang, typed)
    listbox = page.locator("#search-q-listbox")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("role", "combobox")
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(box).to_have_attribute("aria-controls", "search-q-listbox")
    expect(box).to_have_attribute("aria-autocomplete", "list")
    expect(listbox).to_have_attribute("role", "listbox")
    articles = listbox.locator(".combobox-option-article")
    expect(articles.first).to_have_text(title)
    options = listbox.get_by_role("option")
    count = options.count()
    assert count >= 1
    expect(page.locator("#search-q-status")).not_to_be_empty()
    # Nothing is active until the arrow keys say so.
    assert box.get_attribute("aria-activedescendant") is None


@pytest.mark.parametrize("lang", LANGS)
def test_arrow_keys_move_the_active_option(page, expect, live_app, lang):
    typed, _ = TYPED[lang]
    box = type_in_home_search(page, live_app, lang, typed)
    options = page.locator("#search-q-listbox [role=option]")
    expect(options.first).to_be_visible()
    box.press("ArrowDown")
    first_id = options.nth(0).get_attribute("id")
    expect(box).to_have_attribute("aria-activedescendant", first_id)
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    if options.count() > 1:
        box.press("ArrowDown")
        expect(box).to_have_attribute("aria-activedescendant", options.nth(1).get_attribute("id"))
        expect(options.nth(1)).to_have_attribute("aria-selected", "true")
        expect(options.nth(0)).to_have_attribute("aria-selected", "false")
        box.press("ArrowUp")
        expect(box).to_have_attribute("aria-activedescendant", first_id)
    # Focus stays in the input all along (the popup is driven by aria-activedescendant).
    expect(box).to_be_focused()


@pytest.mark.parametrize("lang", LANGS)
def test_enter_on_an_article_option_opens_the_article(page, expect, live_app, lang):
    typed, title = TYPED[lang]
    box = type_in_home_search(page, live_app, lang, typed)
    options = page.locator("#search-q-listbox [role=option]")
    expect(options.first).to_be_visible()
    article = page.locator("#search-q-listbox .combobox-option-article").first
    position = options.evaluate_all(
        "(all, target) => all.indexOf(target)", article.element_handle()
    )
    for _ in range(position + 1):
        box.press("ArrowDown")
    expect(article).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    page.wait_for_url(re.compile(rf"/{lang}/articles/track-order$"))
    expect(page.locator("h1")).to_have_text(title)


def test_choosing_a_completion_searches_for_it(page, expect, live_app):
    box = type_in_home_search(page, live_app, "en", "where is m")
    completion = page.locator("#search-q-listbox .combobox-option-completion").first
    expect(completion).to_have_text("where is my order")
    completion.click()
    page.wait_for_url(re.compile(r"/en/search\?q=where\+is\+my\+order$"))
    expect(page.locator("#search-q")).to_have_value("where is my order")
    del box


@pytest.mark.parametrize("lang", LANGS)
def test_escape_closes_the_popup(page, expect, live_app, lang):
    typed, _ = TYPED[lang]
    box = type_in_home_search(page, live_app, lang, typed)
    listbox = page.locator("#search-q-listbox")
    expect(listbox).to_be_visible()
    box.press("ArrowDown")
    box.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    assert box.get_attribute("aria-activedescendant") is None
    expect(box).to_have_value(typed)  # Escape closed the popup, it did not clear the box


def test_arabic_popup_is_aligned_with_the_input(page, expect, live_app):
    box = type_in_home_search(page, live_app, "ar", TYPED["ar"][0])
    listbox = page.locator("#search-q-listbox")
    expect(listbox).to_be_visible()
    assert page.locator("html").get_attribute("dir") == "rtl"
    input_box, popup = box.bounding_box(), listbox.bounding_box()
    input_right = input_box["x"] + input_box["width"]
    popup_right = popup["x"] + popup["width"]
    assert abs(input_right - popup_right) <= 1, (input_box, popup)
    assert abs(input_box["x"] - popup["x"]) <= 1, (input_box, popup)
    assert popup["y"] >= input_box["y"] + input_box["height"]


def test_phone_width_popup_fits_the_screen(new_context, expect, live_app):
    page = new_context(viewport={"width": 375, "height": 740}, is_mobile=True).new_page()
    type_in_home_search(page, live_app, "ar", TYPED["ar"][0])
    listbox = page.locator("#search-q-listbox")
    expect(listbox).to_be_visible()
    popup = listbox.bounding_box()
    assert popup["x"] >= 0 and popup["x"] + popup["width"] <= 375, popup
    for option in listbox.get_by_role("option").all():
        assert option.bounding_box()["height"] >= 44  # touch target


def test_short_input_shows_nothing(page, expect, live_app):
    box = type_in_home_search(page, live_app, "en", "t")
    page.wait_for_timeout(400)
    expect(page.locator("#search-q-listbox")).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")


def test_without_javascript_the_search_box_is_a_plain_form(new_context, expect, live_app):
    page = new_context(java_script_enabled=False).new_page()
    page.goto(live_app.url("/en/"))
    box = page.locator("#search-q")
    assert box.get_attribute("role") is None
    expect(page.locator("#search-q-listbox")).to_be_hidden()
    box.fill("track")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/en/search\?q=track$"))
