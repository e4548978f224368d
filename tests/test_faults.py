"""Index faults: a killed rebuild, a missing or damaged index (DESIGN.md sections 5 and 9).

The site must keep serving articles, say "search unavailable" instead of failing, and
`flask kb index` must always be able to repair the index.
"""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from kb import create_app
from kb.errors import SearchUnavailable
from kb.extensions import db
from kb.search import build_index
from kb.search.engine import SearchEngine
from kb.search.index import index_is_current, index_path

from .conftest import FIXTURE_ARTICLES, app_config, database_url, make_index, page

PROJECT = Path(__file__).resolve().parent.parent
PYTHON = PROJECT / ".venv" / "bin" / "python"
WAIT = 20.0  # seconds: the bound on every wait for a subprocess


def keys(engine: SearchEngine, query: str, lang: str = "en") -> list[str]:
    return [hit.key for hit in engine.search(query, lang).hits]


def subprocess_env(tmp_path: Path, articles: Path, index: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(
        KB_SECRET_KEY="fault-test-secret",
        KB_ARTICLES_DIR=str(articles),
        KB_INDEX_DIR=str(index),
        KB_DATABASE_URL=database_url(tmp_path),
    )
    return env


def write_many_articles(directory: Path, count: int) -> None:
    """Enough generated articles that `flask kb index` takes seconds to build them."""
    (directory / "en").mkdir(parents=True)
    shutil.copy(FIXTURE_ARTICLES / "categories.yml", directory / "categories.yml")
    words = "quokka parcel voucher invoice wallet address tracking shipping payment".split()
    rnd = random.Random(5)
    for n in range(count):
        body = "\n\n".join(" ".join(rnd.choices(words, k=60)) + "." for _ in range(8))
        text = f"---\ntitle: Generated {n}\nlang: en\nsummary: Generated {n}.\n---\n\n{body}\n"
        (directory / "en" / f"generated-{n:04d}.md").write_text(text, encoding="utf-8")


def writer_lock_is_held(index: Path) -> bool:
    """True while another process holds Whoosh's fcntl writer lock on the index."""
    lock = index_path(index) / "MAIN_WRITELOCK"
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_WRONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


@pytest.mark.slow
def test_killed_rebuild_leaves_the_previous_index_serving_and_the_next_build_works(tmp_path):
    index = make_index(FIXTURE_ARTICLES, tmp_path / "index")
    before = {q: keys(SearchEngine(index), q) for q in ("refund", "password", "gift card")}
    assert all(before.values()), before
    toc_before = sorted(p.name for p in index_path(index).glob("_MAIN_*.toc"))
    big = tmp_path / "big-articles"
    write_many_articles(big, 700)

    build = subprocess.Popen(
        [str(PYTHON), "-m", "flask", "--app", "wsgi", "kb", "index"],
        cwd=PROJECT,
        env=subprocess_env(tmp_path, big, index),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + WAIT
        while not writer_lock_is_held(index):
            assert build.poll() is None, build.stderr.read().decode()
            assert time.monotonic() < deadline, "the rebuild never took the writer lock"
            time.sleep(0.02)
        time.sleep(0.5)  # well into adding documents (the whole build takes seconds)
        assert build.poll() is None, "the rebuild finished before it could be killed"
        build.send_signal(signal.SIGKILL)
        build.wait(timeout=WAIT)
    finally:
        if build.poll() is None:
            build.kill()
            build.wait(timeout=WAIT)
        build.stderr.close()
    assert build.returncode == -signal.SIGKILL

    # The killed build committed nothing: same table of contents, same answers.
    assert sorted(p.name for p in index_path(index).glob("_MAIN_*.toc")) == toc_before
    engine = SearchEngine(index)
    assert {q: keys(engine, q) for q in before} == before
    assert keys(engine, "quokka") == []  # none of the killed build
    # The lock died with the process (fcntl), and the build is known to be incomplete.
    assert not writer_lock_is_held(index)
    assert not index_is_current(index, "anything")

    # The next build takes the lock at once and the running engine moves to the new content.
    small = tmp_path / "small-articles"
    shutil.copytree(FIXTURE_ARTICLES, small)
    (small / "en" / "wombat-strike.md").write_text(
        "---\ntitle: Wombat strike delays\nlang: en\nsummary: Parcels are late.\n---\n\n"
        "A wombat strike delays parcels this week.\n",
        encoding="utf-8",
    )
    started = time.monotonic()
    result = subprocess.run(
        [str(PYTHON), "-m", "flask", "--app", "wsgi", "kb", "index"],
        cwd=PROJECT,
        env=subprocess_env(tmp_path, small, index),
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < WAIT / 2  # no waiting on a stale lock
    assert keys(engine, "wombat")[:1] == ["en/wombat-strike"]
    assert keys(engine, "quokka") == []
    assert {q: keys(engine, q) for q in before} == before
    # The killed build's half-written segment files were cleaned up by the commit.
    live = {p.name for p in index_path(index).iterdir()}
    assert len([name for name in live if name.endswith(".seg")]) == 1, sorted(live)


# Ways an index goes missing or bad on disk: each leaves search unavailable, not broken.
def delete_index(index: Path) -> None:
    shutil.rmtree(index)


def delete_toc(index: Path) -> None:
    for toc in index_path(index).glob("_MAIN_*.toc"):
        toc.unlink()


def empty_toc(index: Path) -> None:
    for toc in index_path(index).glob("_MAIN_*.toc"):
        toc.write_bytes(b"")


def truncate_toc(index: Path) -> None:
    for toc in index_path(index).glob("_MAIN_*.toc"):
        toc.write_bytes(toc.read_bytes()[:10])


def garble_toc(index: Path) -> None:
    for toc in index_path(index).glob("_MAIN_*.toc"):
        data = toc.read_bytes()
        toc.write_bytes(data[: len(data) // 2] + random.Random(1).randbytes(len(data) // 2))


def truncate_segment(index: Path) -> None:
    for segment in index_path(index).glob("*.seg"):
        segment.write_bytes(segment.read_bytes()[: segment.stat().st_size // 3])


def garble_segment(index: Path) -> None:
    for segment in index_path(index).glob("*.seg"):
        segment.write_bytes(random.Random(2).randbytes(segment.stat().st_size))


def delete_segment(index: Path) -> None:
    for segment in index_path(index).glob("*.seg"):
        segment.unlink()


DAMAGE = [
    delete_index,
    delete_toc,
    empty_toc,
    truncate_toc,
    garble_toc,
    truncate_segment,
    garble_segment,
    delete_segment,
]


@pytest.fixture
def damaged_app(tmp_path, shared_index, request):
    index = tmp_path / "index"
    shutil.copytree(shared_index, index)
    request.param(index)
    app = create_app(app_config(tmp_path, INDEX_DIR=str(index)))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("damaged_app", DAMAGE, indirect=True, ids=lambda f: f.__name__)
def test_a_missing_or_damaged_index_degrades_to_search_unavailable(damaged_app):
    client = damaged_app.test_client()

    # The search page answers 200: it still has the form and the way to browse or contact.
    response = client.get("/en/search?q=refund")
    assert response.status_code == 200
    html = page(response)
    assert html.select_one("form input[name=q]") is not None
    assert "unavailable" in html.select_one(".notice").get_text()
    assert not html.select(".results li, .result")

    assert client.get("/en/articles/refund-timing").status_code == 200
    assert client.get("/en/").status_code == 200
    api = client.get("/api/search?q=refund&lang=en")
    assert api.status_code == 503
    assert api.is_json
    assert client.get("/api/suggest?q=refu&lang=en").status_code == 503

    result = damaged_app.test_cli_runner().invoke(args=["kb", "index"])
    assert result.exit_code == 0, result.output
    # The same worker (engine) recovers on its next request, no restart needed.
    api = client.get("/api/search?q=refund&lang=en")
    assert api.status_code == 200
    assert "refund-timing" in [hit["slug"] for hit in api.get_json()["results"]]
    assert "unavailable" not in client.get("/en/search?q=refund").get_data(as_text=True)


def test_an_index_deleted_under_a_running_worker_becomes_unavailable(tmp_path):
    index = make_index(FIXTURE_ARTICLES, tmp_path / "index")
    engine = SearchEngine(index)
    assert keys(engine, "refund")
    shutil.rmtree(index)
    with pytest.raises(SearchUnavailable):
        engine.search("refund", "en")
    make_index(FIXTURE_ARTICLES, index)
    assert keys(engine, "refund")


def test_random_damage_to_index_files_only_ever_raises_search_unavailable(tmp_path, shared_index):
    """Whoosh fails in many ways on damaged files (struct, pickle, re, EOF, overflow...)."""
    files = [p.name for p in index_path(shared_index).glob("*") if p.suffix in (".toc", ".seg")]
    for seed in range(40):
        rnd = random.Random(seed)
        index = tmp_path / f"index{seed}"
        shutil.copytree(shared_index, index)
        target = index_path(index) / rnd.choice(files)
        data = bytearray(target.read_bytes())
        kind = rnd.choice(["flip", "truncate", "tail"])
        if kind == "flip":
            for _ in range(rnd.randint(1, 20)):
                data[rnd.randrange(len(data))] = rnd.randrange(256)
        elif kind == "truncate":
            del data[rnd.randrange(len(data)) :]
        else:
            start = rnd.randrange(len(data))
            data[start:] = rnd.randbytes(len(data) - start)
        target.write_bytes(bytes(data))
        try:
            SearchEngine(index).search("refund card", "en")
        except SearchUnavailable:
            pass
        shutil.rmtree(index)


def test_build_index_repairs_a_damaged_index_in_place(tmp_path):
    index = make_index(FIXTURE_ARTICLES, tmp_path / "index")
    garble_toc(index)
    with pytest.raises(SearchUnavailable):
        SearchEngine(index).search("refund", "en")
    from kb.content import load_articles

    articles, _ = load_articles(FIXTURE_ARTICLES)
    assert build_index(index, [a for a in articles if a.published]) > 0
    assert keys(SearchEngine(index), "refund")
