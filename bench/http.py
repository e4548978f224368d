"""HTTP benchmark: gunicorn (production config, 2 workers) under a bounded load of distinct queries.

Run from a fresh clone (the target installs .venv first):

    make bench-http BENCH_HTTP_ARGS="--articles /tmp/kbbench/10k"

which runs `.venv/bin/python bench/http.py --articles DIR [--queries FILE] [--requests N]
[--seconds T] [--concurrency C] [--json OUT]` (without --articles: the sample articles). DIR is
an articles directory, or a corpus made by bench/corpus.py (DIR/articles and DIR/queries.jsonl,
used as the default query file). Without a query file the queries are the articles' titles and
`questions:`. Not part of `make test`.

1. A temporary instance: SQLite migrated with `flask db upgrade`, index built with `flask kb index`.
   Rate limits are off (KB_RATELIMIT_ENABLED=false): all the load comes from one address and
   would otherwise measure the limiter's 429s.
2. Cold start, `--cold-starts` times: from spawning gunicorn (`-c gunicorn.conf.py`, 2 workers,
   127.0.0.1, a free port) to the first 200 of /healthz and of /en/search?q=refund, with the
   index already built, as `make run` starts it: with KB_PREPARE_ON_START=1, so the master
   also applies the migrations and checks the index (`kb.cli.prepare_to_serve`; no-ops here).
3. Load, in phases of equal bounds: for each of `--rounds` rounds, one phase per endpoint (the
   order rotates each round), each phase at most requests/(endpoints x rounds) requests and
   seconds/(endpoints x rounds) seconds, with `--concurrency` threads each holding a persistent
   HTTP/1.1 connection (http.client). Every search and suggestion is a different query (the
   query file first, then variants with added words; prefixes for suggestions), so no cache can
   answer. Phases rather than a mix: in a closed-loop mix every endpoint would get the same
   requests/s by construction. Rounds spread the machine's noise over every endpoint.
4. Worker RSS (VmRSS of each child of the gunicorn master) once at least `--rss-searches`
   searches were served (extra searches are sent first when the load served fewer).
5. With `--profile SECONDS`: py-spy (requirements-dev.txt; needs ptrace) samples the workers
   during one more phase per endpoint and attributes wall time to the event write, search,
   templates, Flask and gunicorn.

The machine has 2 cores and the load generator (threads in one process: about one core at most,
because of the GIL) competes with gunicorn for them, so absolute requests/s understate the
server; the figures to compare are the ratios to /healthz measured in the same run. The server
CPU per request (utime+stime of the workers over the phase) is printed as well: it does not
depend on the client.

Two diagnostic rows (`--no-diagnostics` drops them) say where /api/search's time goes:
- "/api/search (no event)" sends `context=contact` without a contact flow: the same search and
  JSON but no database write, so its difference from /api/search is the cost of recording the
  search event;
- "/api/search (cached answer)" sends one query over and over (one per language, alternating):
  the answer comes from the worker's result cache and the search event is still written, so
  the row is /api/search with a search that costs nothing: the ceiling any search engine could
  reach behind this Flask app, its event write and gunicorn.

Exit status 1 when a request failed or the server misbehaved; the targets are reported, not
enforced.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named http.py: with its folder first on sys.path, `import http` (here, and in
# werkzeug) would find it instead of the standard library. The project root goes there instead.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse  # noqa: E402
import http.client  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from http.cookies import SimpleCookie  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
BIN = PROJECT / ".venv" / "bin"
LANGS = ("en", "ar")
WORKERS = 2
WAIT = 30.0  # seconds: the bound on every wait for the server
POLL = 0.01  # seconds between cold-start probes
REQUEST_TIMEOUT = 30.0  # gunicorn's own timeout: a request longer than that is a failure anyway
COLD_START_PAGE = "/en/search?q=refund"
WARMUP_PER_ENDPOINT = 8  # requests per endpoint before measuring (each worker opens its searcher)
# Targets of issue 6 by corpus size: (api_search/healthz ratio, worker RSS MB, search p95 ms).
TARGETS = {
    "10k": {"api_search_ratio": 0.40, "worker_rss_mb": 200.0, "cold_start_s": 2.0},
    "1k": {"api_search_ratio": 0.60, "worker_rss_mb": 120.0, "cold_start_s": 2.0},
}
LARGE_CORPUS = 5000  # articles from which the 10,000-article column applies
MAX_EXTRA_WORDS = 3
VARIANT_ATTEMPTS = 20


# --------------------------------------------------------------------------- queries


def load_queries(queries_file: Path | None, articles_dir: Path) -> list[tuple[str, str]]:
    """(query, lang) pairs from a query file, or the articles' titles and `questions:`."""
    pairs: list[tuple[str, str]] = []
    if queries_file is not None:
        for line in queries_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                if entry.get("lang") in LANGS and str(entry.get("query", "")).strip():
                    pairs.append((entry["query"].strip(), entry["lang"]))
        return pairs
    from kb.content import load_articles

    articles, _ = load_articles(articles_dir, list(LANGS))
    for article in articles:
        if article.published:
            pairs += [(text, article.lang) for text in (article.title, *article.questions)]
    return pairs


