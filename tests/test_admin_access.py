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
}


# Values for routes with URL arguments (fixture articles exist under these).
SAMPLE_ARGUMENTS = {"lang": "en", "slug": "track-order"}


def back_office_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin")]


def test_every_back_office_route_is_in_the_table(app):
    assert {rule.endpoint for rule in back_office_rules(app)} == set(REQUIRED_ROLE)


@pytest.mark.parametrize("who", ["anonymous", *ROLES])
def test_each_role_reaches_exactly_its_routes(app, staff, who):
    client = app.test_client()
    if who != "anonymous":
        assert log_in(client, staff[who]).status_code == 302
    token = csrf_token(client.get("/admin/login", follow_redirects=True))
    # Logging out ends the session the other checks need: it goes last.
    rules = sorted(back_office_rules(app), key=lambda rule: rule.endpoint == "auth.logout")
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
            expected = (200,) if "GET" in rule.methods else (302,)
            assert response.status_code in expected, (who, url, response.status_code)
            if response.status_code == 302:
                assert not response.location.startswith("/admin/login?"), url
        else:
            assert response.status_code == 403, (who, url, response.status_code)
