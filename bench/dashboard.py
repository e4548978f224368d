"""Time the manager dashboard, the content gaps and the contact list over a million events.

    .venv/bin/python bench/dashboard.py --events 1000000 [--database-url URL] [--days 365]

Fills a fresh database the way an operator would (``flask db upgrade``, so the indexes are the
migrated ones, then ``flask kb simulate --events N``), adds a manager and a few article
revisions (so the dashboard's edit-impact table has work to do), then times in one process:

- the real pages through the Flask test client, logged in as a manager: ``/admin/dashboard``
  (and its four chart images, which the browser fetches next), ``/admin/gaps`` and
  ``/admin/contacts``;
- the ``kb.insights`` functions those views call, one by one;

each for the default period (the last 30 days) and the widest one allowed (366 days), without
a filter, with a language and with a topic. Pages of the default period run ``--runs`` times,
those of the other periods ``--widest-runs`` times (3 each by default; the median is
reported, and the first run apart: it rolls up the days its period needs, the daily roll-ups
of kb.insights.rollups, unless ``--rollup`` ran ``flask kb rollup`` after the fill), the
functions once each (they say where a page's time goes). Prints a table and writes
``bench-results/dashboard-<database>.json``.

The default database is SQLite in a temporary directory (deleted afterwards). With
``--database-url postgresql+psycopg://...`` it creates a private schema on that server, works
only there and drops it at the end. PostgreSQL tables are ``VACUUM ANALYZE``d after the fill,
as autovacuum would do within a minute of such a load; SQLite is not ``ANALYZE``d (nothing in
a normal deployment does it), so its figures are those of the planner's default guesses.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository instead of bench/, whose http.py would shadow the standard library's.
sys.path[0] = str(ROOT)

import sqlalchemy as sa  # noqa: E402

MANAGER = "bench-manager@kb.example"
PASSWORD = "bench password, not a secret"
REVISIONS = 10
DEFAULT_DAYS = 30
WIDEST_DAYS = 366
PAGE_TARGET_MS = 1000


def main() -> int:
    options = parse_options()
    with database(options) as url:
        fill = {} if options.no_fill else fill_database(url, options)
        results, info = time_everything(url, options)
    dialect = sa.make_url(url).get_backend_name()
    report = {
        "benchmark": "dashboard",
        "database": dialect,
        "database_version": info.pop("version"),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "options": {
            "events": options.events,
            "days": options.days,
            "seed": options.seed,
            "runs": options.runs,
            "widest_runs": options.widest_runs,
            "revision": options.revision,
            "periods": options.periods,
            "rollup": options.rollup,
        },
        # The machine is shared: its load during the run says how much the figures are worth.
        "load_average_after": os.getloadavg(),
        "rows": info["rows"],
        "fill_seconds": fill,
        "results": results,
    }
    print_table(report)
    out = Path(options.out) / f"dashboard-{dialect}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")
    return 0


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="event rows to simulate")
    parser.add_argument(
        "--database-url",
        help="PostgreSQL server URL (a private schema is created and dropped); default: SQLite "
        "in a temporary directory",
    )
    parser.add_argument("--days", type=int, default=365, help="spread the events over N days")
    parser.add_argument("--seed", type=int, default=1, help="simulation seed")
    parser.add_argument(
        "--runs", type=int, default=3, help="timed runs of each page, default period (median)"
    )
    parser.add_argument(
        "--widest-runs", type=int, default=3, help="timed runs of each page, other periods"
    )
    parser.add_argument(
        "--periods",
        default=f"{DEFAULT_DAYS},{WIDEST_DAYS}",
        help="comma-separated period lengths in days to time (30 is the page's default)",
    )
    parser.add_argument(
        "--revision", default="head", help="migrate to this revision (e.g. 0004: before indexes)"
    )
    parser.add_argument(
        "--no-fill",
        action="store_true",
        help="time the already filled database at --database-url as it is (nothing created, "
        "migrated or dropped)",
    )
    parser.add_argument(
        "--rollup",
        action="store_true",
        help="run `flask kb rollup` after the fill, as a nightly cron line would (default: the "
        "daily roll-ups are computed lazily, in the first view of each period)",
    )
    parser.add_argument("--out", default=str(ROOT / "bench-results"), help="JSON output folder")
    options = parser.parse_args()
    if options.no_fill and not options.database_url:
        parser.error("--no-fill needs --database-url")
    if not (1 <= options.runs <= 20 and 1 <= options.widest_runs <= 20):
        parser.error("--runs and --widest-runs must be between 1 and 20")
    try:
        options.periods = [int(days) for days in options.periods.split(",")]
    except ValueError:
        parser.error("--periods takes numbers of days, e.g. 30,366")
    if not all(1 <= days <= WIDEST_DAYS for days in options.periods):
        parser.error(f"--periods must be between 1 and {WIDEST_DAYS} days")
    return options


# -- database ---------------------------------------------------------------------------------


@contextlib.contextmanager
def database(options: argparse.Namespace) -> Iterator[str]:
    """A fresh, empty database URL for this run; removed afterwards."""
    if options.no_fill:
        yield options.database_url
        return
    if not options.database_url:
        with tempfile.TemporaryDirectory(prefix="kb-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'kb.sqlite3'}"
        return
    url = options.database_url
    if sa.make_url(url).get_backend_name() != "postgresql":
        raise SystemExit("--database-url must be a PostgreSQL URL (SQLite is the default)")
    schema = f"kb_bench_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in url else "?"
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def fill_database(url: str, options: argparse.Namespace) -> dict[str, float]:
    """Migrate and simulate through the real commands; return the seconds each took."""
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="kb-bench-index-") as index_dir:
        environment = {
            **os.environ,
            "KB_DATABASE_URL": url,
            "KB_SECRET_KEY": "bench",
            "KB_INDEX_DIR": index_dir,
        }
        commands = [
            ("db upgrade", ["db", "upgrade", options.revision]),
            (
                "kb simulate",
                [
                    "kb",
                    "simulate",
                    "--events",
                    str(options.events),
                    "--days",
                    str(options.days),
                    "--seed",
                    str(options.seed),
                ],
            ),
        ]
        if options.rollup:
            commands.append(("kb rollup", ["kb", "rollup"]))
        for name, args in commands:
            print(f"$ flask {' '.join(args)}", flush=True)
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "flask", "--app", "wsgi", *args],
                cwd=ROOT,
                env=environment,
                check=True,
            )
            seconds[name] = round(time.perf_counter() - started, 1)
            print(f"  {seconds[name]} s", flush=True)
    engine = sa.create_engine(url)
    if engine.dialect.name == "postgresql":
        started = time.perf_counter()
        # Only this run's tables (the schema on the search path), never the whole database.
        tables = sa.inspect(engine).get_table_names()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in tables:
                connection.execute(sa.text(f'VACUUM ANALYZE "{table}"'))
        seconds["vacuum analyze"] = round(time.perf_counter() - started, 1)
    engine.dispose()
    return seconds


# -- timing -----------------------------------------------------------------------------------


def time_everything(url: str, options: argparse.Namespace) -> tuple[list[dict], dict]:
    from kb import create_app
    from kb.extensions import db

    with tempfile.TemporaryDirectory(prefix="kb-bench-index-") as index_dir:
        app = create_app(
            {
                "SECRET_KEY": "bench",
                "DATABASE_URL": url,
                "INDEX_DIR": index_dir,
                "RATELIMIT_ENABLED": False,
                "SESSION_COOKIE_SECURE": False,
            }
        )
        with app.app_context():
            prepare_staff_and_revisions()
            info = {"rows": row_counts(), "version": server_version()}
            topic = busiest_topic()
            print(
                f"\n{sum(info['rows'].values()):,} rows: {info['rows']}; topic filter: {topic}\n",
                flush=True,
            )
        client = app.test_client()
        log_in(client)
        statements = StatementTimer(app)
        results = []
        for case in cases(topic, options.periods):
            runs = options.runs if case["days"] == DEFAULT_DAYS else options.widest_runs
            results += time_case(app, client, case, runs, statements)
        with app.app_context():
            db.engine.dispose()
    return results, info


def prepare_staff_and_revisions() -> None:
    """A manager to log in as, and REVISIONS article edits spread over the last 30 days."""
    from kb.accounts import create_user, find_user
    from kb.content.revisions import ArticleRevision
    from kb.extensions import db
    from kb.web.services import library

    if find_user(MANAGER) is None:
        create_user(MANAGER, PASSWORD, "manager")
    if db.session.scalar(sa.select(sa.func.count()).select_from(ArticleRevision)):
        return
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    articles = sorted(library().all(), key=lambda article: article.key)
    for number in range(REVISIONS):
        article = articles[(number * 7) % len(articles)]
        db.session.add(
            ArticleRevision(
                article_key=article.key,
                created_at=now - dt.timedelta(days=3 * number + 1),
                author=MANAGER,
                action="edit",
                content_before="(bench)",
                content_after="(bench)",
            )
        )
    db.session.commit()


def row_counts() -> dict[str, int]:
    from kb.contact.models import ContactRequest
    from kb.extensions import db
    from kb.insights.models import ArticleView, ContactFlow, EffortScore, Feedback, SearchEvent

    return {
        model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (SearchEvent, ArticleView, Feedback, ContactFlow, ContactRequest, EffortScore)
    }


def server_version() -> str:
    from kb.extensions import db

    if db.engine.dialect.name == "sqlite":
        return "SQLite " + db.session.scalar(sa.text("select sqlite_version()"))
    return db.session.scalar(sa.text("select version()")).split(",")[0]


def busiest_topic() -> str:
    from kb.web.services import library

    counts: dict[str, int] = {}
    for article in library().all():
        counts[article.category] = counts.get(article.category, 0) + 1
    return max(sorted(counts), key=lambda category: counts[category])


def log_in(client) -> None:
    login_page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page)
    if token is None:
        raise SystemExit("the login page has no CSRF token")
    response = client.post(
        "/admin/login",
        data={"email": MANAGER, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    if response.status_code != 302:
        raise SystemExit(f"logging in as the bench manager failed: {response.status_code}")


def cases(topic: str, periods: list[int]) -> list[dict]:
    """(period, filter) combinations; pages that have no such filter skip it."""
    today = dt.datetime.now(dt.UTC).date()
    found = []
    for days in periods:
        first = today - dt.timedelta(days=days - 1)
        for name, lang, category in (("none", None, None), ("lang=ar", "ar", None)) + (
            (f"topic={topic}", None, topic),
        ):
            found.append(
                {"days": days, "first": first, "last": today, "filter": name}
                | {"lang": lang, "category": category}
            )
    return found


def time_case(app, client, case: dict, runs: int, statements: StatementTimer) -> list[dict]:
    from kb.contact import ContactFilters, list_contacts
    from kb.insights.dashboard import RECENT_EDITS, TOP_QUERIES, notices_in, period_of_days
    from kb.insights.gaps import content_gaps
    from kb.insights.impact import recent_edits
    from kb.insights.metrics import article_table, headline, top_failed_searches, trend
    from kb.web.dashboard import CHARTS
    from kb.web.gaps import GAPS_SHOWN

    lang, category = case["lang"], case["category"]
    args = {"since": case["first"].isoformat(), "until": case["last"].isoformat()}
    if case["days"] == DEFAULT_DAYS:
        args = {}  # the page's own default: what a manager sees first
    filters = {"lang": lang or "", "category": category or ""}
    label = {"days": case["days"], "filter": case["filter"]}
    results = []

    def measure(kind: str, name: str, run: Callable[[], object]) -> None:
        timings, cpu, slowest = [], [], []
        for _ in range(runs if kind == "page" else 1):
            with statements.collect() as collected:
                started, started_cpu = time.perf_counter(), time.process_time()
                run()
                timings.append(round((time.perf_counter() - started) * 1000, 1))
                cpu.append(round((time.process_time() - started_cpu) * 1000, 1))
            slowest = sorted(collected, reverse=True)[:3]
        result = {"kind": kind, "name": name, **label}
        result |= {"median_ms": round(statistics.median(timings), 1), "runs_ms": timings}
        # This process's CPU time: on SQLite the queries' work too, whatever else the shared
        # machine runs; on PostgreSQL only the app's share (the server's is not counted).
        result["median_cpu_ms"] = round(statistics.median(cpu), 1)
        result["statements"] = len(collected)
        result["slowest_statements"] = [
            {"ms": round(ms, 1), "sql": " ".join(sql.split())[:300]} for ms, sql in slowest
        ]
        results.append(result)
        flag = "  over 1 s" if kind == "page" and result["median_ms"] > PAGE_TARGET_MS else ""
        print(
            f"{kind:<9}{name:<28}{case['days']:>4} d  {case['filter']:<22}"
            f"{result['median_ms']:>10.1f} ms{result['median_cpu_ms']:>10.1f} ms{flag}",
            flush=True,
        )

    def page(path: str, query: dict) -> Callable[[], object]:
        def get() -> None:
            response = client.get(path, query_string=query)
            if response.status_code != 200:
                raise SystemExit(f"{path} {query}: HTTP {response.status_code}")

        return get

    def charts() -> None:
        for chart in CHARTS:
            page(f"/admin/dashboard/chart/{chart}.svg", args | filters)()

    measure("page", "/admin/dashboard", page("/admin/dashboard", args | filters))
    measure("page", "dashboard charts (4 SVG)", charts)
    if category is None:
        measure("page", "/admin/gaps", page("/admin/gaps", args | {"lang": lang or ""}))
    contact_args = {"lang": lang or "", "category": category or ""}
    if case["days"] != DEFAULT_DAYS:
        contact_args |= args
    measure("page", "/admin/contacts", page("/admin/contacts", contact_args))

    period = period_of_days(case["first"], case["last"])
    with app.test_request_context():
        from kb.web.dashboard import article_categories

        categories = article_categories()
    scope = (lang, category, categories)
    with app.app_context():
        for name, function in (
            ("headline", lambda: headline(period, *scope)),
            ("trend (day)", lambda: trend(period, "day", *scope)),
            (
                "top_failed_searches",
                lambda: top_failed_searches(period, lang, TOP_QUERIES, *scope[1:]),
            ),
            ("article_table", lambda: article_table(period, *scope)),
            ("recent_edits", lambda: recent_edits(RECENT_EDITS, lang, period=period)),
            ("notices_in", lambda: notices_in(period, lang)),
            ("content_gaps", lambda: content_gaps(period, lang, GAPS_SHOWN)),
            (
                "list_contacts",
                lambda: list_contacts(
                    ContactFilters(
                        lang=lang,
                        category=category,
                        since=None if case["days"] == DEFAULT_DAYS else case["first"],
                        until=None if case["days"] == DEFAULT_DAYS else case["last"],
                    )
                ),
            ),
        ):
            if category is not None and name == "content_gaps":
                continue
            measure("function", name, function)
    return results


class StatementTimer:
    """Durations of the SQL statements the app runs, to name the slow ones in the report."""

    def __init__(self, app) -> None:
        from kb.extensions import db

        self.collected: list[tuple[float, str]] | None = None
        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        conn.info["kb_bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.collected is not None:
            elapsed = (time.perf_counter() - conn.info.pop("kb_bench_started")) * 1000
            self.collected.append((elapsed, statement))

    @contextlib.contextmanager
    def collect(self) -> Iterator[list[tuple[float, str]]]:
        self.collected = []
        try:
            yield self.collected
        finally:
            self.collected = None


def print_table(report: dict) -> None:
    print(
        f"\n{report['database_version']}: {sum(report['rows'].values()):,} events, "
        f"fill {report['fill_seconds']}"
    )
    # "first": the first run, which rolls up the days the period needs when they are missing.
    print(
        f"{'kind':<9}{'what':<28}{'period':>6}  {'filter':<22}{'median':>13}{'CPU':>13}"
        f"{'first':>13}"
    )
    for result in report["results"]:
        print(
            f"{result['kind']:<9}{result['name']:<28}{result['days']:>4} d  "
            f"{result['filter']:<22}{result['median_ms']:>10.1f} ms"
            f"{result['median_cpu_ms']:>10.1f} ms{result['runs_ms'][0]:>10.1f} ms"
        )


if __name__ == "__main__":
    sys.exit(main())
