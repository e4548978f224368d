"""Search input and Markdown abuse (DESIGN.md sections 5 and 9), from ../shared/eval material.

Work is bounded by caps the tests inspect (query length, terms reaching Whoosh, Markdown
complexity budget); times are printed for the record, never asserted.
"""

from __future__ import annotations

import json
import random
import re
import statistics
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

import kb.content.render as render_module
import kb.search.engine as engine_module
import kb.search.suggest as suggest_module
from kb.accounts import create_user
from kb.content.html_cache import HtmlCache, cache_dir
from kb.content.render import budget_problem
from kb.web.public import QUERY_MAX

from .conftest import STAFF_PASSWORD, log_in, page, textarea_text

ENDPOINTS = ("page", "api-search", "api-suggest")
WORDS = "order refund delivery password account card shipping طلب شحن استرداد حساب كلمة".split()


# Inputs built from the documented generators


def whoosh_queries(eval_dir: Path) -> list[tuple[str, str]]:
    """(name, query) for every line and N of dos/whoosh_queries.jsonl."""
    found = []
    rng = random.Random(5)
    for line in (eval_dir / "dos" / "whoosh_queries.jsonl").read_text().splitlines():
        case = json.loads(line)
        name, generator = case["name"], case.get("query_generator", "")
        if "query" in case:
            found.append((name, case["query"]))
        elif generator == "' OR '.join(['1']*N)":
            found += [(f"{name} N={n}", " OR ".join(["1"] * n)) for n in case["N"]]
        elif generator == "'('*N + 'x' + ')'*N":
            found += [(f"{name} N={n}", "(" * n + "x" + ")" * n) for n in case["N"]]
        elif generator.startswith("' '.join(random words"):
            found += [
                (f"{name} N={n}", " ".join(rng.choice(WORDS) for _ in range(n))) for n in case["N"]
            ]
        elif generator.startswith("' '.join(c+'*' for c in"):
            letters = "abcdefghijklmnopqrstuvwxyz" * 4
            found.append((name, " ".join(c + "*" for c in letters[:100])))
        else:
            pytest.fail(f"unknown generator in whoosh_queries.jsonl: {generator!r}")
    return found


def xss_payloads(eval_dir: Path) -> list[str]:
    xss = eval_dir / "xss"
    lines = [line for line in xss.joinpath("payloads.txt").read_text().splitlines() if line]
    records = [json.loads(line)["payload"] for line in xss.joinpath("payloads.jsonl").open()]
    return list(dict.fromkeys(lines + records))


def markdown_cases(eval_dir: Path) -> list[tuple[str, str]]:
    """(name, text) for every line of dos/markdown_pathological.jsonl."""
    found = []
    for line in (eval_dir / "dos" / "markdown_pathological.jsonl").read_text().splitlines():
        case = json.loads(line)
        name = case["name"]
        if "literal" in case:
            text = case["literal"]
        elif name == "deeply nested lists":
            text = "".join("  " * x + "* a\n" for x in range(1000))
        elif name == "backticks":
            text = "".join("e" + "`" * x for x in range(1, 10000))
        elif name == "many references":
            text = "".join(f"[{x}]: u\n" for x in range(1, 800000)) + "[0] " * 50000
        elif "unit" in case:
            text = (
                case.get("prefix", "")
                + case["unit"] * case["repeat"]
                + case.get("infix", "")
                + case.get("suffix_unit", "") * case.get("suffix_repeat", 0)
                + case.get("suffix", "")
            )
        else:
            pytest.fail(f"unknown generator in markdown_pathological.jsonl: {case}")
        found.append((name, text))
    return found


# Helpers


def request_for(client, endpoint: str, query: str, lang: str):
    if endpoint == "page":
        return client.get(f"/{lang}/search", query_string={"q": query})
    path = "/api/search" if endpoint == "api-search" else "/api/suggest"
    return client.get(path, query_string={"q": query, "lang": lang})


@pytest.fixture
def work(monkeypatch):
    """Records what reaches the index: the query text, the terms, the suggestion prefix."""
    seen = {"chars": [], "terms": [], "prefix": []}
    search = engine_module.SearchEngine._search
    score = engine_module._score
    suggest = suggest_module.Suggester._suggest

    def spy_search(self, searcher, ranker, text, *args, **kwargs):
        seen["chars"].append(len(text))
        return search(self, searcher, ranker, text, *args, **kwargs)

    def spy_score(ranker, terms, *args, **kwargs):
        seen["terms"].append(len(terms))
        return score(ranker, terms, *args, **kwargs)

    def spy_suggest(self, raw, query, *args, **kwargs):
        seen["prefix"].append(len(query))
        return suggest(self, raw, query, *args, **kwargs)

    monkeypatch.setattr(engine_module.SearchEngine, "_search", spy_search)
    monkeypatch.setattr(engine_module, "_score", spy_score)
    monkeypatch.setattr(suggest_module.Suggester, "_suggest", spy_suggest)
    return seen


