"""Soak test: gunicorn under mixed load while a worker is killed and the master reloads.

Usage: .venv/bin/python scripts/soak.py [--seconds 30] [--threads 4] [--max-requests 20000]
                                        [--postgres postgresql+psycopg://user@host/db]

Builds a temporary instance (SQLite database, or with --postgres a private schema on that
server, migrated with `flask db upgrade`; index of the sample articles), starts gunicorn with
the project config and 2 workers on a free port of 127.0.0.1, and drives searches, article
pages, API calls and contact submissions from a few threads. At a third of the time one
worker gets SIGKILL, at two thirds the master gets SIGHUP. Then it checks: no 5xx at all, no
connection errors except for requests in flight on the killed worker, and every contact that
reached the success page is in the database exactly once. Prints the figures; exits 1 when a
check fails. Not part of `make test`.

The standard library plus SQLAlchemy (to read the stored contacts): it runs with the
project's .venv/bin/python.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
BIN = PROJECT / ".venv" / "bin"
WAIT = 20.0  # seconds: the bound on every wait for the server
REQUEST_TIMEOUT = 10.0
QUERIES = {
    "en": ["refund", "reset password", "track my order", "gift card", "delivery late", "invoice"],
    "ar": ["استرداد", "كلمة المرور", "تتبع الطلب", "بطاقة هدية", "الشحن"],
}
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
MARKER = re.compile(r"soak-[0-9a-f]{16}")


@dataclass
class Outcome:
    kind: str
    started: float
    ended: float
    status: int | None  # None: the connection failed
    error: str = ""


@dataclass
class Record:
    outcomes: list[Outcome] = field(default_factory=list)
    attempted: list[str] = field(default_factory=list)  # contact markers sent
    confirmed: list[str] = field(default_factory=list)  # markers that got the success page
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    """One visitor: plain http.client with a cookie jar of its own."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None):
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, response.headers, text
        finally:
            connection.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def workers_of(pid: int) -> set[int]:
    """The live child processes of ``pid`` (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry.name))
    return found


def published_articles(articles_dir: Path) -> list[tuple[str, str]]:
    found = []
    for path in sorted(articles_dir.rglob("*.md")):
        lang = path.relative_to(articles_dir).parts[0]
        if lang in QUERIES and "status: draft" not in path.read_text(encoding="utf-8"):
            found.append((lang, path.stem))
    return found


def prepare_instance(workdir: Path, database_url: str) -> dict[str, str]:
    """Environment of a fresh instance: migrated database, index of the sample articles."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(
        KB_SECRET_KEY=secrets.token_hex(32),
        KB_ARTICLES_DIR=str(PROJECT / "articles"),
        KB_INDEX_DIR=str(workdir / "index"),
        KB_DATABASE_URL=database_url,
        # The load comes from one address: the contact/feedback/login limits would turn
        # most of it into 429s and test the limiter instead of the workers.
        KB_RATELIMIT_ENABLED="false",
        # Plain http on 127.0.0.1: a Secure session cookie would never be sent back.
        KB_SESSION_COOKIE_SECURE="false",
    )
    for args in (["db", "upgrade"], ["kb", "index"]):
        subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *args],
            cwd=PROJECT,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    return env


def one_request(client: Client, kind: str, rnd: random.Random, record: Record, articles) -> None:
    lang = rnd.choice(("en", "ar"))
    query = urllib.parse.quote(rnd.choice(QUERIES[lang]))
    started = time.monotonic()
    status = None
    error = ""
    try:
        if kind == "search":
            status = client.request("GET", f"/{lang}/search?q={query}")[0]
        elif kind == "article":
            lang, slug = rnd.choice(articles)
            status = client.request("GET", f"/{lang}/articles/{slug}")[0]
        elif kind == "api":
            status = client.request("GET", f"/api/search?q={query}&lang={lang}")[0]
        else:
            status = submit_contact(client, lang, record)
    except (OSError, http.client.HTTPException) as failure:
        error = type(failure).__name__
    with record.lock:
        record.outcomes.append(Outcome(kind, started, time.monotonic(), status, error))


