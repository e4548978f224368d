"""gunicorn.conf.py: timeouts and request limits, and a real server surviving abuse and reloads."""

from __future__ import annotations

import http.client
import json
import os
import runpy
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from kb import create_app
from kb.extensions import db
from kb.insights.models import SearchEvent

from .conftest import FIXTURE_ARTICLES, app_config, database_url, make_index

PROJECT = Path(__file__).resolve().parent.parent
GUNICORN = PROJECT / ".venv" / "bin" / "gunicorn"
WAIT = 20.0  # seconds: the bound on every wait for the server


@pytest.fixture(scope="module")
def settings() -> dict:
    return runpy.run_path(str(PROJECT / "gunicorn.conf.py"))


def test_gunicorn_bounds_how_long_a_request_can_hold_a_worker(settings):
    assert 0 < settings["timeout"] <= 30
    assert 0 < settings["graceful_timeout"] <= settings["timeout"]
    assert 0 < settings["keepalive"] <= 10


def test_gunicorn_caps_request_lines_and_headers(settings):
    # 0 would mean "unlimited" to gunicorn.
    assert 0 < settings["limit_request_line"] <= 8190
    assert 0 < settings["limit_request_fields"] <= 100
    assert 0 < settings["limit_request_field_size"] <= 8190


def test_gunicorn_runs_several_workers_on_localhost_by_default(settings):
    assert settings["workers"] >= 2
    assert settings["bind"].startswith("127.0.0.1:")
    assert settings["preload_app"] is True  # a bad config stops the master, not each worker


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def raw_request(port: int, data: bytes) -> bytes:
    """Send raw bytes, return the status line the server answered with (or b"")."""
    with socket.create_connection(("127.0.0.1", port), timeout=5.0) as sock:
        sock.sendall(data)
        reply = b""
        while b"\r\n" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply.split(b"\r\n", 1)[0]


def wait_until(condition, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def gunicorn_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_SECRET_KEY="gunicorn-test-secret", KB_ARTICLES_DIR=str(FIXTURE_ARTICLES))
    env.update(settings)
    return env


@contextmanager
def running_gunicorn(env: dict[str, str], log_path: Path) -> Iterator[tuple]:
    """gunicorn with the project config and 2 workers, once both workers are up."""
    port = free_port()
    log = log_path.open("wb")
    command = [str(GUNICORN), "-c", "gunicorn.conf.py", "--workers", "2"]
    command += ["--bind", f"127.0.0.1:{port}", "wsgi:app"]
    process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=log, stderr=log)
    try:

        def healthy() -> bool:
            assert process.poll() is None, log_path.read_text()
            try:
                return get(port, "/healthz", timeout=1.0)[0] == 200
            except OSError:
                return False

        wait_until(healthy, "gunicorn to answer /healthz")
        wait_until(lambda: len(children(process.pid)) == 2, "two workers")
        yield process, port
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=WAIT)
        log.close()


@pytest.fixture
def server(tmp_path):
    """gunicorn with the project config and 2 workers on a migrated temporary instance."""
    index = make_index(FIXTURE_ARTICLES, tmp_path / "index")
    database = database_url(tmp_path)  # PostgreSQL in the PostgreSQL pass
    app = create_app(app_config(tmp_path, DATABASE_URL=database, INDEX_DIR=str(index)))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    env = gunicorn_env(KB_INDEX_DIR=str(index), KB_DATABASE_URL=database)
    with running_gunicorn(env, tmp_path / "gunicorn.log") as running:
        yield running


@pytest.mark.slow
def test_make_run_migrates_and_indexes_in_the_master_before_the_workers_start(tmp_path):
    # `make run` on a fresh clone: no database tables and no index yet (KB_PREPARE_ON_START).
    database = database_url(tmp_path)
    env = gunicorn_env(
        KB_INDEX_DIR=str(tmp_path / "index"), KB_DATABASE_URL=database, KB_PREPARE_ON_START="1"
    )
    with running_gunicorn(env, tmp_path / "first.log") as (_process, port):
        status, body = get(port, "/api/search?q=refund&lang=en")
        assert status == 200
        assert json.loads(body)["results"][0]["slug"] == "refund-timing"  # indexed
        with create_app(app_config(tmp_path, DATABASE_URL=database)).app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(SearchEvent)) == 1
            db.engine.dispose()
    assert "Indexed" in (tmp_path / "first.log").read_text()
    # The next start finds both up to date and rebuilds nothing.
    with running_gunicorn(env, tmp_path / "second.log") as (_process, port):
        assert get(port, "/en/search?q=refund")[0] == 200
    second = (tmp_path / "second.log").read_text()
    assert "Search index is up to date" in second and "Running upgrade" not in second


@pytest.mark.slow
def test_gunicorn_rejects_oversized_requests_and_reloads_without_dropping_any(server, settings):
    process, port = server
    status, body = get(port, "/healthz")
    assert (status, body.strip()) == (200, b'{"status":"ok"}')
    workers = children(process.pid)

    too_long = b"GET /" + b"a" * (settings["limit_request_line"] + 10) + b" HTTP/1.1\r\n\r\n"
    assert raw_request(port, too_long).startswith(b"HTTP/1.1 4")
    big_header = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
    big_header += b"b" * (settings["limit_request_field_size"] + 10) + b"\r\n\r\n"
    assert raw_request(port, big_header).startswith(b"HTTP/1.1 4")
    many_headers = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    many_headers += b"".join(b"X-H%d: 1\r\n" % n for n in range(settings["limit_request_fields"]))
    assert raw_request(port, many_headers + b"\r\n").startswith(b"HTTP/1.1 4")
    # Rejected at the door: no worker crashed or was replaced.
    assert get(port, "/healthz")[0] == 200
    assert children(process.pid) == workers

    # SIGHUP: new workers start, the old ones finish gracefully; nobody is turned away.
    failures: list[str] = []
    answered = 0
    stop = threading.Event()

    def keep_asking() -> None:
        nonlocal answered
        deadline = time.monotonic() + WAIT
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                status, _ = get(port, "/healthz", timeout=5.0)
            except OSError as error:
                failures.append(repr(error))
            else:
                answered += 1
                if status != 200:
                    failures.append(f"status {status}")
            time.sleep(0.01)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        time.sleep(0.2)
        process.send_signal(signal.SIGHUP)

        def replaced() -> bool:
            now = children(process.pid)
            return len(now) == 2 and not now & workers

        wait_until(replaced, "the workers to be replaced after SIGHUP")
        time.sleep(0.3)
    finally:
        stop.set()
        asker.join(timeout=WAIT)
    assert not failures, failures[:5]
    assert answered > 10
    assert process.poll() is None
    assert get(port, "/healthz")[0] == 200
    assert get(port, "/en/search?q=refund")[0] == 200