def assert_bounded(seen) -> None:
    assert max(seen["chars"], default=0) <= engine_module.MAX_QUERY_CHARS
    assert max(seen["terms"], default=0) <= engine_module.MAX_QUERY_TERMS
    assert max(seen["prefix"], default=0) <= suggest_module.MAX_PREFIX_CHARS


def assert_no_injected_markup(html: str, payload: str) -> None:
    """The page holds the payload only as text: no script body, handler or foreign element."""
    soup = BeautifulSoup(html, "html.parser")
    for script in soup.find_all("script"):
        assert script.get("src") and not script.get_text(strip=True), script
    for element in soup.find_all(True):
        assert not any(name.lower().startswith("on") for name in element.attrs), element
        assert element.name not in {"iframe", "object", "embed", "svg", "math", "base"}, element
    echoed = payload[:QUERY_MAX].strip()
    if len(echoed) >= 8 and re.search(r"<[A-Za-z!/?]", echoed):
        assert echoed not in html


def assert_safe_snippets(body: dict) -> None:
    for result in body.get("results", []):
        snippet = BeautifulSoup(result["snippet"], "html.parser")
        assert {tag.name for tag in snippet.find_all(True)} <= {"mark"}, result["snippet"]
        assert all(not tag.attrs for tag in snippet.find_all(True)), result["snippet"]


def report(request, title: str, times: dict[str, list[float]]) -> None:
    """Print max and p95 per endpoint (pytest -s) and add them to the terminal summary."""
    lines = [title]
    for endpoint, values in times.items():
        if not values:
            continue
        p95 = statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]
        lines.append(
            f"  {endpoint:12s} n={len(values):5d} max={max(values) * 1000:8.1f} ms "
            f"p95={p95 * 1000:8.1f} ms"
        )
    print("\n" + "\n".join(lines))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        for line in lines:
            reporter.write_line(line)


def run_all(client, request, title, queries, check) -> None:
    times: dict[str, list[float]] = {endpoint: [] for endpoint in ENDPOINTS}
    for number, query in enumerate(queries):
        lang = ("en", "ar")[number % 2]
        for endpoint in ENDPOINTS:
            started = time.perf_counter()
            response = request_for(client, endpoint, query, lang)
            times[endpoint].append(time.perf_counter() - started)
            assert response.status_code < 500, (endpoint, query[:80], response.status_code)
            assert response.status_code in (200, 400, 413, 414), (endpoint, query[:80])
            if response.status_code == 200:
                check(endpoint, query, response)
    report(request, title, times)


# Search


def test_every_dos_query_answers_without_error_and_with_capped_work(
    client, request, shared_eval, work
):
    queries = whoosh_queries(shared_eval)
    assert len(queries) >= 15

    def check(endpoint, query, response):
        if endpoint == "page":
            assert_no_injected_markup(response.get_data(as_text=True), query)
        else:
            assert_safe_snippets(response.get_json())

    run_all(
        client, request, "whoosh_queries.jsonl times per endpoint:", [q for _, q in queries], check
    )
    assert work["chars"] and work["terms"] and work["prefix"], "the spies saw no search"
    assert_bounded(work)


def test_an_over_long_query_is_cut_on_the_page_and_refused_by_the_api(client, work):
    long_query = " ".join(["refund"] * 5000)
    assert client.get("/en/search", query_string={"q": long_query}).status_code == 200
    for path in ("/api/search", "/api/suggest"):
        response = client.get(path, query_string={"q": long_query, "lang": "en"})
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == 400
    assert_bounded(work)


def test_more_terms_than_the_cap_reach_whoosh_as_the_capped_list(client, work):
    many = " ".join(f"word{n}x" for n in range(60))[: QUERY_MAX - 1]
    assert client.get("/api/search", query_string={"q": many, "lang": "en"}).status_code == 200
    assert work["terms"] and max(work["terms"]) == engine_module.MAX_QUERY_TERMS


def test_every_xss_payload_is_escaped_on_every_search_endpoint(client, request, shared_eval, work):
    payloads = xss_payloads(shared_eval)
    assert len(payloads) > 1000

    def check(endpoint, query, response):
        if endpoint == "page":
            assert_no_injected_markup(response.get_data(as_text=True), query)
        else:
            assert response.mimetype == "application/json"
            assert_safe_snippets(response.get_json())

    run_all(client, request, "XSS payload times per endpoint:", payloads, check)
    assert_bounded(work)


# Markdown


@pytest.fixture
def writer(writable_app):
    with writable_app.app_context():
        create_user("writer@kb.example", STAFF_PASSWORD, "writer")
    client = writable_app.test_client()
    assert log_in(client, "writer@kb.example").status_code == 302
    return client


def editor_data(client, url: str) -> dict[str, str]:
    form = page(client.get(url)).select_one("form.editor-form")
    data = {field["name"]: field.get("value", "") for field in form.select("input[name]")}
    for textarea in form.select("textarea"):
        data[textarea["name"]] = textarea_text(form, textarea["name"])
    for select in form.select("select"):
        chosen = select.find("option", selected=True) or select.find("option")
        data[select["name"]] = chosen["value"]
    return data