class QueryStream:
    """An endless stream of distinct (query, lang): the base queries, then variants of them.

    Distinct means a different set of normalised words, so neither a cache keyed on the
    normalised query nor one keyed on the word set can answer a repeat. A variant is a base
    query with words of other queries of its language added (one, then more as the easy ones
    run out); as a last resort a running number is added.
    """

    def __init__(self, base: list[tuple[str, str]], seed: int):
        from kb.search import normalize_query

        self._normalize = normalize_query
        self._random = random.Random(seed)
        self._seen: set[tuple[str, frozenset[str]]] = set()
        self._base = list(dict.fromkeys(base))
        self._random.shuffle(self._base)  # both languages in every phase
        self._vocabulary: dict[str, list[str]] = {}
        for text, lang in self._base:
            words = self._vocabulary.setdefault(lang, [])
            words += [w for w in normalize_query(text).split() if len(w) >= 3]
        for lang, words in self._vocabulary.items():
            self._vocabulary[lang] = sorted(set(words))
        self._lock = threading.Lock()
        self._stream = self._generate()

    def next(self) -> tuple[str, str]:
        with self._lock:
            return next(self._stream)

    def first(self, lang: str) -> tuple[str, str]:
        """A base query of ``lang`` (not taken from the stream: it may be repeated)."""
        return next(((text, lang) for text, other in self._base if other == lang), ("help", lang))

    def _fresh(self, text: str, lang: str) -> bool:
        key = (lang, frozenset(self._normalize(text).split()))
        if not key[1] or key in self._seen:
            return False
        self._seen.add(key)
        return True

    def _generate(self) -> Iterator[tuple[str, str]]:
        for text, lang in self._base:
            if self._fresh(text, lang):
                yield text, lang
        extra = 1
        while extra <= MAX_EXTRA_WORDS:
            produced = 0
            for text, lang in self._base:
                words = self._vocabulary.get(lang, [])
                if len(words) < extra:
                    continue
                for _ in range(VARIANT_ATTEMPTS):
                    variant = " ".join([text, *self._random.sample(words, extra)])
                    if self._fresh(variant, lang):
                        produced += 1
                        yield variant, lang
                        break
            if produced < len(self._base) // 10 + 1:
                extra += 1
        number = 0
        while True:
            for text, lang in self._base:
                number += 1
                if self._fresh(f"{text} {number}", lang):
                    yield f"{text} {number}", lang


class PrefixStream:
    """Distinct (typed prefix, lang) for /api/suggest: what a customer has typed so far."""

    def __init__(self, queries: QueryStream, seed: int):
        self._queries = queries
        self._random = random.Random(seed)
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def next(self) -> tuple[str, str]:
        with self._lock:
            for attempt in range(10_000):
                text, lang = self._queries.next()
                words = text.split()
                # Mostly the first one to three words, the last one often half typed; longer
                # prefixes once short ones keep coming out already used.
                most = len(words) if attempt > VARIANT_ATTEMPTS else min(3, len(words))
                kept = words[: self._random.randint(1, most)]
                last = kept[-1]
                kept[-1] = last[: self._random.randint(min(2, len(last)), len(last))]
                prefix = " ".join(kept)
                if self._random.random() < 0.2 and kept[-1] == last:
                    prefix += " "  # a finished word
                key = (prefix.casefold(), lang)
                if len(prefix.strip()) >= 3 and key not in self._seen:
                    self._seen.add(key)
                    return prefix, lang
            raise RuntimeError("no new prefix in 10,000 queries")


# --------------------------------------------------------------------------- HTTP client


