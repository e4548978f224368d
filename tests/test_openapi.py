"""The OpenAPI 3.1 description at /api/openapi.json is valid, complete and true."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from kb import create_app
from kb.extensions import db

from .conftest import app_config, csrf_token, page

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
DOCUMENT_URI = "urn:kb:openapi"
SHOP_ORIGIN = "http://127.0.0.1:5001"


@pytest.fixture
def document(client) -> dict:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def documented_schema(document: dict, path: str, method: str, status: int) -> str | None:
    """JSON pointer to the schema the document gives this answer (None: no body)."""
    responses = document["paths"][path][method]["responses"]
    status_key = str(status) if str(status) in responses else "default"
    pointer = ["paths", path, method, "responses", status_key]
    answer = responses[status_key]
    if "$ref" in answer:
        pointer = answer["$ref"].removeprefix("#/").split("/")
        answer = document["components"]["responses"][pointer[-1]]
    if "content" not in answer:
        return None
    pointer += ["content", "application/json", "schema"]
    return "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in pointer)


def assert_documented(document: dict, path: str, method: str, response) -> None:
    """``response`` is what the document says ``method path`` answers with its status."""
    pointer = documented_schema(document, path, method, response.status_code)
    if pointer is None:
        assert response.data == b"", f"{method} {path} {response.status_code} has a body"
        return
    assert response.mimetype == "application/json", response.data[:200]
    # The document as a resource, so the schemas' "#/components/..." references resolve.
    registry = Registry().with_resource(DOCUMENT_URI, DRAFT202012.create_resource(document))
    validator = Draft202012Validator({"$ref": f"{DOCUMENT_URI}#{pointer}"}, registry=registry)
    errors = [error.message for error in validator.iter_errors(response.get_json())]
    assert not errors, f"{method} {path} {response.status_code}: {errors}"


# The document


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1.")
    validate(document, cls=OpenAPIV31SpecValidator)


def test_every_api_route_is_described_and_nothing_else(app, document):
    routes = {
        (CONVERTER.sub(r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    described = {
        (path, method)
        for path, item in document["paths"].items()
        for method in item.keys() & HTTP_METHODS
    }
    assert routes == described
    for path, item in document["paths"].items():
        for method in item.keys() & HTTP_METHODS:
            responses = item[method]["responses"]
            assert "default" in responses, f"{method} {path}: errors are not described"


def test_languages_and_limits_are_the_ones_the_api_enforces(app, client, document):
    parameters = {
        (path, parameter["name"]): parameter["schema"]
        for path in ("/api/search", "/api/suggest")
        for parameter in document["paths"][path]["get"]["parameters"]
    }
    for path in ("/api/search", "/api/suggest"):
        assert parameters[path, "lang"]["enum"] == app.config["LANGUAGES"]
        q_max = parameters[path, "q"]["maxLength"]
        limit = parameters[path, "limit"]
        for query, status in [
            ({"q": "ع" * q_max}, 200),
            ({"q": "ع" * (q_max + 1)}, 400),
            ({"limit": limit["minimum"]}, 200),
            ({"limit": limit["maximum"]}, 200),
            ({"limit": limit["minimum"] - 1}, 400),
            ({"limit": limit["maximum"] + 1}, 400),
            ({"limit": "ten"}, 400),
            ({"lang": "fr"}, 400),
        ]:
            response = client.get(path, query_string={"q": "refund", "lang": "en", **query})
            assert response.status_code == status, (path, query)


def test_the_error_format_and_security_are_described(document):
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert error["properties"]["error"]["required"] == ["code", "message"]
    feedback = document["paths"]["/api/articles/{lang}/{slug}/feedback"]["post"]
    assert feedback["security"] == [{"session": [], "csrfToken": []}]
    assert document["components"]["securitySchemes"]["csrfToken"]["name"] == "X-CSRFToken"
    for status in ("400", "404", "413", "415", "429"):
        assert status in feedback["responses"]
    for path in ("/api/search", "/api/suggest"):
        assert {"400", "429", "503"} <= document["paths"][path]["get"]["responses"].keys()
    assert "KB_WIDGET_ORIGINS" in document["info"]["description"]


# Real answers match the document


def test_successful_answers_match_their_schemas(client, document):
    for url, path in [
        ("/api/search?q=refund&lang=en&limit=3", "/api/search"),
        ("/api/search?q=تتبع الطلب&lang=ar", "/api/search"),
        ("/api/search?q=refnd&lang=en", "/api/search"),  # "did you mean"
        ("/api/search?q=+&lang=en", "/api/search"),
        ("/api/suggest?q=tra&lang=en", "/api/suggest"),
        ("/api/suggest?q=وين&lang=ar", "/api/suggest"),
        ("/api/suggest?q=t&lang=en", "/api/suggest"),
        ("/api/articles/en/track-order", "/api/articles/{lang}/{slug}"),
        ("/api/articles/ar/refund-timing", "/api/articles/{lang}/{slug}"),
        ("/api/openapi.json", "/api/openapi.json"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_documented(document, path, "get", response)
    token = csrf_token(client.get("/ar/articles/track-order"))
    response = client.post(
        "/api/articles/ar/track-order/feedback",
        json={"helpful": False, "comment": "ناقص رقم التتبع"},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 204
    assert_documented(document, "/api/articles/{lang}/{slug}/feedback", "post", response)


def test_error_answers_use_the_documented_error_format(app, client, document):
    token = csrf_token(client.get("/en/articles/track-order"))
    feedback = "/api/articles/{lang}/{slug}/feedback"
    article = "/api/articles/{lang}/{slug}"
    cases = [
        (client.get("/api/search?q=x&lang=fr"), "/api/search", "get", 400),
        (client.get("/api/suggest?q=x&limit=99"), "/api/suggest", "get", 400),
        (client.get("/api/articles/en/no-such-article"), article, "get", 404),
        (client.get("/api/articles/en/gift-cards"), article, "get", 404),  # a draft
        (client.post("/api/articles/en/track-order/feedback", json={}), feedback, "post", 400),
        (
            client.post(
                "/api/articles/en/track-order/feedback",
                data="x" * (app.config["MAX_CONTENT_LENGTH"] + 1),
                headers={"X-CSRFToken": token, "Content-Type": "application/json"},
            ),
            feedback,
            "post",
            413,
        ),
        (
            client.post(
                "/api/articles/en/track-order/feedback",
                data="helpful=yes",
                headers={"X-CSRFToken": token, "Content-Type": "text/plain"},
            ),
            feedback,
            "post",
            415,
        ),
        (client.get("/api/articles/en/track-order/feedback"), feedback, "post", 405),
        (client.delete("/api/search"), "/api/search", "get", 405),
    ]
    for response, path, method, status in cases:
        assert response.status_code == status, (path, response.data[:200])
        assert response.get_json()["error"]["code"] == status
        assert_documented(document, path, method, response)
        if status == 405:
            assert response.headers["Allow"], "a 405 names the allowed methods"
    unknown = client.get("/api/nothing")
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == 404
    assert_documented(document, "/api/search", "get", unknown)  # the "default" error answer


def test_search_unavailable_and_unexpected_errors_are_documented_json(tmp_path):
    app = create_app(app_config(tmp_path))  # no index built
    app.add_url_rule("/api/test-crash", "test_crash", lambda: 1 / 0)
    with app.app_context():
        db.create_all()
    client = app.test_client()
    document = client.get("/api/openapi.json").get_json()
    for path in ("/api/search", "/api/suggest"):
        response = client.get(path, query_string={"q": "refund", "lang": "en"})
        assert response.status_code == 503
        assert response.get_json()["error"] == {"code": 503, "message": "search is unavailable"}
        assert_documented(document, path, "get", response)
    crash = client.get("/api/test-crash")
    assert crash.status_code == 500 and crash.get_json()["error"]["code"] == 500
    assert_documented(document, "/api/search", "get", crash)  # the "default" error answer
    with app.app_context():
        db.engine.dispose()


def test_a_rate_limited_answer_is_the_documented_429(tmp_path, shared_index):
    app = create_app(
        app_config(
            tmp_path,
            INDEX_DIR=str(shared_index),
            RATELIMIT_ENABLED=True,
            RATELIMIT_STORAGE_URI="memory://",
            SEARCH_RATE_LIMIT="1 per minute",
        )
    )
    with app.app_context():
        db.create_all()
    client = app.test_client()
    document = client.get("/api/openapi.json").get_json()
    assert "1 per minute" in document["info"]["description"]
    assert client.get("/api/suggest?q=refund&lang=en").status_code == 200
    limited = client.get("/api/suggest?q=refund&lang=en")
    assert limited.status_code == 429
    assert_documented(document, "/api/suggest", "get", limited)
    with app.app_context():
        db.engine.dispose()


def test_widget_event_answers_match_the_document(embedding_app):
    document = embedding_app.test_client().get("/api/openapi.json").get_json()
    panel = embedding_app.test_client()
    opened = panel.get(f"/ar/widget?origin={SHOP_ORIGIN}&path=/checkout")
    token = page(opened).find("meta", attrs={"name": "csrf-token"})["content"]
    url, headers = "/api/widget/events", {"X-CSRFToken": token}
    for response, status in [
        (panel.post(url, json={"event": "open", "lang": "ar"}, headers=headers), 204),
        (panel.post(url, json={"event": "opened", "lang": "ar"}, headers=headers), 400),
        (panel.post(url, json={"event": "close", "lang": "fr"}, headers=headers), 400),
        (panel.post(url, data={"event": "open"}, headers=headers), 415),
        (panel.post(url, json={"event": "open", "lang": "ar"}), 400),  # no CSRF token
    ]:
        assert response.status_code == status, response.data[:200]
        assert_documented(document, url, "post", response)


# Schemathesis: generated requests, bounded


POSITIVE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
NEGATIVE_CHECKS = [*POSITIVE_CHECKS, negative_data_rejection]


def run_generated_cases(strategy, checks: list, max_examples: int) -> None:
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case):
        response = case.call()
        case.validate_response(response, checks=checks)

    check()


@pytest.fixture
def embedding_app(tmp_path, shared_index):
    """An app a shop may embed, so the widget panel (and its events) can be opened."""
    app = create_app(app_config(tmp_path, INDEX_DIR=str(shared_index), WIDGET_ORIGINS=SHOP_ORIGIN))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


def page_credentials(app, url: str, cookie_name: str) -> dict[str, dict[str, str]]:
    """What kb's page at ``url`` sends with its script's POSTs: CSRF token and cookie."""
    client = app.test_client()
    response = client.get(url)
    assert response.status_code == 200, url
    token = page(response).find("meta", attrs={"name": "csrf-token"}) or page(response).find(
        "input", attrs={"name": "csrf_token"}
    )
    token = token.get("content") or token.get("value")
    return {
        "headers": {"X-CSRFToken": token},
        "cookies": {cookie_name: client.get_cookie(cookie_name).value},
    }


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(embedding_app, mode):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", embedding_app)
    # Requests as kb's own pages send them, so the POSTs reach their views.
    site = page_credentials(embedding_app, "/en/articles/track-order", "session")
    panel = page_credentials(
        embedding_app, f"/ar/widget?origin={SHOP_ORIGIN}&path=/checkout", "kb_widget"
    )
    checks = POSITIVE_CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS
    operations = [result.ok() for result in schema.get_all_operations()]
    tested = {(operation.path, operation.method) for operation in operations}
    described = {
        (path, method)
        for path, item in schema.raw_schema["paths"].items()
        for method in item.keys() & HTTP_METHODS
    }
    assert described - tested <= {("/api/openapi.json", "get")}  # the loader skips itself
    for operation in operations:
        credentials = panel if operation.path.startswith("/api/widget/") else site
        strategy = operation.as_strategy(generation_mode=mode, **credentials)
        run_generated_cases(strategy, checks, 25)
        # Also with an article that exists (a GET of one has nothing left to negate).
        if "{slug}" in operation.path and (mode is GenerationMode.POSITIVE or operation.body):
            existing = operation.as_strategy(
                generation_mode=mode,
                path_parameters={"lang": "ar", "slug": "track-order"},
                **credentials,
            )
            run_generated_cases(existing, checks, 10)