def test_pathological_markdown_is_refused_or_rendered_within_the_budget(
    writable_app, writer, request, shared_eval
):
    url = "/admin/articles/en/track-order"
    path = writable_app.config["ARTICLES_DIR"] / "en" / "track-order.md"
    assert path.exists()
    lines = ["markdown_pathological.jsonl, editor save:"]
    for name, text in markdown_cases(shared_eval):
        before = path.read_text(encoding="utf-8") if path.exists() else None
        started = time.perf_counter()
        response = writer.post(url, data={**editor_data(writer, url), "body": text})
        elapsed = time.perf_counter() - started
        assert response.status_code in (302, 400, 413), (name, response.status_code)
        problem = budget_problem(text.replace("\x00", "").strip() + "\n")
        if response.status_code == 302:
            assert problem is None, name
        elif before is not None:
            assert path.read_text(encoding="utf-8") == before, f"{name}: refused but written"
        lines.append(f"  {response.status_code} {elapsed * 1000:8.1f} ms  {name}")
    print("\n" + "\n".join(lines))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        for line in lines:
            reporter.write_line(line)


def test_every_pathological_input_within_budget_renders_and_the_rest_falls_back(shared_eval):
    for name, text in markdown_cases(shared_eval):
        html = render_module.render_markdown.__wrapped__(text)
        if budget_problem(text) is not None:
            assert html == render_module.plain_paragraphs(text), name
            assert "<script" not in html
        else:
            assert html is not None, name


def test_the_budget_refuses_the_known_quadratic_constructs():
    assert budget_problem("[a" * 50_000)
    assert budget_problem("> " * 100 + "x")
    assert budget_problem("".join("  " * x + "* a\n" for x in range(100)))
    assert budget_problem("```" + " " * 4321 + "0")
    assert budget_problem("x\n" * 6000)
    assert budget_problem("x" * 100_001)
    ordinary = "\n\n".join(
        f"See [step {n}](/en/articles/track-order) and `code`." for n in range(300)
    )
    assert budget_problem(ordinary) is None


def test_the_editor_refuses_a_body_over_budget_with_the_reason(writable_app, writer):
    url = "/admin/articles/en/track-order"
    response = writer.post(url, data={**editor_data(writer, url), "body": "[a" * 20_000})
    assert response.status_code == 400
    assert "too many [" in response.get_data(as_text=True)


# HTML cache: no public request renders Markdown


def forbid_rendering(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("Markdown rendered during a public request")

    for module in ("kb.content.render", "kb.content.articles", "kb.content.html_cache"):
        monkeypatch.setattr(f"{module}.render_markdown", refuse)


def test_public_pages_serve_cached_html_without_rendering(app, client, monkeypatch):
    with app.app_context():
        expected = render_module.render_markdown.__wrapped__(
            app.extensions["kb.library"].get("en", "track-order").body
        )
    forbid_rendering(monkeypatch)
    response = client.get("/en/articles/track-order")
    assert response.status_code == 200
    body = page(response).select_one(".article-body")
    assert body is not None
    assert body.decode_contents().strip() == BeautifulSoup(expected, "html.parser").decode().strip()
    assert client.get("/api/articles/en/track-order").get_json()["html"] == expected
    assert client.get("/en/contact", query_string={"q": "track my order"}).status_code == 200
    assert client.get("/ar/").status_code == 200


def test_an_article_without_cached_html_still_opens_with_a_notice(tmp_path, monkeypatch):
    from kb import create_app

    from .conftest import app_config, make_index

    index = make_index(Path(app_config(tmp_path)["ARTICLES_DIR"]), tmp_path / "index")
    for entry in cache_dir(index).rglob("*.html"):
        entry.unlink()
    app = create_app(app_config(tmp_path, INDEX_DIR=str(index)))
    with app.app_context():
        from kb.extensions import db

        db.create_all()
    forbid_rendering(monkeypatch)
    response = app.test_client().get("/en/articles/track-order")
    assert response.status_code == 200
    html = page(response)
    assert html.select_one(".article-body") is None
    assert html.select_one(".article .notice") is not None
    assert app.test_client().get("/api/articles/en/track-order").get_json()["html"] is None


def test_an_editor_save_serves_the_new_html_at_once(writable_app, writer, monkeypatch):
    url = "/admin/articles/en/track-order"
    data = editor_data(writer, url)
    response = writer.post(url, data={**data, "body": "Brand *new* text.\n\n## A heading"})
    assert response.status_code == 302
    cached = HtmlCache(cache_dir(writable_app.config["INDEX_DIR"]))
    assert cached.get("Brand *new* text.\n\n## A heading\n") is not None
    forbid_rendering(monkeypatch)
    public = writable_app.test_client().get("/en/articles/track-order")
    body = page(public).select_one(".article-body")
    assert body.find("em").get_text() == "new"
    assert body.find("h2").get_text() == "A heading"


def test_the_index_command_writes_the_html_cache(writable_app, tmp_path):
    index = tmp_path / "fresh-index"
    writable_app.config["INDEX_DIR"] = index
    result = writable_app.test_cli_runner().invoke(args=["kb", "index"])
    assert result.exit_code == 0, result.output
    assert len(list(cache_dir(index).rglob("*.html"))) >= 4