class Client:
    """One visitor: a persistent HTTP/1.1 connection and a cookie jar (the visit id)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection: http.client.HTTPConnection | None = None

    def get(self, path: str) -> int:
        if self.connection is None:
            self.connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT
            )
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.connection.request("GET", path, headers=headers)
            response = self.connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        if response.will_close:
            self.close()
        return response.status

    def open(self) -> int | None:
        """Connect (a /healthz request makes sure a worker accepted); the local port."""
        if self.connection is None or self.connection.sock is None:
            self.get("/healthz")
        if self.connection is None or self.connection.sock is None:
            return None  # the server closed it right away
        return self.connection.sock.getsockname()[1]

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def probe(port: int, path: str) -> int:
    """The status of one GET on a new connection (raises OSError while nobody listens)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5.0)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


# --------------------------------------------------------------------------- endpoints


@dataclass
class Endpoint:
    name: str
    label: str
    next_path: Callable[[], str]
    is_search: bool  # counts towards the searches served before worker RSS is read


def endpoints(searches: QueryStream, prefixes: PrefixStream, diagnostics: bool) -> list[Endpoint]:
    quote = urllib.parse.quote

    def api_search() -> str:
        text, lang = searches.next()
        return f"/api/search?q={quote(text)}&lang={lang}"

    def page_search() -> str:
        text, lang = searches.next()
        return f"/{lang}/search?q={quote(text)}"

    def api_search_no_event() -> str:
        # context=contact without a contact flow: the same search and JSON, no database write.
        text, lang = searches.next()
        return f"/api/search?q={quote(text)}&lang={lang}&context=contact"

    repeated = itertools.cycle(
        [(text, lang) for lang in LANGS for text, _ in [searches.first(lang)]]
    )

    def api_search_cached() -> str:
        text, lang = next(repeated)
        return f"/api/search?q={quote(text)}&lang={lang}"

    def suggest() -> str:
        text, lang = prefixes.next()
        return f"/api/suggest?q={quote(text)}&lang={lang}"

    found = [
        Endpoint("healthz", "/healthz", lambda: "/healthz", False),
        Endpoint("api_search", "/api/search", api_search, True),
        Endpoint("page_search", "/<lang>/search", page_search, True),
        Endpoint("suggest", "/api/suggest", suggest, False),
    ]
    if diagnostics:
        found += [
            Endpoint("api_search_no_event", "/api/search (no event)", api_search_no_event, True),
            Endpoint("api_search_cached", "/api/search (cached answer)", api_search_cached, False),
        ]
    return found


# --------------------------------------------------------------------------- load


@dataclass
class Phase:
    endpoint: str
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    worker_cpu_s: dict[int, float] = field(default_factory=dict)
    balanced: bool = True

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)


def run_phase(
    clients: list[Client], endpoint: Endpoint, budget: int, seconds: float, master_pid: int
) -> Phase:
    """Up to ``budget`` requests in at most ``seconds``, from every client at once."""
    port = clients[0].port
    phase = Phase(endpoint.name)
    lock = threading.Lock()
    remaining = [budget]
    barrier = threading.Barrier(len(clients) + 1)
    start = [0.0]

    def work(client: Client) -> None:
        barrier.wait()
        deadline = start[0] + seconds
        while True:
            with lock:
                if remaining[0] <= 0 or time.monotonic() >= deadline:
                    return
                remaining[0] -= 1
            path = endpoint.next_path()
            began = time.perf_counter()
            try:
                status: int | str = client.get(path)
            except (OSError, http.client.HTTPException) as failure:
                status = type(failure).__name__
            took = (time.perf_counter() - began) * 1000
            with lock:
                phase.latencies_ms.append(took)
                key = str(status)
                phase.statuses[key] = phase.statuses.get(key, 0) + 1
                if not (isinstance(status, int) and 200 <= status < 300):
                    phase.errors += 1

    phase.balanced = balance(clients, master_pid, port)
    threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    workers_before = worker_cpu(master_pid)
    client_before = time.process_time()
    start[0] = time.monotonic()
    barrier.wait()
    for thread in threads:
        thread.join(timeout=seconds + REQUEST_TIMEOUT + 5)
    phase.seconds = time.monotonic() - start[0]
    phase.client_cpu_s = time.process_time() - client_before
    workers_after = worker_cpu(master_pid)
    phase.worker_cpu_s = {
        pid: workers_after[pid] - workers_before[pid]
        for pid in workers_after
        if pid in workers_before
    }
    phase.server_cpu_s = sum(phase.worker_cpu_s.values())
    for client in clients:
        client.close()  # new connections each phase: the kernel shares them out again
    return phase


