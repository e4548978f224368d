"""Several app servers: an edit made on one reaches the others (README "Running at scale").

Each server is an app object with its own articles checkout and index, already serving
(warm article library, open searcher) before the change, as a long-running worker is. The
articles travel through a real bare git repository with scripts/publish-edits.sh, and each
server catches up with `flask kb sync`. Both servers share one database, as in production.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from kb import create_app
from kb.accounts import create_user, find_user
from kb.content import load_articles
from kb.extensions import db
from kb.search import build_index
from kb.search.index import index_path

from .conftest import (
    FIXTURE_ARTICLES,
    STAFF_PASSWORD,
    app_config,
    log_in,
    page,
)
from .test_editor import save

PROJECT = Path(__file__).resolve().parent.parent
PUBLISH = PROJECT / "scripts" / "publish-edits.sh"
WAIT = 60.0  # seconds: the bound on every subprocess
WRITER = "writer@kb.example"

NEW_ARTICLE = """---
title: Wombat-proof packaging
lang: en
summary: How we pack fragile orders.
category: orders
---

Fragile orders travel in wombat-proof satchel with double walls.
"""


@dataclass
class Server:
    app: object
    articles: Path
    index: Path

    @property
    def client(self):
        return self.app.test_client()

    def sync(self) -> str:
        result = self.app.test_cli_runner().invoke(args=["kb", "sync"])
        assert result.exit_code == 0, result.output
        return result.output


@pytest.fixture
def git_env(tmp_path) -> dict[str, str]:
    """git without the machine's own configuration or identity (the script brings one)."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "KB_"))}
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0")
    return env


