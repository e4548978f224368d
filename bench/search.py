"""Time kb's search beside SQLite FTS5 on one help center, in one process and one run.

    .venv/bin/python bench/corpus.py --articles 10000 --out /tmp/kbbench/10k
    .venv/bin/python bench/search.py --articles /tmp/kbbench/10k/articles \\
        --queries /tmp/kbbench/10k/queries.jsonl

(or ``make bench-search``). Works on a temporary copy of the articles (the update step edits
files) with a temporary index and SQLite database, and measures, in this order:

1. the full index build: ``flask kb index`` itself (the CLI command, run in this process);
2. opening a fresh `SearchEngine` (searcher, first search) and a fresh `Suggester` (first
   suggestion, which builds its vocabulary);
3. search latency of `SearchEngine.search(query, lang, limit=10)`, the function the site
   calls, after a warm-up on article titles: once per distinct query never searched before
   (no result cache can answer it), then every query with the engine's result cache cleared
   before each (``clear_cache()``, when the engine has one), interleaved with SQLite FTS5
   over the same documents (title, questions, summary, body text from
   ``kb.search.index``), the query's words quoted and OR-ed, ``ORDER BY bm25() LIMIT 10``,
   filtered by language, ``unicode61 remove_diacritics 2``; and, between those two, every
   query again without clearing (what a result cache gives repeated queries);
4. `Suggester.suggest(prefix, lang)` for the queries typed keystroke by keystroke;
5. one article saved by the editor's code (`ArticleStore.save_article`, with a made-up
   word added to its title) until `SearchEngine.search` finds it first, 5 times;
6. RSS after the build, after searching, and the peak; hit@1/5/10 and MRR@10 of both
   engines on the queries, so speed is never bought with worse answers.

Prints a table and writes JSON (``--json``, default ``bench-results/search-<N>.json``).
``--profile`` adds a pass of kb's search under pyinstrument and saves its report.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path, where bench/http.py would hide the
# standard library's http package from Flask: search from the repository root instead.
BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
sys.path.insert(0, str(REPO_ROOT))

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterable  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402

from kb import create_app  # noqa: E402
from kb.cli import kb_cli  # noqa: E402
from kb.content import load_articles  # noqa: E402
from kb.content.html_cache import HtmlCache, cache_dir  # noqa: E402
from kb.content.store import ArticleFields  # noqa: E402
from kb.errors import SearchUnavailable  # noqa: E402
from kb.extensions import db  # noqa: E402
from kb.search import SearchEngine, Suggester  # noqa: E402
from kb.search.index import article_document, plain_text  # noqa: E402

RESULTS_DIR = REPO_ROOT / "bench-results"
LIMIT = 10
MIN_PREFIX = 2
UPDATE_TIMEOUT = 5.0
# The targets, by help center size (ms unless named otherwise).
TARGETS = {
    10_000: {
        "search_p95_ms": 25.0,
        "search_p95_vs_fts5": 3.0,
        "suggest_p95_ms": 10.0,
        "index_build_s": 60.0,
        "update_ms": 300.0,
        "rss_mb": 200.0,
    },
    1_000: {
        "search_p95_ms": 5.0,
        "suggest_p95_ms": 3.0,
        "index_build_s": 6.0,
        "update_ms": 100.0,
        "rss_mb": 120.0,
    },
}
_FTS_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    lang: str
    relevant: frozenset[str]
    kind: str


def read_queries(path: Path) -> list[Query]:
    queries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        queries.append(
            Query(
                id=str(row.get("id", number)),
                text=row["query"],
                lang=row["lang"],
                relevant=frozenset(row["relevant"]),
                kind=row.get("kind", "plain"),
            )
        )
    return queries


# Figures.


def summary(samples_ms: list[float]) -> dict:
    """p50/p95/p99 (nearest rank), mean and max of latencies in milliseconds."""
    if not samples_ms:
        return {"count": 0, "p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "mean_ms": 0.0}
    ordered = sorted(samples_ms)

    def rank(share: float) -> float:
        return round(ordered[max(0, math.ceil(share * len(ordered)) - 1)], 3)

    return {
        "count": len(ordered),
        "p50_ms": rank(0.50),
        "p95_ms": rank(0.95),
        "p99_ms": rank(0.99),
        "mean_ms": round(statistics.fmean(ordered), 3),
        "max_ms": round(ordered[-1], 3),
    }


def quality(ranks: Iterable[tuple[Query, int | None, bool]]) -> dict:
    """hit@1/5/10, MRR@10 and zero-result rate, overall, per language and per query kind."""
    rows = list(ranks)

    def figures(subset: list) -> dict:
        count = len(subset)
        if not count:
            return {"queries": 0}

        def share(values) -> float:
            return round(sum(values) / count, 4)

        return {
            "queries": count,
            "hit@1": share(1 for _, r, _ in subset if r is not None and r <= 1),
            "hit@5": share(1 for _, r, _ in subset if r is not None and r <= 5),
            "hit@10": share(1 for _, r, _ in subset if r is not None and r <= 10),
            "mrr@10": share(1 / r for _, r, _ in subset if r is not None and r <= 10),
            "zero_result_rate": share(1 for _, _, empty in subset if empty),
        }

    report = figures(rows)
    for attribute in ("lang", "kind"):
        values = sorted({getattr(query, attribute) for query, _, _ in rows})
        report[f"by_{attribute}"] = {
            value: figures([row for row in rows if getattr(row[0], attribute) == value])
            for value in values
        }
    return report


def rank_of(slugs: list[str], relevant: frozenset[str]) -> int | None:
    return next((n for n, slug in enumerate(slugs, start=1) if slug in relevant), None)


def rss_mb() -> float | None:
    """Resident memory of this process now (Linux /proc; None elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    value = action()
    return (time.perf_counter() - started) * 1000, value


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (a build may use several)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class Latencies:
    """Wall-clock and CPU time of each call: on a shared machine the CPU time is the figure
    that other processes disturb least."""

    def __init__(self) -> None:
        self.wall_ms: list[float] = []
        self.cpu_ms: list[float] = []

    def __call__(self, action: Callable[[], object]):
        cpu = time.process_time()
        started = time.perf_counter()
        value = action()
        self.wall_ms.append((time.perf_counter() - started) * 1000)
        self.cpu_ms.append((time.process_time() - cpu) * 1000)
        return value

    def summary(self) -> dict:
        cpu = summary(self.cpu_ms)
        return {
            **summary(self.wall_ms),
            "cpu_p50_ms": cpu["p50_ms"],
            "cpu_p95_ms": cpu["p95_ms"],
            "cpu_mean_ms": cpu["mean_ms"],
        }


# SQLite FTS5, the baseline.


class Fts5:
    """The same documents in an FTS5 table; OR of the query's words ranked by BM25."""

    SEARCH = "SELECT slug FROM docs WHERE docs MATCH ? AND lang = ? ORDER BY bm25(docs) LIMIT ?"
    SEARCH_SNIPPET = (
        "SELECT slug, title, snippet(docs, 5, '<mark>', '</mark>', '…', 16) FROM docs "
        "WHERE docs MATCH ? AND lang = ? ORDER BY bm25(docs) LIMIT ?"
    )

    def __init__(self, path: Path):
        self.connection = sqlite3.connect(path)
        self.connection.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(slug UNINDEXED, lang UNINDEXED, title, "
            "questions, summary, body, tokenize = 'unicode61 remove_diacritics 2')"
        )

    def add(self, documents: Iterable[dict]) -> int:
        rows = [
            (d["slug"], d["lang"], d["title"], d["questions"], d["summary"], d["body"])
            for d in documents
        ]
        with self.connection:
            self.connection.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    @staticmethod
    def match(text: str) -> str:
        return " OR ".join(
            '"' + token.replace('"', '""') + '"' for token in _FTS_TOKEN.findall(text)
        )

    def search(self, text: str, lang: str, snippets: bool = False) -> list[str]:
        match = self.match(text)
        if not match:
            return []
        sql = self.SEARCH_SNIPPET if snippets else self.SEARCH
        return [row[0] for row in self.connection.execute(sql, (match, lang, LIMIT))]


def fts_documents(articles, index_dir: Path) -> list[dict]:
    """kb's indexed fields of each article; the body text from the HTML cache the build wrote
    (identical to `article_document`, without rendering every article again)."""
    html_cache = HtmlCache(cache_dir(index_dir))
    documents = []
    for article in articles:
        html = html_cache.get(article.body)
        if html is None:
            documents.append(article_document(article))
            continue
        documents.append(
            {
                "slug": article.slug,
                "lang": article.lang,
                "title": article.title,
                "questions": "\n".join(article.questions),
                "summary": article.summary,
                "body": plain_text(html),
            }
        )
    return documents


# The benchmark.


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path):
        self.args = args
        self.workdir = workdir
        self.articles_dir = workdir / "articles"
        self.index_dir = workdir / "index"
        self.results: dict = {}
        self.app = create_app(
            {
                "SECRET_KEY": "bench",
                "DATABASE_URL": f"sqlite:///{workdir / 'kb.sqlite3'}",
                "ARTICLES_DIR": str(self.articles_dir),
                "INDEX_DIR": str(self.index_dir),
            }
        )
        self.languages = tuple(self.app.config["LANGUAGES"])

    def say(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def run(self, queries: list[Query]) -> dict:
        args = self.args
        self.say(f"Copying {args.articles} to a temporary folder…")
        shutil.copytree(args.articles, self.articles_dir)
        with self.app.app_context():
            db.create_all()
            self.build_index()
            articles, problems = load_articles(self.articles_dir, self.languages)
            published = [a for a in articles if a.published]
            by_lang: dict[str, int] = {}
            for article in published:
                by_lang[article.lang] = by_lang.get(article.lang, 0) + 1
            self.results["articles"] = {
                "files": len(articles) + len({p.path for p in problems}),
                "published": len(published),
                "published_by_lang": dict(sorted(by_lang.items())),
                "invalid": len({p.path for p in problems}),
            }
            self.results["queries"] = {
                "count": len(queries),
                "distinct": len({(q.text, q.lang) for q in queries}),
            }
            engine = self.open_engine(queries[0] if queries else None)
            fts = self.build_fts5(published)
            self.search_passes(engine, fts, queries, published)
            self.suggest_pass(engine, queries)
            self.results["memory"]["rss_after_search_mb"] = rss_mb()
            self.results["memory"]["worker"] = self.worker_rss()
            self.update_passes(engine, published)
            if args.profile:
                self.profile(engine, queries)
        self.results["memory"]["peak_rss_mb"] = peak_rss_mb()
        self.results["targets"] = self.targets()
        return self.results

    def build_index(self) -> None:
        """`flask kb index`, the command itself, in this process (its progress bars show)."""
        self.say("Building the index with `flask kb index`…")
        cpu = cpu_seconds()
        seconds, _ = timed(
            lambda: kb_cli.main(args=["index"], prog_name="flask kb", standalone_mode=False)
        )
        self.results["index_build"] = {
            "command": "flask kb index",
            "seconds": round(seconds / 1000, 3),
            "cpu_seconds": round(cpu_seconds() - cpu, 3),
        }
        self.results["memory"] = {"rss_after_build_mb": rss_mb()}

    def open_engine(self, first: Query | None) -> SearchEngine:
        engine = SearchEngine(self.index_dir)
        open_ms, _ = timed(engine.current_searcher)
        first_ms, _ = (
            timed(lambda: engine.search(first.text, first.lang, limit=LIMIT))
            if first
            else (0.0, None)
        )
        suggester = Suggester(engine)
        prefix = first.text[:4] if first else "or"
        suggest_ms, _ = timed(lambda: suggester.suggest(prefix, first.lang if first else "en"))
        self.results["searcher_open"] = {
            "open_ms": round(open_ms, 3),
            "first_search_ms": round(first_ms, 3),
            "first_suggest_ms": round(suggest_ms, 3),
        }
        return engine

    def build_fts5(self, published) -> Fts5:
        self.say("Building the SQLite FTS5 table…")
        documents = fts_documents(published, self.index_dir)
        fts = Fts5(self.workdir / "fts5.sqlite3")
        seconds, _ = timed(lambda: fts.add(documents))
        self.results["fts5_build_seconds"] = round(seconds / 1000, 3)
        return fts

    def search_passes(self, engine: SearchEngine, fts: Fts5, queries: list[Query], published):
        args = self.args
        clear = getattr(engine, "clear_cache", None)
        kb_search = engine.search

        def slugs(query: Query) -> list[str]:
            return [hit.slug for hit in kb_search(query.text, query.lang, limit=LIMIT).hits]

        # Warm-up on article titles (not the measured queries, so no result cache is primed).
        texts = {(q.text, q.lang) for q in queries}
        step = max(1, len(published) // max(1, args.warmup))
        warmup = [a for a in published[::step] if (a.title, a.lang) not in texts][: args.warmup]
        self.say(f"Warming up on {len(warmup)} article titles…")
        for article in warmup:
            kb_search(article.title, article.lang, limit=LIMIT)
            fts.search(article.title, article.lang)

        self.say("Searching each distinct query once…")
        if clear is not None:
            clear()  # the first query was searched when the engine was opened
        seen: set[tuple[str, str]] = set()
        distinct = Latencies()
        for query in queries:
            if (query.text, query.lang) not in seen:
                seen.add((query.text, query.lang))
                distinct(lambda q=query: slugs(q))

        # Right after the distinct pass, which filled any result cache: what it gives
        # customers who repeat a query.
        self.say("Searching every query again without clearing any cache…")
        cached = Latencies()
        for query in queries:
            cached(lambda q=query: slugs(q))

        self.say(f"Searching every query, kb and FTS5 interleaved, {args.runs} run(s)…")
        kb_times, fts_times, fts_snippet_times = Latencies(), Latencies(), Latencies()
        kb_ranks, fts_ranks = [], []
        for run in range(args.runs):
            for query in queries:
                if clear is not None:
                    clear()
                found = kb_times(lambda q=query: slugs(q))
                found_fts = fts_times(lambda q=query: fts.search(q.text, q.lang))
                fts_snippet_times(lambda q=query: fts.search(q.text, q.lang, snippets=True))
                if run == 0:
                    kb_ranks.append((query, rank_of(found, query.relevant), not found))
                    fts_ranks.append((query, rank_of(found_fts, query.relevant), not found_fts))

        self.results["kb_search"] = {**kb_times.summary(), "cache_cleared": clear is not None}
        self.results["kb_search_distinct"] = distinct.summary()
        self.results["kb_search_repeated"] = cached.summary()
        self.results["fts5"] = fts_times.summary()
        self.results["fts5_snippet"] = fts_snippet_times.summary()
        self.results["ratio_kb_to_fts5"] = {
            key: round(
                self.results["kb_search"][f"{key}_ms"] / self.results["fts5"][f"{key}_ms"], 2
            )
            if self.results["fts5"][f"{key}_ms"]
            else None
            for key in ("p50", "p95", "p99")
        }
        self.results["quality"] = {"kb": quality(kb_ranks), "fts5": quality(fts_ranks)}

    def suggest_pass(self, engine: SearchEngine, queries: list[Query]) -> None:
        suggester = Suggester(engine)
        clear = getattr(suggester, "clear_cache", None)
        keystrokes = [
            (query.text[:end], query.lang)
            for query in queries
            for end in range(MIN_PREFIX, len(query.text) + 1)
        ][: self.args.max_keystrokes]
        suggester.suggest(keystrokes[0][0] if keystrokes else "or", "en")  # its vocabulary
        self.say(f"Suggesting for {len(keystrokes)} keystrokes…")
        samples = Latencies()
        for prefix, lang in keystrokes:
            if clear is not None:
                clear()
            samples(lambda p=prefix, lang=lang: suggester.suggest(p, lang))
        self.results["suggest"] = {**samples.summary(), "cache_cleared": clear is not None}

    def worker_rss(self) -> dict:
        """RSS of a fresh process that loads the app and searches 1,000 times, like a worker.

        This process also built the index, so its own RSS says little about a web worker's.
        """
        searches = self.args.worker_searches
        self.say(f"Measuring a worker's RSS after {searches} searches (new process)…")
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--articles",
            str(self.articles_dir),
            "--queries",
            str(self.args.queries),
            "--worker-searches",
            str(searches),
            "--worker-rss",
            str(self.index_dir),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            self.say(done.stderr[-2000:])
            return {"error": f"exit code {done.returncode}"}
        return json.loads(done.stdout.strip().splitlines()[-1])

    def update_passes(self, engine: SearchEngine, published) -> None:
        """The editor's save (the app's `ArticleStore.save_article`) until search finds it.

        The article is opened first (untimed), as the editor page does before a save.
        """
        store = self.app.extensions["kb.store"]
        rng = random.Random(7)
        picks = [
            published[(n * len(published)) // self.args.update_runs]
            for n in range(self.args.update_runs)
        ]
        runs = []
        self.say(f"Saving {len(picks)} articles with the editor's code…")
        for pick in picks:
            word = "kbq" + "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(8))
            article = store.find(pick.lang, pick.slug)  # loads the library, as the editor does
            fields = replace(ArticleFields.of(article), title=f"{article.title} {word}")
            save_ms, result = timed(lambda a=article, f=fields: store.save_article(a, f, "bench"))
            search_started = time.perf_counter()
            tries = 0
            found = False
            error = None
            while time.perf_counter() - search_started < UPDATE_TIMEOUT:
                tries += 1
                try:
                    hits = engine.search(word, article.lang, limit=LIMIT).hits
                except SearchUnavailable as problem:
                    error = str(problem)
                    break
                if hits and hits[0].slug == article.slug:
                    found = True
                    break
                time.sleep(0.001)
            search_ms = (time.perf_counter() - search_started) * 1000
            run = {
                "key": article.key,
                "save_ms": round(save_ms, 3),
                "search_ms": round(search_ms, 3),
                "total_ms": round(save_ms + search_ms, 3),
                "searches": tries,
                "found": found,
                "indexed": result.indexed,
            }
            runs.append({**run, "error": error} if error else run)
            if error:
                self.say(f"search failed after saving {article.key}: {error}")
                break
        totals = [run["total_ms"] for run in runs]
        self.results["update"] = {
            "runs": runs,
            "median_ms": round(statistics.median(totals), 3) if totals else None,
            "max_ms": round(max(totals), 3) if totals else None,
            "all_found": all(run["found"] for run in runs),
        }

    def profile(self, engine: SearchEngine, queries: list[Query]) -> None:
        from pyinstrument import Profiler

        clear = getattr(engine, "clear_cache", None)
        self.say("Profiling kb search (one more pass, under pyinstrument)…")
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for query in queries:
            if clear is not None:
                clear()
            engine.search(query.text, query.lang, limit=LIMIT)
        profiler.stop()
        stem = self.args.json.with_suffix("")
        html_path = stem.parent / f"{stem.name}-profile.html"
        text_path = stem.parent / f"{stem.name}-profile.txt"
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(profiler.output_html(), encoding="utf-8")
        text = profiler.output_text(unicode=True, color=False)
        text_path.write_text(text, encoding="utf-8")
        self.results["profile"] = {"html": str(html_path), "text": str(text_path)}
        self.profile_text = text

    def targets(self) -> dict:
        """The issue's targets for the nearest size (1,000 or 10,000 articles), met or not."""
        count = self.results["articles"]["published"]
        if not count:
            return {}
        size = min(TARGETS, key=lambda n: abs(math.log(n) - math.log(count)))
        if not size / 2 <= count <= size * 2:
            return {}
        wanted = TARGETS[size]
        r = self.results
        measured = {
            "search_p95_ms": r["kb_search"]["p95_ms"],
            "search_p95_vs_fts5": r["ratio_kb_to_fts5"]["p95"],
            "suggest_p95_ms": r["suggest"]["p95_ms"],
            "index_build_s": r["index_build"]["seconds"],
            "update_ms": r["update"]["max_ms"],
            "rss_mb": r["memory"]["worker"].get("rss_after_searches_mb"),
        }
        return {
            "size": size,
            "checks": {
                name: {
                    "target": limit,
                    "measured": measured[name],
                    "met": measured[name] is not None and measured[name] <= limit,
                }
                for name, limit in wanted.items()
            },
        }


def measure_worker_rss(
    articles_dir: Path, index_dir: Path, queries: list[Query], count: int
) -> dict:
    """In a fresh process: the app's own search engine, ``count`` searches, RSS before/after."""
    with tempfile.TemporaryDirectory(prefix="kb-bench-worker-") as workdir:
        app = create_app(
            {
                "SECRET_KEY": "bench",
                "DATABASE_URL": f"sqlite:///{Path(workdir) / 'kb.sqlite3'}",
                "ARTICLES_DIR": str(articles_dir),
                "INDEX_DIR": str(index_dir),
            }
        )
        engine = app.extensions["kb.search"]
        before = rss_mb()
        searches = list(itertools.islice(itertools.cycle(queries), count))
        for query in searches:
            engine.search(query.text, query.lang, limit=LIMIT)
        return {
            "searches": len(searches),
            "rss_after_app_mb": before,
            "rss_after_searches_mb": rss_mb(),
        }


# Output.


def print_table(results: dict, profile_text: str | None) -> None:
    a = results["articles"]
    langs = ", ".join(f"{n} {lang}" for lang, n in a["published_by_lang"].items())
    print()
    print(
        f"kb search benchmark: {a['published']} published articles ({langs}), "
        f"{results['queries']['count']} queries ({results['queries']['distinct']} distinct), "
        f"{results['runs']} run(s), {results['machine']['cpus']} CPUs"
    )
    load = [results["machine"].get(k) for k in ("load_average", "load_average_end")]
    if all(load):
        print(
            f"load average {load[0][0]:.1f} at the start, {load[1][0]:.1f} at the end "
            "(a loaded machine slows wall-clock figures; CPU time less so)"
        )
    print()
    print(
        f"{'latency (ms)':<44}{'p50':>9}{'p95':>9}{'p99':>9}{'mean':>9}"
        f"{'cpu p50':>9}{'cpu p95':>9}{'n':>7}"
    )
    cleared = "cache cleared" if results["kb_search"]["cache_cleared"] else "no clear_cache()"
    rows = [
        (f"kb search ({cleared})", results["kb_search"]),
        ("kb search, distinct queries, first time", results["kb_search_distinct"]),
        ("kb search, repeated (caches warm)", results["kb_search_repeated"]),
        ("SQLite FTS5 bm25", results["fts5"]),
        ("SQLite FTS5 bm25 + snippet()", results["fts5_snippet"]),
        ("suggestions, keystroke by keystroke", results["suggest"]),
    ]
    for name, figures in rows:
        print(
            f"{name:<44}{figures['p50_ms']:>9.2f}{figures['p95_ms']:>9.2f}"
            f"{figures['p99_ms']:>9.2f}{figures['mean_ms']:>9.2f}"
            f"{figures['cpu_p50_ms']:>9.2f}{figures['cpu_p95_ms']:>9.2f}{figures['count']:>7}"
        )
    ratio = results["ratio_kb_to_fts5"]
    cells = "".join(
        f"{(f'{ratio[k]:.1f}x' if ratio[k] else '-'):>9}" for k in ("p50", "p95", "p99")
    )
    print(f"{'ratio kb / FTS5':<44}{cells}")
    print()
    opened = results["searcher_open"]
    update = results["update"]
    memory = results["memory"]
    build = results["index_build"]
    print(
        f"{'full index build (flask kb index)':<44}{build['seconds']:>9.1f} s "
        f"({build['cpu_seconds']:.1f} s CPU)"
    )
    print(f"{'FTS5 table build':<44}{results['fts5_build_seconds']:>9.1f} s")
    print(
        f"{'open searcher / first search / first suggest':<44}"
        f"{opened['open_ms']:>9.1f}{opened['first_search_ms']:>9.1f}"
        f"{opened['first_suggest_ms']:>9.1f} ms"
    )
    saves = " + ".join(f"{run['save_ms']:.0f}+{run['search_ms']:.0f}" for run in update["runs"])
    print(
        f"{'article saved -> searchable':<44}{update['median_ms']:>9.1f} ms median, "
        f"{update['max_ms']:.1f} ms max (save+search ms: {saves})"
        f"{'' if update['all_found'] else ' NOT ALWAYS FOUND'}"
    )
    print(
        f"{'this process: RSS after build / search / peak':<44}"
        f"{memory['rss_after_build_mb'] or 0:>9.0f}{memory['rss_after_search_mb'] or 0:>9.0f}"
        f"{memory['peak_rss_mb']:>9.0f} MB"
    )
    worker = memory.get("worker") or {}
    if "rss_after_searches_mb" in worker:
        print(
            f"{'worker: RSS with app loaded / after searches':<44}"
            f"{worker['rss_after_app_mb'] or 0:>9.0f}{worker['rss_after_searches_mb'] or 0:>9.0f}"
            f" MB ({worker['searches']} searches, fresh process)"
        )
    print()
    print(f"{'quality':<44}{'hit@1':>9}{'hit@5':>9}{'hit@10':>9}{'MRR@10':>9}{'zero':>8}")
    for engine, label in (("kb", "kb"), ("fts5", "SQLite FTS5")):
        q = results["quality"][engine]
        groups = [(label, q)]
        groups += [(f"  {label} {key}", v) for key, v in q["by_lang"].items()]
        groups += [(f"  {label} {key}", v) for key, v in q["by_kind"].items()]
        for name, f in groups:
            if not f.get("queries"):
                continue
            print(
                f"{name:<44}{f['hit@1']:>9.3f}{f['hit@5']:>9.3f}{f['hit@10']:>9.3f}"
                f"{f['mrr@10']:>9.3f}{f['zero_result_rate']:>8.3f}"
            )
    targets = results.get("targets") or {}
    if targets:
        print()
        print(f"targets for {targets['size']:,} articles (issue 6):")
        for name, check in targets["checks"].items():
            verdict = "met" if check["met"] else "NOT MET"
            measured = "-" if check["measured"] is None else f"{check['measured']:.2f}"
            print(f"  {name:<42}{measured:>10} <= {check['target']:<8g} {verdict}")
    if profile_text:
        print()
        print("\n".join(profile_text.splitlines()[:60]))
        print(f"(full profile: {results['profile']['html']})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=Path, required=True, help="Articles directory.")
    parser.add_argument("--queries", type=Path, required=True, help="Queries (JSON lines).")
    parser.add_argument(
        "--json", type=Path, help="Where to write the JSON (default bench-results/search-<N>.json)."
    )
    parser.add_argument("--runs", type=int, default=1, help="Timed passes over the queries.")
    parser.add_argument("--warmup", type=int, default=200, help="Warm-up searches (titles).")
    parser.add_argument(
        "--max-keystrokes", type=int, default=10_000, help="Cap on suggestion calls."
    )
    parser.add_argument("--update-runs", type=int, default=5, help="Single-article saves.")
    parser.add_argument(
        "--profile", action="store_true", help="Profile a pass of kb search with pyinstrument."
    )
    parser.add_argument(
        "--worker-searches",
        type=int,
        default=1000,
        help="Searches before reading a fresh worker process's RSS (default 1000).",
    )
    # Internal: the child process that measures a worker's memory.
    parser.add_argument("--worker-rss", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker_rss:
        queries = read_queries(args.queries)
        report = measure_worker_rss(args.articles, args.worker_rss, queries, args.worker_searches)
        print(json.dumps(report))
        return
    if not args.articles.is_dir():
        parser.error(f"no articles directory {args.articles}")
    if args.runs < 1 or args.update_runs < 1:
        parser.error("--runs and --update-runs must be at least 1")
    queries = read_queries(args.queries)
    if args.json is None:
        count = sum(1 for _ in args.articles.rglob("*.md"))
        args.json = RESULTS_DIR / f"search-{count}.json"
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as workdir:
        bench = Bench(args, Path(workdir))
        results = {
            "articles_dir": str(args.articles),
            "queries_file": str(args.queries),
            "runs": args.runs,
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "sqlite": sqlite3.sqlite_version,
                "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            },
        }
        results.update(bench.run(queries))
        if hasattr(os, "getloadavg"):
            # A shared machine: the load says how far to trust the figures.
            results["machine"]["load_average_end"] = list(os.getloadavg())
    print_table(results, getattr(bench, "profile_text", None))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nWrote {args.json}")


if __name__ == "__main__":
    main()
