"""Every back-office route x every role: built from the app's URL map, so no route is missed."""

from __future__ import annotations

import pytest

from kb.accounts import ROLES, role_allows

from .conftest import csrf_token, log_in

# The role each back-office endpoint needs; None = anyone (the login page). A new route
# missing here fails test_every_back_office_route_is_in_the_table.
REQUIRED_ROLE = {
    "auth.login": None,
    "auth.logout": "writer",
    "auth.password": "writer",
    "admin.home": "writer",
    "admin.users": "admin",
    "contacts_admin.index": "manager",
    "contacts_admin.detail": "manager",
    "contacts_admin.handled": "manager",
    "contacts_admin.answer": "manager",
    "contacts_admin.deliver": "manager",
    "dashboard.index": "manager",
    "dashboard.chart": "manager",
    "dashboard.export": "manager",
    "notices_admin.index": "writer",
    "notices_admin.create": "writer",
    "notices_admin.detail": "writer",
    "notices_admin.edit": "writer",
    "notices_admin.end": "writer",
    "notices_admin.delete": "writer",
    "editor.index": "writer",
    "editor.new": "writer",
    "editor.edit": "writer",
    "editor.preview": "writer",
    "editor.change_status": "writer",
    "editor.revisions": "writer",
    "editor.restore": "writer",
    "gaps.index": "writer",
    "gaps.export": "writer",
}

# POST-only routes that answer an allowed user with a page or JSON instead of a redirect.
POST_STATUS = {"editor.preview": 200}


# Values for routes with URL arguments (fixture articles exist under these; the contact
# request and the notice are created by the sample_records fixture).
SAMPLE_ARGUMENTS = {
    "lang": "en",
    "slug": "track-order",
    "reference": "KB-SAMPLE00",
    "notice_id": 1,
    "chart": "flows",
    "table": "trend",
    "article_lang": "en",
}


@pytest.fixture
def sample_records(app):
    """The records the sample URL arguments point to."""
    import datetime as dt

    from kb.contact.models import ContactRequest
    from kb.extensions import db
    from kb.notices import create_notice

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with app.app_context():
        db.session.add(
            ContactRequest(
                reference=SAMPLE_ARGUMENTS["reference"],
                visit_id="sample-visit",
                lang="en",
                name="Sample",
                email="sample@example.com",
                message="Where is my order?",
            )
        )
        db.session.commit()
        notice = create_notice(
            title="Sample notice",
            text="Deliveries are late today.",
            lang="en",
            category="orders",
            starts_at=now - dt.timedelta(hours=1),
            ends_at=now + dt.timedelta(hours=1),
        )
    assert notice.id == SAMPLE_ARGUMENTS["notice_id"]


def back_office_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin")]


def test_every_back_office_route_is_in_the_table(app):
    assert {rule.endpoint for rule in back_office_rules(app)} == set(REQUIRED_ROLE)


@pytest.mark.parametrize("who", ["anonymous", *ROLES])
def test_each_role_reaches_exactly_its_routes(app, staff, sample_records, who):
    client = app.test_client()
    if who != "anonymous":
        assert log_in(client, staff[who]).status_code == 302
    token = csrf_token(client.get("/admin/login", follow_redirects=True))
    # Pages are read before anything changes (ending or deleting the sample notice), and
    # logging out ends the session the other checks need: it goes last.
    rules = sorted(
        back_office_rules(app),
        key=lambda rule: (rule.endpoint == "auth.logout", "GET" not in rule.methods),
    )
    for rule in rules:
        missing = rule.arguments - set(SAMPLE_ARGUMENTS)
        assert not missing, f"{rule.rule}: add sample values for {missing} to SAMPLE_ARGUMENTS"
        url = rule.build({name: SAMPLE_ARGUMENTS[name] for name in rule.arguments})[1]
        required = REQUIRED_ROLE[rule.endpoint]
        if "GET" in rule.methods:
            response = client.get(url)
        else:  # a valid CSRF token, so that only access control can refuse
            response = client.post(url, data={"csrf_token": token})
        if required is None:
            assert response.status_code in (200, 302), url
        elif who == "anonymous":
            assert response.status_code in (302, 401), (who, url, response.status_code)
            if response.status_code == 302:
                assert response.location.startswith("/admin/login"), url
        elif role_allows(who, required):
            expected = (200,) if "GET" in rule.methods else (POST_STATUS.get(rule.endpoint, 302),)
            assert response.status_code in expected, (who, url, response.status_code)
            if response.status_code == 302:
                assert not response.location.startswith("/admin/login?"), url
        else:
            assert response.status_code == 403, (who, url, response.status_code)