def balance(clients: list[Client], master_pid: int, port: int) -> bool:
    """Spread the clients' connections evenly over the workers, as many clients would be.

    A gthread worker accepts every connection waiting when it wakes up, so connections opened
    together often all land in one worker and the other idles: reconnect the surplus until
    each worker holds its share (bounded; False if that never happened).
    """
    share = -(-len(clients) // WORKERS)
    for _ in range(50):
        ports = [client.open() for client in clients]
        owners = connection_owners(master_pid, port)
        by_worker: dict[int | None, list[Client]] = {}
        for client, local_port in zip(clients, ports, strict=True):
            by_worker.setdefault(owners.get(local_port), []).append(client)
        surplus = [c for pid, group in by_worker.items() for c in group[share if pid else 0 :]]
        if not surplus:
            return True
        for client in surplus:
            client.close()
    return False


def connection_owners(master_pid: int, port: int) -> dict[int, int]:
    """Client port -> pid of the worker holding that connection to ``port`` (Linux /proc)."""
    by_inode: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":  # ESTABLISHED
                by_inode[fields[9]] = int(fields[2].rsplit(":", 1)[1], 16)
    owners = {}
    for pid in workers_of(master_pid):
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        for link in links:
            if link.startswith("socket:[") and link[8:-1] in by_inode:
                owners[by_inode[link[8:-1]]] = pid
    return owners


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = math.ceil(round(share * len(ordered), 6))
    return ordered[min(len(ordered), max(1, rank)) - 1]


def summarise(name: str, label: str, phases: list[Phase]) -> dict:
    latencies = [ms for phase in phases for ms in phase.latencies_ms]
    seconds = sum(phase.seconds for phase in phases)
    statuses: dict[str, int] = {}
    for phase in phases:
        for status, count in phase.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    requests = len(latencies)
    server_cpu = sum(phase.server_cpu_s for phase in phases)
    client_cpu = sum(phase.client_cpu_s for phase in phases)
    return {
        "endpoint": label,
        "requests": requests,
        "errors": sum(phase.errors for phase in phases),
        "statuses": statuses,
        "seconds": round(seconds, 3),
        "requests_per_s": round(requests / seconds, 2) if seconds else 0.0,
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p95_ms": round(percentile(latencies, 0.95), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "server_cpu_ms_per_request": round(server_cpu * 1000 / requests, 2) if requests else 0.0,
        "client_cpu_ms_per_request": round(client_cpu * 1000 / requests, 2) if requests else 0.0,
        "phases": [
            {
                "seconds": round(phase.seconds, 3),
                "requests": phase.requests,
                "worker_cpu_s": [round(s, 3) for s in phase.worker_cpu_s.values()],
                "connections_balanced": phase.balanced,
            }
            for phase in phases
        ],
    }


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def workers_of(pid: int) -> list[int]:
    """The live child processes of ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return sorted(found)


def worker_cpu(master_pid: int) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each worker."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in workers_of(master_pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return used


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS, VmHWM (peak RSS), and from smaps_rollup Pss and Private (pages only this
    process holds: RSS also counts the pages a worker still shares with the preloaded
    master), in MB (MiB)."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = round(int(value.split()[0]) / 1024, 1)
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    except OSError:
        return found
    kib = {}
    for line in rollup:
        key, _, value = line.partition(":")
        kib[key] = int(value.split()[0])
    found["Pss"] = round(kib.get("Pss", 0) / 1024, 1)
    found["Private"] = round((kib.get("Private_Clean", 0) + kib.get("Private_Dirty", 0)) / 1024, 1)
    return found


def prepare_instance(workdir: Path, articles_dir: Path) -> tuple[dict[str, str], dict]:
    """Environment of a fresh instance (migrated database, built index) and the step timings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(
        KB_SECRET_KEY=secrets.token_hex(32),
        KB_ARTICLES_DIR=str(articles_dir),
        KB_INDEX_DIR=str(workdir / "index"),
        KB_DATABASE_URL=f"sqlite:///{workdir / 'kb.sqlite3'}",
        # One client address: the limits would answer most of the load with 429s.
        KB_RATELIMIT_ENABLED="false",
        # Plain http on 127.0.0.1: a Secure session cookie would never come back.
        KB_SESSION_COOKIE_SECURE="false",
    )
    timings = {
        "db_upgrade_s": flask(env, "db", "upgrade"),
        "index_build_s": flask(env, "kb", "index"),
    }
    return env, timings


def flask(env: dict[str, str], *args: str, timeout: float = 1800) -> float:
    """Run one `flask --app wsgi` command; its wall time in seconds."""
    began = time.monotonic()
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return round(time.monotonic() - began, 3)


class Server:
    """gunicorn with the project's config on 127.0.0.1; always stopped by ``stop``."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self.port = free_port()
        self.master: subprocess.Popen | None = None

    def start(self) -> dict[str, float]:
        """Spawn gunicorn; seconds from spawn to the first 200 of /healthz and a search page."""
        command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--workers", str(WORKERS)]
        command += ["--bind", f"127.0.0.1:{self.port}", "wsgi:app"]
        with self.log_path.open("ab") as log:
            began = time.monotonic()
            self.master = subprocess.Popen(
                command, cwd=PROJECT, env=self.env, stdout=log, stderr=log
            )
        answered: dict[str, float] = {}

        def wait_for(path: str) -> None:
            while time.monotonic() - began < WAIT and self.master.poll() is None:
                try:
                    if probe(self.port, path) == 200:
                        answered[path] = round(time.monotonic() - began, 3)
                        return
                except OSError:
                    pass
                time.sleep(POLL)

        probes = [
            threading.Thread(target=wait_for, args=(path,), daemon=True)
            for path in ("/healthz", COLD_START_PAGE)
        ]
        for thread in probes:
            thread.start()
        for thread in probes:
            thread.join(timeout=WAIT + 10)
        if len(answered) < 2:
            raise SystemExit(f"gunicorn did not answer within {WAIT:.0f} s; see {self.log_path}")
        deadline = time.monotonic() + WAIT
        while len(workers_of(self.master.pid)) < WORKERS and time.monotonic() < deadline:
            time.sleep(POLL)
        return {"healthz_s": answered["/healthz"], "search_page_s": answered[COLD_START_PAGE]}

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if gunicorn is still there after its graceful timeout."""
        if self.master is None or self.master.poll() is not None:
            return
        self.master.send_signal(signal.SIGTERM)
        try:
            self.master.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.master.kill()
            self.master.wait(timeout=15)


# --------------------------------------------------------------------------- profile

# Where a sampled stack belongs, first match wins (substrings of py-spy's "function (file:line)").
PROFILE_CATEGORIES = [
    ("event write (record_search: SQLAlchemy + SQLite)", ("record_search (kb/insights",)),
    ("suggestions (kb.search.suggest)", ("kb/search/suggest.py",)),
    ("search (kb.search, Whoosh)", ("kb/search/", "whoosh/")),
    ("template rendering (Jinja)", ("render_template (flask",)),
    ("Flask/Werkzeug (routing, session, JSON, extensions)", ("wsgi_app (flask",)),
    ("gunicorn (HTTP parsing, response, access log)", ("gunicorn/workers/gthread.py",)),
]
# The event write's parts (SQLAlchemy frames), first match wins.
EVENT_PARTS = [
    ("commit", "do_commit (sqlalchemy"),
    ("reload after commit", "_load_expired (sqlalchemy"),
    ("INSERT (with any wait for SQLite's write lock)", "do_execute (sqlalchemy"),
    ("rest (ORM, redaction)", ""),
]


def profile_endpoint(
    pyspy: str, master_pid: int, run: Callable[[], Phase], output: Path
) -> tuple[Phase, dict]:
    """Run one phase under `py-spy record` (wall time, idle threads included); the shares."""
    spy = subprocess.Popen(
        [pyspy, "record", "--pid", str(master_pid), "--subprocesses", "--idle"]
        + ["--rate", "200", "--format", "raw", "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(1.0)  # attach to both workers before the load starts
        phase = run()
    finally:
        spy.send_signal(signal.SIGINT)
        try:
            _, err = spy.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            spy.kill()
            _, err = spy.communicate(timeout=15)
    if not output.exists():
        raise SystemExit(f"py-spy wrote no profile: {err.decode(errors='replace')[-500:]}")
    return phase, attribute(output.read_text(encoding="utf-8", errors="replace"))


def attribute(raw: str) -> dict:
    """Shares of the samples taken while a worker thread was handling a request."""
    counts = {name: 0 for name, _ in PROFILE_CATEGORIES}
    event_parts = {name: 0 for name, _ in EVENT_PARTS}
    idle = 0
    for line in raw.splitlines():
        stack, _, number = line.rpartition(" ")
        if not number.isdigit():
            continue
        samples = int(number)
        category = next(
            (name for name, marks in PROFILE_CATEGORIES if any(m in stack for m in marks)), None
        )
        if category is None or (category.startswith("gunicorn") and "handle" not in stack):
            idle += samples  # the worker's main loop and its threads waiting for work
            continue
        counts[category] += samples
        if category == PROFILE_CATEGORIES[0][0]:
            part = next(name for name, mark in EVENT_PARTS if mark in stack)
            event_parts[part] += samples
    busy = sum(counts.values())
    return {
        "samples_in_requests": busy,
        "samples_idle": idle,
        "shares": {name: round(n / busy, 3) if busy else 0.0 for name, n in counts.items()},
        "event_write_parts": {
            name: round(n / busy, 3) if busy else 0.0 for name, n in event_parts.items()
        },
    }


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark kb over HTTP: gunicorn, 2 workers, distinct queries.",
    )
    parser.add_argument(
        "--articles",
        type=Path,
        default=PROJECT / "articles",
        help="Articles directory, or a bench/corpus.py output holding articles/ and "
        "queries.jsonl (default: the sample articles).",
    )
    parser.add_argument(
        "--queries",
        type=Path,
        help="Query file (JSON lines with query and lang); default DIR/queries.jsonl when "
        "present, else the articles' titles and questions.",
    )
    parser.add_argument("--requests", type=int, default=20000, help="Cap on measured requests.")
    parser.add_argument("--seconds", type=float, default=120.0, help="Cap on the load's time.")
    parser.add_argument("--concurrency", type=int, default=4, help="Client threads.")
    parser.add_argument("--rounds", type=int, default=3, help="Phases per endpoint.")
    parser.add_argument("--cold-starts", type=int, default=3, help="gunicorn starts timed.")
    parser.add_argument(
        "--rss-searches",
        type=int,
        default=1000,
        help="Searches served before worker RSS is read (sent after the load if needed, "
        "within another --seconds); 0 reads it right after the load.",
    )
    parser.add_argument(
        "--no-diagnostics",
        dest="diagnostics",
        action="store_false",
        help="Leave out the /api/search rows without the event write and with a cached answer.",
    )
    parser.add_argument(
        "--profile",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="Also profile each endpoint for SECONDS with py-spy (needs ptrace).",
    )
    parser.add_argument("--seed", type=int, default=1, help="Seed of the query variants.")
    parser.add_argument("--json", type=Path, help="Output (default bench-results/http-NAME.json).")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary instance.")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.seconds <= 0 or args.concurrency < 1 or args.rounds < 1:
        parser.error("--requests, --seconds, --concurrency and --rounds must be positive")
    if args.cold_starts < 1:
        parser.error("--cold-starts must be at least 1")
    return args


def resolve_corpus(args: argparse.Namespace) -> tuple[Path, Path | None, str]:
    """The articles directory, the query file and the run's name."""
    given = args.articles.resolve()
    if not given.is_dir():
        raise SystemExit(f"no such directory: {given}")
    articles, queries = given, args.queries
    if (given / "articles").is_dir():
        articles = given / "articles"
        if queries is None and (given / "queries.jsonl").is_file():
            queries = given / "queries.jsonl"
    name = given.name if given != PROJECT / "articles" else "sample"
    return articles, queries.resolve() if queries else None, name


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    articles_dir, queries_file, name = resolve_corpus(args)
    article_count = sum(1 for _ in articles_dir.rglob("*.md"))
    column = "10k" if article_count >= LARGE_CORPUS else "1k"
    base = load_queries(queries_file, articles_dir)
    if not base:
        raise SystemExit("no queries: give --queries or articles with titles")
    searches = QueryStream(base, args.seed)
    prefixes = PrefixStream(QueryStream(base, args.seed + 1), args.seed + 2)
    pyspy = None
    if args.profile:
        pyspy = shutil.which("py-spy", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        if pyspy is None:
            raise SystemExit("--profile needs py-spy: make .venv/.dev (requirements-dev.txt)")

    load_at_start = [round(x, 2) for x in os.getloadavg()]
    workdir = Path(tempfile.mkdtemp(prefix="kb-bench-http-"))
    print(f"kb HTTP benchmark: {article_count} articles in {articles_dir}")
    print(f"queries: {len(base)} from {queries_file or 'article titles and questions'}")
    print(f"instance in {workdir}; rate limits off (KB_RATELIMIT_ENABLED=false)")
    env, instance = prepare_instance(workdir, articles_dir)
    print(
        f"db upgrade {instance['db_upgrade_s']:.2f} s, "
        f"index build {instance['index_build_s']:.2f} s"
    )
    # As `make run` starts it: the master migrates and checks the index before forking.
    env = {**env, "KB_PREPARE_ON_START": "1"}
    server = Server(env, workdir / "gunicorn.log")
    result: dict = {}
    failed = False
    try:
        starts = []
        for attempt in range(args.cold_starts):
            if attempt:
                server.stop()
                server = Server(env, workdir / "gunicorn.log")
            starts.append(server.start())
        cold = {
            "runs": starts,
            "healthz_s": statistics.median(s["healthz_s"] for s in starts),
            "search_page_s": statistics.median(s["search_page_s"] for s in starts),
        }
        cold["make_run_estimate_s"] = cold["search_page_s"]
        master_pid = server.master.pid
        chosen = endpoints(searches, prefixes, args.diagnostics)
        clients = [Client(server.port) for _ in range(args.concurrency)]
        searches_served = 0

        def served(phase: Phase, endpoint: Endpoint) -> int:
            if not endpoint.is_search:
                return 0
            return sum(n for s, n in phase.statuses.items() if s.isdigit() and s[0] == "2")

        for endpoint in chosen:  # each worker opens its searcher; not measured
            warm = run_phase(clients, endpoint, WARMUP_PER_ENDPOINT, 10.0, master_pid)
            searches_served += served(warm, endpoint)

        phase_budget = max(1, args.requests // (len(chosen) * args.rounds))
        phase_seconds = args.seconds / (len(chosen) * args.rounds)
        print(
            f"load: {args.rounds} rounds x {len(chosen)} phases, each <= {phase_budget} requests "
            f"and <= {phase_seconds:.1f} s, {args.concurrency} client threads"
        )
        phases: dict[str, list[Phase]] = {e.name: [] for e in chosen}
        for round_number in range(args.rounds):
            shift = round_number % len(chosen)
            for endpoint in chosen[shift:] + chosen[:shift]:
                phase = run_phase(clients, endpoint, phase_budget, phase_seconds, master_pid)
                phases[endpoint.name].append(phase)
                searches_served += served(phase, endpoint)
        results = {e.name: summarise(e.name, e.label, phases[e.name]) for e in chosen}
        healthz_rate = results["healthz"]["requests_per_s"]
        for row in results.values():
            row["ratio_to_healthz"] = (
                round(row["requests_per_s"] / healthz_rate, 3) if healthz_rate else None
            )

        top_up = max(0, args.rss_searches - searches_served)
        if top_up:
            print(f"sending {top_up} more searches before reading worker RSS")
            began = time.monotonic()
            search_endpoints = [e for e in chosen if e.name in ("api_search", "page_search")]
            while top_up > 0 and time.monotonic() - began < args.seconds:
                for endpoint in search_endpoints:
                    left = args.seconds - (time.monotonic() - began)
                    if left <= 0:
                        break
                    phase = run_phase(clients, endpoint, min(top_up, 200), left, master_pid)
                    searches_served += served(phase, endpoint)
                    top_up = max(0, args.rss_searches - searches_served)
        workers = workers_of(master_pid)
        memory = {pid: memory_mb(pid) for pid in workers}
        worker_rss = {
            "after_searches": searches_served,
            "workers": {str(pid): m for pid, m in memory.items()},
            "max_rss_mb": max((m.get("VmRSS", 0.0) for m in memory.values()), default=0.0),
            "max_peak_rss_mb": max((m.get("VmHWM", 0.0) for m in memory.values()), default=0.0),
            "master_rss_mb": memory_mb(master_pid).get("VmRSS", 0.0),
        }

        profile = None
        if pyspy:
            profile = {}
            for endpoint in chosen:

                def one_phase(endpoint: Endpoint = endpoint) -> Phase:
                    return run_phase(clients, endpoint, 10**9, args.profile, master_pid)

                output = workdir / f"profile-{endpoint.name}.txt"
                phase, shares = profile_endpoint(pyspy, master_pid, one_phase, output)
                shares["requests"] = phase.requests
                shares["requests_per_s_under_profiler"] = round(phase.requests / phase.seconds, 2)
                profile[endpoint.name] = shares

        if server.master.poll() is not None:
            print("FAIL: the gunicorn master exited during the run")
            failed = True
        result = {
            "name": name,
            "articles_dir": str(articles_dir),
            "articles": article_count,
            "queries_file": str(queries_file) if queries_file else None,
            "queries_in_file": len(base),
            "settings": {
                "requests": args.requests,
                "seconds": args.seconds,
                "concurrency": args.concurrency,
                "rounds": args.rounds,
                "phase_requests": phase_budget,
                "phase_seconds": round(phase_seconds, 3),
                "workers": WORKERS,
                "gunicorn": "gunicorn -c gunicorn.conf.py --workers 2 (gthread, 2 threads)",
                "rate_limits": "disabled (KB_RATELIMIT_ENABLED=false)",
                "cpus": os.cpu_count(),
                "load_average_at_start": load_at_start,
                "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            },
            "instance": instance,
            "cold_start": cold,
            "endpoints": results,
            "searches_served": searches_served,
            "worker_rss": worker_rss,
            "profile": profile,
        }
        result["targets"] = check_targets(result, column)
    finally:
        server.stop()

    report(result)
    out = args.json or PROJECT / "bench-results" / f"http-{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    errors = sum(row["errors"] for row in result["endpoints"].values())
    if errors:
        print(f"FAIL: {errors} requests failed (see statuses in the JSON)")
    return 1 if errors or failed else 0


def check_targets(result: dict, column: str) -> dict:
    targets = TARGETS[column]
    ratio = result["endpoints"]["api_search"]["ratio_to_healthz"] or 0.0
    rss = result["worker_rss"]["max_rss_mb"]
    cold = result["cold_start"]["make_run_estimate_s"]
    return {
        "column": f"{'10,000' if column == '10k' else '1,000'} articles",
        "api_search_ratio": {
            "target": targets["api_search_ratio"],
            "measured": ratio,
            "met": ratio >= targets["api_search_ratio"],
        },
        "worker_rss_mb": {
            "target": targets["worker_rss_mb"],
            "measured": rss,
            "met": rss <= targets["worker_rss_mb"],
            "after_searches": result["worker_rss"]["after_searches"],
        },
        "make_run_cold_start_s": {
            "target": targets["cold_start_s"],
            "measured": cold,
            "met": cold <= targets["cold_start_s"],
        },
    }


def report(result: dict) -> None:
    if not result:
        return
    cold = result["cold_start"]
    runs = ", ".join(f"{run['search_page_s']:.2f}" for run in cold["runs"])
    print(
        "\ncold start as `make run` (gunicorn spawn, migrations and index check in the master"
        " -> first 200, index already built), median of runs:"
    )
    print(f"  /healthz {cold['healthz_s']:.2f} s; {COLD_START_PAGE} {cold['search_page_s']:.2f} s")
    print(f"  ({runs} s per run)")
    print(
        f"\n{'endpoint':<24}{'requests':>9}{'errors':>7}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'vs healthz':>11}{'srv CPU ms':>11}"
    )
    for row in result["endpoints"].values():
        ratio = row["ratio_to_healthz"]
        print(
            f"{row['endpoint']:<24}{row['requests']:>9}{row['errors']:>7}"
            f"{row['requests_per_s']:>9.1f}{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}"
            f"{row['p99_ms']:>9.1f}{(f'{ratio:.2f}' if ratio is not None else '-'):>11}"
            f"{row['server_cpu_ms_per_request']:>11.2f}"
        )
    settings = result["settings"]
    print(
        f"({settings['concurrency']} client threads on {settings['cpus']} CPUs shared with the "
        "server; 'srv CPU ms' = workers' CPU time per request; load average "
        f"{settings['load_average_at_start'][0]} at the start)"
    )
    rss = result["worker_rss"]
    each = ", ".join(
        f"{m.get('VmRSS', 0):.1f} (private {m.get('Private', 0):.1f})"
        for m in rss["workers"].values()
    )
    print(
        f"\nworker RSS after {rss['after_searches']} searches: max {rss['max_rss_mb']:.1f} MB "
        f"(each: {each}; peak {rss['max_peak_rss_mb']:.1f} MB; "
        f"master {rss['master_rss_mb']:.1f} MB)"
    )
    if result["profile"]:
        print("\nprofile (py-spy, wall time of worker threads handling requests):")
        for endpoint, shares in result["profile"].items():
            parts = ", ".join(
                f"{name.split(' (')[0]} {share:.0%}"
                for name, share in shares["shares"].items()
                if share >= 0.005
            )
            print(f"  {endpoint}: {parts}")
            if shares["shares"].get(PROFILE_CATEGORIES[0][0]):
                parts = ", ".join(
                    f"{name} {share:.0%}" for name, share in shares["event_write_parts"].items()
                )
                print(f"    event write: {parts}")
    print(f"\ntargets ({result['targets']['column']}):")
    for key, target in result["targets"].items():
        if isinstance(target, dict):
            verdict = "met" if target["met"] else "NOT met"
            print(f"  {key}: {target['measured']} (target {target['target']}) {verdict}")


if __name__ == "__main__":
    sys.exit(main())
