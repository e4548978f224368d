"""Proactive notices: writers publish them; customers see them in their window; effect counted."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.contact.models import ContactRequest
from kb.extensions import db
from kb.notices import (
    NoticeError,
    active_notices,
    create_notice,
    end_notice,
    get_notice,
    list_notices,
    notice_effect,
)

from .conftest import csrf_token, log_in, page

T = dt.datetime(2026, 3, 10, 12, 0, 0)
HOUR = dt.timedelta(hours=1)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def add_notice(
    title="Late deliveries",
    *,
    lang="en",
    category="all",
    starts=None,
    ends=None,
    text="Orders from Riyadh arrive a day late.",
):
    now = utcnow()
    return create_notice(
        title=title,
        text=text,
        lang=lang,
        category=category,
        starts_at=starts or now - HOUR,
        ends_at=ends or now + HOUR,
    )


def shown_titles(response) -> list[str]:
    html = page(response)
    region = html.select_one("section.service-notices")
    if region is None:
        return []
    heading = region.find("h2")
    assert region["aria-labelledby"] == heading["id"] and heading.get_text(strip=True)
    return [title.get_text() for title in region.select(".service-notice-title")]


@pytest.fixture
def writer(client, staff):
    assert log_in(client, staff["writer"]).status_code == 302
    return client


def test_notice_is_active_from_its_start_until_just_before_its_end(app):
    with app.app_context():
        notice = add_notice(starts=T, ends=T + HOUR)
        second = dt.timedelta(seconds=1)
        assert active_notices("en", now=T - second) == []
        assert active_notices("en", now=T) == [notice]
        assert active_notices("en", now=T + HOUR - second) == [notice]
        assert active_notices("en", now=T + HOUR) == []
        assert active_notices("ar", now=T) == []
        assert [notice.status(T - second), notice.status(T), notice.status(T + HOUR)] == [
            "scheduled",
            "active",
            "past",
        ]


def test_topic_notices_show_for_their_category_and_all_topic_notices_everywhere(app):
    with app.app_context():
        orders = add_notice("Orders", category="orders", starts=T, ends=T + HOUR)
        everyone = add_notice("Everyone", category="all", starts=T, ends=T + HOUR)
        titles = lambda category: {n.title for n in active_notices("en", category, now=T)}  # noqa: E731
        assert titles("orders") == {"Orders", "Everyone"}
        assert titles("returns") == {"Everyone"}
        assert titles(None) == {"Orders", "Everyone"}
        assert {orders.id, everyone.id} == {n.id for n in list_notices(now=T).active}


def test_invalid_notices_are_refused(app):
    with app.app_context():
        with pytest.raises(NoticeError, match="end must be after"):
            add_notice(starts=T, ends=T)
        with pytest.raises(NoticeError, match="longer than 1000"):
            add_notice(text="x" * 1001)
        with pytest.raises(NoticeError, match="title is missing"):
            add_notice(title="   ")
        # Times with a zone are stored as UTC.
        gulf = dt.timezone(dt.timedelta(hours=3))
        notice = add_notice(starts=T.replace(tzinfo=gulf), ends=(T + HOUR).replace(tzinfo=gulf))
        assert notice.starts_at == T - 3 * HOUR


@pytest.fixture
def published(app):
    """Active notices in both languages, plus a past and a scheduled one that must not show."""
    now = utcnow()
    with app.app_context():
        add_notice("Orders are late", category="orders")
        add_notice("Refunds are slow", category="returns")
        add_notice("تأخر في الشحن", lang="ar", category="all", text="الطلبات تصل متأخرة يوماً.")
        add_notice("Old outage", starts=now - 3 * HOUR, ends=now - 2 * HOUR)
        add_notice("Planned maintenance", starts=now + HOUR, ends=now + 2 * HOUR)
    return app


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/en/", {"Orders are late", "Refunds are slow"}),
        ("/en/search?q=parcel", {"Orders are late", "Refunds are slow"}),
        ("/en/search?q=parcel&category=orders", {"Orders are late"}),
        ("/en/contact", {"Orders are late", "Refunds are slow"}),
        ("/en/categories/orders", {"Orders are late"}),
        ("/en/categories/returns", {"Refunds are slow"}),
        ("/en/articles/track-order", {"Orders are late"}),
        ("/en/articles/refund-timing", {"Refunds are slow"}),
        ("/en/articles/reset-password", set()),
        ("/ar/", {"تأخر في الشحن"}),
        ("/ar/contact", {"تأخر في الشحن"}),
        ("/ar/categories/orders", {"تأخر في الشحن"}),
        ("/ar/articles/card-declined", {"تأخر في الشحن"}),
    ],
)
def test_active_notices_show_on_the_pages_of_their_language_and_topic(
    published, client, url, expected
):
    response = client.get(url)
    assert response.status_code == 200
    assert set(shown_titles(response)) == expected


def test_notice_is_shown_above_the_search_box_in_the_page_direction(published, client):
    html = page(client.get("/ar/"))
    assert html.html["dir"] == "rtl"
    region = html.select_one("section.service-notices")
    search = html.select_one("form.search-box")
    assert region in search.find_all_previous("section")
    text = region.select_one(".service-notice-text")
    assert text["dir"] == "auto" and text.get_text() == "الطلبات تصل متأخرة يوماً."
    contact = page(client.get("/en/contact"))
    assert contact.select_one("section.service-notices").find_next("form")["action"] == (
        "/en/contact"
    )


def test_notice_text_is_shown_as_text(app, client):
    with app.app_context():
        add_notice("<script>alert(1)</script>", text="<b>bold</b>\nsecond line")
    response = client.get("/en/")
    assert b"<script>alert(1)</script>" not in response.data
    assert shown_titles(response) == ["<script>alert(1)</script>"]
    notice = page(response).select_one(".service-notice-text")
    assert notice.find("b") is None and notice.get_text() == "<b>bold</b>\nsecond line"


def add_contact(at: dt.datetime, lang: str = "en", category: str = "orders") -> None:
    n = db.session.scalar(db.select(db.func.count(ContactRequest.id)))
    db.session.add(
        ContactRequest(
            reference=f"KB-{n:08d}",
            visit_id="v",
            lang=lang,
            name="N",
            email="n@example.com",
            category=category,
            message="m",
            created_at=at,
        )
    )
    db.session.commit()


def test_notice_effect_counts_contacts_on_its_topic_during_and_just_before(app):
    second = dt.timedelta(seconds=1)
    with app.app_context():
        orders = add_notice(category="orders", starts=T, ends=T + 2 * HOUR)
        everything = add_notice(category="all", starts=T, ends=T + 2 * HOUR)
        for at in (T, T + HOUR, T + 2 * HOUR - second):  # during: 3
            add_contact(at)
        for at in (T - 2 * HOUR, T - second):  # before, same length: 2
            add_contact(at)
        add_contact(T - 2 * HOUR - second)  # before the before-window
        add_contact(T + 2 * HOUR)  # after the end
        add_contact(T + HOUR, lang="ar")  # another language
        add_contact(T + HOUR, category="returns")  # another topic: only for "all"
        add_contact(T - HOUR, category="")  # no topic chosen: only for "all"

        effect = notice_effect(orders.id, now=T + 5 * HOUR)
        assert (effect.contacts_during, effect.contacts_before_same_length, effect.hours) == (
            3,
            2,
            2.0,
        )
        effect = notice_effect(everything.id, now=T + 5 * HOUR)
        assert (effect.contacts_during, effect.contacts_before_same_length) == (4, 3)

        # While still active, both windows run as long as it has been active so far.
        effect = notice_effect(orders.id, now=T + HOUR)
        assert (effect.contacts_during, effect.contacts_before_same_length, effect.hours) == (
            1,
            1,
            1.0,
        )
        # Not started yet: nothing to compare.
        effect = notice_effect(orders.id, now=T - HOUR)
        assert not effect.started and effect.contacts_during == 0
        assert notice_effect(999) is None


def form_data(response, **fields) -> dict:
    data = {
        "title": "Payment outage",
        "text": "Card payments fail.\nPlease try again later.",
        "lang": "en",
        "category": "payments",
        "starts_at": (utcnow() - HOUR).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (utcnow() + HOUR).strftime("%Y-%m-%dT%H:%M"),
        "csrf_token": csrf_token(response),
    }
    data.update(fields)
    return data


def test_writer_creates_edits_ends_and_deletes_a_notice(app, writer, client):
    new = writer.get("/admin/notices/new")
    assert new.status_code == 200
    form = page(new).find("form", class_="notice-form")
    assert form.find("input", attrs={"name": "starts_at"})["type"] == "datetime-local"
    assert form.find("textarea", attrs={"name": "text"})["dir"] == "auto"
    response = writer.post("/admin/notices/new", data=form_data(new))
    assert response.status_code == 302
    detail_url = response.location
    detail = page(writer.get(detail_url))
    assert detail.find(id="notice-status").get_text(strip=True) == "Active now"
    assert shown_titles(client.get("/en/articles/track-order")) == []
    listing = page(writer.get("/admin/notices"))
    active = listing.find(id="active-heading").find_parent("section")
    assert [a.get_text() for a in active.select("tbody a")] == ["Payment outage"]

    notice_id = int(detail_url.rsplit("/", 1)[1])
    edit = writer.get(f"/admin/notices/{notice_id}/edit")
    assert page(edit).find("input", attrs={"name": "title"})["value"] == "Payment outage"
    response = writer.post(
        f"/admin/notices/{notice_id}/edit",
        data=form_data(edit, title="Payments fixed soon", lang="ar", category="all"),
    )
    assert response.status_code == 302
    with app.app_context():
        notice = get_notice(notice_id)
    assert (notice.title, notice.lang, notice.category) == ("Payments fixed soon", "ar", "all")
    assert shown_titles(client.get("/ar/")) == ["Payments fixed soon"]

    token = csrf_token(writer.get(detail_url))
    assert writer.post(f"/admin/notices/{notice_id}/end", data={"csrf_token": token}).status_code
    assert shown_titles(client.get("/ar/")) == []
    with app.app_context():
        assert get_notice(notice_id).status() == "past"
        with pytest.raises(NoticeError):
            end_notice(notice_id)  # only an active notice can end
    listing = page(writer.get("/admin/notices"))
    past = listing.find(id="past-heading").find_parent("section")
    assert [a.get_text() for a in past.select("tbody a")] == ["Payments fixed soon"]

    response = writer.post(f"/admin/notices/{notice_id}/delete", data={"csrf_token": token})
    assert response.status_code == 302 and response.location == "/admin/notices"
    assert writer.get(detail_url).status_code == 404


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ends_at": "2026-03-10T11:00", "starts_at": "2026-03-10T12:00"}, "after the start"),
        ({"ends_at": "2026-03-10T12:00", "starts_at": "2026-03-10T12:00"}, "after the start"),
        ({"text": "x" * 1001}, "1000"),
        ({"title": "t" * 201}, "200"),
        ({"title": ""}, "required"),
        ({"starts_at": "tomorrow"}, "date"),
        ({"category": "no-such-topic"}, "choice"),
        ({"lang": "fr"}, "choice"),
    ],
)
def test_invalid_notice_form_is_shown_again_with_the_error(app, writer, fields, message):
    new = writer.get("/admin/notices/new")
    response = writer.post("/admin/notices/new", data=form_data(new, **fields))
    assert response.status_code == 400
    errors = " ".join(e.get_text() for e in page(response).select(".field-error"))
    assert message in errors.lower() or message in errors
    with app.app_context():
        assert list_notices().active == ()


def test_scheduled_notice_is_listed_and_its_page_shows_no_effect_yet(app, writer, client):
    with app.app_context():
        notice = add_notice("Planned", starts=utcnow() + HOUR, ends=utcnow() + 2 * HOUR)
    listing = page(writer.get("/admin/notices"))
    scheduled = listing.find(id="scheduled-heading").find_parent("section")
    assert [a.get_text() for a in scheduled.select("tbody a")] == ["Planned"]
    detail = page(writer.get(f"/admin/notices/{notice.id}"))
    assert detail.find(id="contacts-during") is None
    assert detail.find("form", action=f"/admin/notices/{notice.id}/end") is None
    assert shown_titles(client.get("/en/")) == []


def test_notice_page_shows_its_effect(app, writer):
    now = utcnow().replace(microsecond=0)
    with app.app_context():
        notice = add_notice(category="orders", starts=now - 2 * HOUR, ends=now - HOUR)
        add_contact(now - 90 * dt.timedelta(minutes=1))
        add_contact(now - 130 * dt.timedelta(minutes=1))
        add_contact(now - 140 * dt.timedelta(minutes=1))
    detail = page(writer.get(f"/admin/notices/{notice.id}"))
    assert detail.find(id="contacts-during").get_text() == "1"
    assert detail.find(id="contacts-before").get_text() == "2"


def test_writers_see_the_notices_link(writer):
    home = page(writer.get("/admin/"))
    assert home.find("a", href="/admin/notices")