def git(env, cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=WAIT
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def publish(env, server_or_dir) -> subprocess.CompletedProcess:
    directory = getattr(server_or_dir, "articles", server_or_dir)
    return subprocess.run(
        [str(PUBLISH), str(directory)], env=env, capture_output=True, text=True, timeout=WAIT
    )


@pytest.fixture
def origin(tmp_path, git_env) -> Path:
    """A bare articles repository holding the fixture articles, as a writer would push them."""
    bare = tmp_path / "origin.git"
    git(git_env, tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    seed = tmp_path / "seed"
    git(git_env, tmp_path, "clone", "--quiet", str(bare), str(seed))
    shutil.copytree(FIXTURE_ARTICLES, seed / "articles")
    git(git_env, seed, "add", "--all")
    identity = ["-c", "user.name=Writer", "-c", "user.email=writer@kb.example"]
    git(git_env, seed, *identity, "commit", "--quiet", "-m", "The first articles")
    git(git_env, seed, "push", "--quiet", "origin", "HEAD:main")
    return bare


@pytest.fixture
def make_server(tmp_path, git_env, origin):
    """make_server(name): a clone of ``origin`` with its own index, synced and serving."""
    servers = []

    def make(name: str, articles: Path | None = None) -> Server:
        if articles is None:
            checkout = tmp_path / name
            git(git_env, tmp_path, "clone", "--quiet", str(origin), str(checkout))
            articles = checkout / "articles"
        index = tmp_path / f"{name}-index"
        config = app_config(tmp_path, ARTICLES_DIR=str(articles), INDEX_DIR=str(index))
        server = Server(create_app(config), articles, index)
        with server.app.app_context():
            db.create_all()
        assert "Rebuilt the whole index (there was no index in v" in server.sync()
        servers.append(server)
        return server

    yield make
    for server in servers:
        with server.app.app_context():
            db.engine.dispose()


def writer_on(server: Server):
    with server.app.app_context():
        if find_user(WRITER) is None:  # the servers share one database
            create_user(WRITER, STAFF_PASSWORD, "writer")
    client = server.client
    assert log_in(client, WRITER).status_code == 302
    return client


def result_links(client, query: str, lang: str = "en") -> list[str]:
    response = client.get(f"/{lang}/search", query_string={"q": query})
    assert response.status_code == 200
    return [a["href"].split("?")[0] for a in page(response).select("ol.results li.result h2 a")]


def article_page(client, lang: str, slug: str) -> tuple[int, str, str]:
    """(status, title, body text) of an article page."""
    response = client.get(f"/{lang}/articles/{slug}")
    if response.status_code != 200:
        return response.status_code, "", ""
    html = page(response)
    body = html.select_one(".article-body")
    return 200, html.select_one("article h1").get_text(strip=True), body.get_text(" ", True)


def test_an_edit_on_one_server_reaches_a_running_server_after_publish_and_sync(
    make_server, git_env, origin, tmp_path
):
    a, b = make_server("a"), make_server("b")
    customer = b.client
    # B is serving: its library and searcher are warm.
    assert article_page(customer, "en", "track-order")[1] == "Track your order"
    assert result_links(customer, "wombat-proof satchel") == []
    assert result_links(customer, "رسالة نصية", "ar") == []

    writer = writer_on(a)
    english = "Every parcel leaves in wombat-proof satchel. Open **My orders** to track it."
    assert save(writer, "en", "track-order", title="Follow your parcel", body=english).status_code
    arabic = "نرسل لك رسالة نصية عندما يصل المبلغ المسترد إلى بطاقتك."
    assert save(writer, "ar", "refund-timing", body=arabic).status_code == 302
    # A serves and finds the edit at once (the editor indexed it).
    assert article_page(a.client, "en", "track-order")[1] == "Follow your parcel"
    assert result_links(a.client, "wombat-proof satchel")[:1] == ["/en/articles/track-order"]

    published = publish(git_env, a)
    assert published.returncode == 0, published.stderr
    assert "pushed to origin/main" in published.stdout
    log = git(git_env, tmp_path, "--git-dir", str(origin), "log", "-1", "--name-only")
    assert "Web editor changes on" in log
    assert "articles/en/track-order.md" in log and "articles/ar/refund-timing.md" in log

    pulled = publish(git_env, b)
    assert pulled.returncode == 0, pulled.stderr
    assert "wombat-proof" in (b.articles / "en" / "track-order.md").read_text(encoding="utf-8")
    # Pulled but not synced: B still serves the old version whole, not half of each.
    assert article_page(customer, "en", "track-order")[1] == "Track your order"
    assert result_links(customer, "wombat-proof satchel") == []

    output = b.sync()
    assert "changed: ar/refund-timing\nchanged: en/track-order\n" in output
    assert "0 added, 2 changed, 0 removed" in output

    status, title, body = article_page(customer, "en", "track-order")
    assert (status, title) == (200, "Follow your parcel")
    assert "Every parcel leaves in wombat-proof satchel." in body
    assert result_links(customer, "wombat-proof satchel")[:1] == ["/en/articles/track-order"]
    assert arabic in article_page(customer, "ar", "refund-timing")[2]
    assert result_links(customer, "رسالة نصية", "ar")[:1] == ["/ar/articles/refund-timing"]
    # Other articles are untouched.
    assert article_page(customer, "en", "refund-timing")[0] == 200


def test_articles_removed_and_added_upstream_leave_and_join_every_server(
    make_server, git_env, tmp_path
):
    b = make_server("b")
    customer = b.client
    assert article_page(customer, "en", "reset-password")[0] == 200
    assert "/en/articles/reset-password" in result_links(customer, "reset password")

    seed = tmp_path / "seed"  # a writer's own clone
    git(git_env, seed, "rm", "--quiet", "articles/en/reset-password.md")
    (seed / "articles" / "en" / "wombat-packaging.md").write_text(NEW_ARTICLE, encoding="utf-8")
    git(git_env, seed, "add", "--all")
    identity = ["-c", "user.name=Writer", "-c", "user.email=writer@kb.example"]
    git(git_env, seed, *identity, "commit", "--quiet", "-m", "Replace an article")
    git(git_env, seed, "push", "--quiet", "origin", "HEAD:main")

    assert publish(git_env, b).returncode == 0
    output = b.sync()
    assert "added: en/wombat-packaging" in output and "removed: en/reset-password" in output
    assert "1 added, 0 changed, 1 removed" in output

    assert article_page(customer, "en", "reset-password")[0] == 404
    assert "/en/articles/reset-password" not in result_links(customer, "reset password")
    status, title, body = article_page(customer, "en", "wombat-packaging")
    assert (status, title) == (200, "Wombat-proof packaging")
    assert "double walls" in body
    assert result_links(customer, "fragile satchel")[:1] == ["/en/articles/wombat-packaging"]


def test_a_sync_without_changes_does_nothing_and_says_so(make_server):
    b = make_server("b")
    tables_of_contents = sorted(index_path(b.index).glob("_MAIN_*.toc"))
    stamp = (b.index / "html-v1" / "content-stamp").read_text()
    assert "No article changed since the last sync: nothing to do" in b.sync()
    assert sorted(index_path(b.index).glob("_MAIN_*.toc")) == tables_of_contents
    assert (b.index / "html-v1" / "content-stamp").read_text() == stamp
    # A full `flask kb index` records what it indexed too: the next sync has nothing to do.
    result = b.app.test_cli_runner().invoke(args=["kb", "index"])
    assert result.exit_code == 0, result.output
    assert "nothing to do" in b.sync()


def test_a_sync_rebuilds_when_its_record_cannot_be_trusted(make_server):
    b = make_server("b")
    (index_path(b.index) / "sync-manifest.json").write_text("{not json", encoding="utf-8")
    assert "(no earlier sync recorded beside this index)" in b.sync()
    articles, _ = load_articles(b.articles)
    build_index(b.index, [article for article in articles if article.published])
    assert "(the index was rebuilt by other means since the last sync)" in b.sync()
    assert "nothing to do" in b.sync()


def test_a_synonyms_change_rebuilds_the_whole_index(make_server, git_env, tmp_path):
    b = make_server("b")
    customer = b.client
    assert result_links(customer, "wombat") == []
    seed = tmp_path / "seed"
    with (seed / "articles" / "synonyms.yml").open("a", encoding="utf-8") as synonyms:
        synonyms.write("  - [wombat, tracking]\n")
    identity = ["-c", "user.name=Writer", "-c", "user.email=writer@kb.example"]
    git(git_env, seed, *identity, "commit", "--quiet", "--all", "-m", "A synonym")
    git(git_env, seed, "push", "--quiet", "origin", "HEAD:main")
    assert publish(git_env, b).returncode == 0
    output = b.sync()
    assert "Rebuilt the whole index (synonyms.yml changed): 6 published articles" in output
    assert result_links(customer, "wombat")[:1] == ["/en/articles/track-order"]


def test_an_invalid_article_is_reported_and_taken_off_like_a_full_rebuild_does(make_server):
    b = make_server("b")
    path = b.articles / "en" / "refund-timing.md"
    path.write_text("---\ntitle: Refunds\nlang: xx\n---\nText\n", encoding="utf-8")
    result = b.app.test_cli_runner().invoke(args=["kb", "sync"])
    assert result.exit_code == 0, result.output
    assert "skipped:" in result.output and "refund-timing.md" in result.output
    assert "removed: en/refund-timing" in result.output
    assert article_page(b.client, "en", "refund-timing")[0] == 404
    assert "/en/articles/refund-timing" not in result_links(b.client, "refund")


def test_every_worker_of_a_server_serves_an_editor_save_at_once(make_server):
    first = make_server("a")
    # A second worker process of the same server: same directories, its own library.
    second = Server(create_app(first.app.config), first.articles, first.index)
    customer = second.client
    assert article_page(customer, "en", "track-order")[1] == "Track your order"
    writer = writer_on(first)
    assert save(writer, "en", "track-order", title="Follow your parcel").status_code == 302
    assert article_page(customer, "en", "track-order")[1] == "Follow your parcel"
    assert result_links(customer, "follow parcel")[:1] == ["/en/articles/track-order"]


def test_servers_sharing_one_articles_directory_need_only_sync(make_server, tmp_path):
    shared = shutil.copytree(FIXTURE_ARTICLES, tmp_path / "shared-articles")
    a, b = make_server("a", articles=shared), make_server("b", articles=shared)
    customer = b.client
    assert article_page(customer, "en", "track-order")[1] == "Track your order"
    body = "Every parcel leaves in wombat-proof satchel."
    assert save(writer_on(a), "en", "track-order", body=body).status_code == 302
    assert "changed: en/track-order" in b.sync()
    assert body in article_page(customer, "en", "track-order")[2]
    assert result_links(customer, "wombat-proof satchel")[:1] == ["/en/articles/track-order"]


def test_the_same_article_edited_on_two_servers_stops_for_a_person(make_server, git_env):
    a, b = make_server("a"), make_server("b")
    assert save(writer_on(a), "en", "track-order", title="Parcel A").status_code == 302
    assert save(writer_on(b), "en", "track-order", title="Parcel B").status_code == 302
    assert publish(git_env, a).returncode == 0
    conflict = publish(git_env, b)
    assert conflict.returncode == 1
    assert "changed here and upstream" in conflict.stderr and "en/track-order.md" in conflict.stderr
    # Nothing half-done: no rebase in progress, B keeps its own committed version.
    assert git(git_env, b.articles, "status", "--porcelain") == ""
    assert "title: Parcel B" in (b.articles / "en" / "track-order.md").read_text(encoding="utf-8")
    assert "Web editor changes" in git(git_env, b.articles, "log", "-1", "--format=%s")