def submit_contact(client: Client, lang: str, record: Record) -> int:
    """GET the form for its CSRF token, POST it; the status of the POST (302 on success)."""
    status, _, text = client.request("GET", f"/{lang}/contact?q=refund+missing&step=form")
    if status != 200:
        return status
    match = CSRF.search(text)
    if not match:
        raise http.client.HTTPException("no CSRF token on the contact form")
    marker = f"soak-{secrets.token_hex(8)}"
    with record.lock:
        record.attempted.append(marker)
    status, headers, _ = client.request(
        "POST",
        f"/{lang}/contact",
        {
            "name": "Soak Tester",
            "email": "soak@example.com",
            "message": f"My refund is missing ({marker})",
            "question": "refund missing",
            "category": "",
            "website": "",
            "csrf_token": match.group(1) or match.group(2),
        },
    )
    location = headers.get("Location", "")
    if status in (302, 303) and urllib.parse.urlsplit(location).path == f"/{lang}/contact/sent":
        with record.lock:
            record.confirmed.append(marker)
    return status


def drive(port, seconds, threads, max_requests, articles, record: Record) -> None:
    deadline = time.monotonic() + seconds
    budget = threading.Semaphore(max_requests)
    kinds = ["search"] * 4 + ["article"] * 3 + ["api"] * 2 + ["contact"]

    def visitor(seed: int) -> None:
        rnd = random.Random(seed)
        client = Client(port)
        while time.monotonic() < deadline and budget.acquire(blocking=False):
            if rnd.random() < 0.05:
                client = Client(port)  # a new visitor now and then
            one_request(client, rnd.choice(kinds), rnd, record, articles)

    pool = [threading.Thread(target=visitor, args=(n,), daemon=True) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=seconds + REQUEST_TIMEOUT * 3)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(share * len(values)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="Length of the load.")
    parser.add_argument("--threads", type=int, default=4, help="Concurrent visitors.")
    parser.add_argument("--max-requests", type=int, default=20000, help="Hard cap on requests.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary instance.")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="Use a private schema on this PostgreSQL server (dropped after a passing run "
        "unless --keep) instead of a SQLite file.",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="kb-soak-"))
    print(f"instance in {workdir}")
    if args.postgres:
        database_url, schema = create_schema(args.postgres)
        print(f"database: schema {schema} on {args.postgres}")
    else:
        database_url, schema = f"sqlite:///{workdir / 'kb.sqlite3'}", None
    env = prepare_instance(workdir, database_url)
    articles = published_articles(PROJECT / "articles")
    port = free_port()
    log = (workdir / "gunicorn.log").open("wb")
    command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--workers", "2"]
    command += ["--bind", f"127.0.0.1:{port}", "wsgi:app"]
    master = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=log, stderr=log)
    record = Record()
    events: dict[str, float] = {}
    problems: list[str] = []
    try:
        deadline = time.monotonic() + WAIT
        while True:
            if master.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {workdir / 'gunicorn.log'}")
            try:
                if Client(port).request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not answer /healthz in time")
            time.sleep(0.1)
        first_workers = workers_of(master.pid)

        def faults() -> None:
            start = time.monotonic()
            time.sleep(args.seconds / 3)
            victim = min(workers_of(master.pid))
            events["kill"] = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            time.sleep(max(0.0, start + 2 * args.seconds / 3 - time.monotonic()))
            events["hup"] = time.monotonic()
            master.send_signal(signal.SIGHUP)

        injector = threading.Thread(target=faults, daemon=True)
        injector.start()
        drive(port, args.seconds, args.threads, args.max_requests, articles, record)
        injector.join(timeout=WAIT)
        time.sleep(1.0)
        last_workers = workers_of(master.pid)
        if master.poll() is not None:
            problems.append("the gunicorn master died")
        if len(last_workers) != 2 or last_workers & first_workers:
            problems.append(f"workers not all replaced: {first_workers} -> {last_workers}")
        try:
            if Client(port).request("GET", "/healthz")[0] != 200:
                problems.append("/healthz failed after the load")
        except OSError as error:
            problems.append(f"/healthz unreachable after the load: {error}")
    finally:
        if master.poll() is None:
            master.terminate()
            try:
                master.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                master.kill()
                master.wait(timeout=WAIT)
        log.close()

    # Connection errors are expected only for requests in flight when the worker was killed.
    kill = events.get("kill", float("inf"))
    around_kill = [o for o in record.outcomes if o.status is None and o.started <= kill <= o.ended]
    other_errors = [o for o in record.outcomes if o.status is None and o not in around_kill]
    server_errors = [o for o in record.outcomes if o.status is not None and o.status >= 500]
    if server_errors:
        problems.append(f"{len(server_errors)} responses were 5xx")
    if other_errors:
        problems.append(f"{len(other_errors)} connection errors away from the kill")

    messages = stored_messages(database_url)
    stored: dict[str, int] = {}
    for message in messages:
        for marker in MARKER.findall(message or ""):
            stored[marker] = stored.get(marker, 0) + 1
    missing = [m for m in record.confirmed if stored.get(m, 0) == 0]
    duplicates = [m for m, n in stored.items() if n > 1]
    if missing:
        problems.append(f"{len(missing)} confirmed contacts are not in the database")
    if duplicates:
        problems.append(f"{len(duplicates)} contacts are stored more than once")
    if not record.confirmed:
        problems.append("no contact submission succeeded")

    report(args, record, around_kill, other_errors, stored, missing, duplicates)
    for problem in problems:
        print(f"FAIL: {problem}")
    print("OK" if not problems else "FAILED")
    if not args.keep and not problems:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
        if schema:
            drop_schema(args.postgres, schema)
    return 1 if problems else 0


def stored_messages(database_url: str) -> list[str]:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(sa.text("SELECT message FROM contact_request")))
    finally:
        engine.dispose()


def create_schema(server_url: str) -> tuple[str, str]:
    """A new empty schema on the server, and the URL that makes it the search path."""
    import sqlalchemy as sa

    schema = f"kb_soak_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(server_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()
    url = sa.make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def drop_schema(server_url: str, schema: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(server_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        engine.dispose()


def report(args, record, around_kill, other_errors, stored, missing, duplicates) -> None:
    outcomes = record.outcomes
    print(f"\n{len(outcomes)} requests in {args.seconds:.0f} s from {args.threads} threads")
    print(f"{'kind':<10}{'requests':>9}{'2xx':>7}{'3xx':>6}{'4xx':>6}{'5xx':>6}{'conn':>6}", end="")
    print(f"{'p50 ms':>9}{'p95 ms':>9}")
    for kind in ("search", "article", "api", "contact", "all"):
        rows = [o for o in outcomes if kind in ("all", o.kind)]
        counts = [sum(1 for o in rows if o.status and o.status // 100 == c) for c in (2, 3, 4, 5)]
        conn = sum(1 for o in rows if o.status is None)
        latency = [(o.ended - o.started) * 1000 for o in rows if o.status is not None]
        print(f"{kind:<10}{len(rows):>9}", end="")
        print("".join(f"{n:>{w}}" for n, w in zip(counts, (7, 6, 6, 6), strict=True)), end="")
        print(f"{conn:>6}{percentile(latency, 0.5):>9.1f}{percentile(latency, 0.95):>9.1f}")
    print(f"\nconnection errors in flight at the worker kill: {len(around_kill)}")
    print(f"connection errors elsewhere:                    {len(other_errors)}")
    print(f"contacts sent (POSTed):                          {len(record.attempted)}")
    print(f"contacts confirmed (success page):               {len(record.confirmed)}")
    print(
        f"confirmed contacts found in the database:        {len(record.confirmed) - len(missing)}"
    )
    print(f"sent contacts found in the database:             {len(stored)}")
    print(f"duplicates in the database:                      {len(duplicates)}\n")


if __name__ == "__main__":
    sys.exit(main())
