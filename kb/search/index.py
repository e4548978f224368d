"""Build and update the Whoosh index of published articles (DESIGN.md section 5).

The index lives in ``<index_dir>/v<SCHEMA_VERSION>``: a change of fields or analysis bumps
the version, so a new index is built beside the old one instead of over it. Next to the
Whoosh files that directory holds the synonym groups (``synonyms.json``), the fingerprint
of the articles it was built from (``fingerprint``) and the article catalogue the customer
pages and suggestions read (``catalogue.sqlite3``, `kb.search.catalogue`), written and
patched under the same writer lock as the index.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import re
import struct
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from html import unescape
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, ID, KEYWORD, TEXT, Schema
from whoosh.writing import CLEAR, SegmentWriter

from kb.content import Article, SynonymGroup
from kb.content.library import markdown_files
from kb.errors import KBError, SearchUnavailable
from kb.search.analysis import (
    ARABIC_STEMMER,
    COMPOUND_PATTERN,
    HYPHENS,
    script_aware_analyzer,
    spelling_analyzer,
)
from kb.search.catalogue import (
    catalogue_is_current,
    remove_from_catalogue,
    replace_catalogue,
    update_catalogue,
)
from kb.search.snippets import word_spans
from kb.search.text import TOKEN_PATTERN, analyse_word, is_arabic, spelling_form

logger = logging.getLogger(__name__)

# Bump whenever the schema or the analysis changes: the index is then rebuilt in a new
# directory and a web worker never reads an index its code cannot query.
SCHEMA_VERSION = 4
# Seconds a writer waits for another writer's lock before giving up.
WRITER_TIMEOUT = 30.0
SYNONYMS_FILE = "synonyms.json"
FINGERPRINT_FILE = "fingerprint"
# Size, modification time and hash of each article file (`fingerprint(remember_in=...)`).
FILE_HASHES_FILE = "file-hashes.json"
FRESH_SECONDS = 2
ARTICLE_SYNONYMS_FILE = "synonyms.yml"

# Searchable text fields and their query-time boosts. Whoosh scores every field with BM25
# and adds the scores up, so a word in the title already counts twice (title and body);
# boosts above 1 over-rewarded title words on both evaluation sets (docs/search-quality.md).
# `questions:` are alternative titles and weigh the same.
# Characters of the body (from its start) whose adjacent words are indexed as pairs.
PAIRS_BODY_CHARS = 1500
_PAIR_WORD = re.compile(COMPOUND_PATTERN)
_PAIR_PART = re.compile(TOKEN_PATTERN)
_PAIR_HYPHEN = re.compile(f"[{HYPHENS}]")
_WORDS = re.compile(TOKEN_PATTERN)

FIELD_BOOSTS = {"title": 1.0, "questions": 1.0, "tagwords": 1.0, "summary": 1.0, "body": 1.0}
# The fields `script_aware_analyzer` analyses, and the one `spelling_analyzer` does; a build
# analyses them itself (`whoosh_fields`).
ANALYSED_FIELDS = ("title", "questions", "summary", "body", "tagwords")
SPELLING_FIELD = "spelling"

# A full build of at least this many published articles is shared out between worker
# processes, each writing one index segment of consecutive articles. A smaller one is
# quicker in this process alone (no start-up) and keeps the index in one segment.
PARALLEL_MIN_ARTICLES = 300
# Worker processes per CPU. With one, the run of articles that costs more (Arabic ones
# render slower; the files come sorted by language) kept its worker busy 23% longer than
# the other on 1,000 articles; with two, the system shares the CPUs until the last ones end.
PROCESSES_PER_CPU = 2
# Most worker processes (and index segments) one build makes.
MAX_BUILD_PROCESSES = 8
# Megabytes of postings (by Whoosh's estimate) a full build's writer sorts in memory, not
# through files (Whoosh's default: 128): 1.6 million postings, a segment of ~5,500 articles
# (~280 postings each; 20,000 articles on 2 CPUs), in ~350 MB of each worker's memory.
BUILD_POOL_MB = 256
# What a worker reports after each article, for the progress bar.
_ARTICLE_DONE = "+"


class IndexBuildError(KBError):
    """A worker process failed while building the index (the old index stays in place)."""


# What opening a damaged index raises (measured on Whoosh 2.7.4, tests/test_faults.py): a
# truncated table of contents fails in struct/pickle, an empty one with TypeError, a garbled
# one with whatever unpickling the garbage hits (the analyser's regex pattern is pickled
# too: re.error); a truncated segment with EOFError. Each means "search unavailable until
# `flask kb index`", never a 500.
DAMAGED_INDEX_ERRORS = (
    OSError,
    EOFError,
    whoosh_index.IndexError,
    struct.error,
    pickle.UnpicklingError,
    re.error,
    ArithmeticError,
    ValueError,
    TypeError,
    LookupError,
    AttributeError,
    ImportError,
    MemoryError,
)


def make_schema() -> Schema:
    analyzer = script_aware_analyzer()
    return Schema(
        key=ID(unique=True, stored=True),
        lang=ID(stored=True),
        slug=ID(stored=True),
        # No positions: proximity comes from the `pairs` field and snippets from the stored
        # text (kb.search.snippets), so term frequencies are all the text fields need.
        title=TEXT(analyzer=analyzer, stored=True, phrase=False),
        questions=TEXT(analyzer=analyzer, stored=True, phrase=False),
        summary=TEXT(analyzer=analyzer, stored=True, phrase=False),
        # Plain text of the rendered article: searched, and the source of snippets.
        body=TEXT(analyzer=analyzer, stored=True, phrase=False),
        category=ID(stored=True),
        tags=KEYWORD(stored=True, commas=True, lowercase=True),
        tagwords=TEXT(analyzer=analyzer, phrase=False),
        # Unstemmed words of the article, the vocabulary of "did you mean".
        spelling=TEXT(analyzer=spelling_analyzer(), phrase=False),
        # Adjacent word pairs ("t|gift+card"), for the proximity bonus (`adjacent_pairs`):
        # a per-document column, not indexed terms (150,000 distinct pairs per 1,000
        # articles made a build three times slower); read only for the top candidates.
        pairs=COLUMN(VarBytesColumn()),
        # The analysed words of the start of the body and where they are, for snippets
        # (`kb.search.snippets.word_spans`): analysis done once here, not at every search.
        body_spans=COLUMN(VarBytesColumn()),
    )


def index_path(index_dir: Path | str) -> Path:
    """The directory of the current schema version's index inside ``index_dir``."""
    return Path(index_dir) / f"v{SCHEMA_VERSION}"


def index_exists(index_dir: Path | str) -> bool:
    path = index_path(index_dir)
    return path.is_dir() and whoosh_index.exists_in(str(path))


def build_index(
    index_dir: Path | str,
    articles: Iterable[Article],
    synonyms: Iterable[SynonymGroup | tuple[str, ...]] = (),
    progress: Callable[[int], None] | None = None,
    html_of: Callable[[Article], str] | None = None,
    processes: int | None = None,
) -> int:
    """Replace the index with the published ``articles``; return how many were indexed.

    One writer holds the index's lock and commits with ``mergetype=CLEAR``, so readers move
    from the old generation to the complete new one at once. ``progress(1)`` is called after
    each article (drafts included), matching click's ``bar.update``. A plain tuple in
    ``synonyms`` is a same-script group. ``html_of`` gives an article's rendered HTML (e.g.
    from the HTML cache); by default it is rendered here.

    ``processes``: how many worker processes render and index the articles (`build_processes`
    decides when None). With more than one, each writes the segment of a run of consecutive
    articles and the commit lists those segments in article order: every document keeps the
    number, terms and statistics a one-process build gives it, so searches score and rank
    exactly alike.
    """
    path = index_path(index_dir)
    path.mkdir(parents=True, exist_ok=True)
    (path / FINGERPRINT_FILE).unlink(missing_ok=True)
    ix = _open_for_rebuild(path, make_schema())
    advance = progress or _no_progress
    published = []
    for article in articles:
        if article.published:
            published.append(article)
        else:
            advance(1)
    workers = build_processes(len(published)) if processes is None else max(1, processes)
    with _writing(ix, _BuildWriter, mergetype=CLEAR) as writer:
        segments = None
        if workers > 1 and len(published) > 1:
            segments = _write_segments(ix, writer.writelock, published, workers, html_of, advance)
        else:
            for article in published:
                writer.add_document(**whoosh_fields(_document(article, html_of)))
                advance(1)
        # Under the writer's lock, so an editor's save cannot fall between the two.
        replace_catalogue(path, published)
        if segments is not None:
            _commit_segments(writer, segments)
    count = len(published)
    groups = [g if isinstance(g, SynonymGroup) else SynonymGroup(tuple(g)) for g in synonyms]
    stored = [{"terms": list(g.terms), "across_languages": g.across_languages} for g in groups]
    _write_atomically(path / SYNONYMS_FILE, json.dumps(stored, ensure_ascii=False))
    logger.info("indexed %d articles in %s", count, path)
    return count


def build_processes(articles: int) -> int:
    """How many worker processes a full build of ``articles`` published articles uses.

    `PROCESSES_PER_CPU` per CPU this process may run on, at most `MAX_BUILD_PROCESSES`;
    one (this process) below `PARALLEL_MIN_ARTICLES`, or where forking is unavailable or
    unsafe: a process running other threads could fork while one of them holds a lock the
    worker then needs.
    """
    if (
        articles < PARALLEL_MIN_ARTICLES
        or "fork" not in multiprocessing.get_all_start_methods()
        or threading.active_count() > 1
    ):
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return 1 if cpus < 2 else min(PROCESSES_PER_CPU * cpus, MAX_BUILD_PROCESSES)


def update_article(index_dir: Path | str, article: Article) -> None:
    """Add or replace one article in the index; a draft is removed from it."""
    ix = _open(index_dir)
    with _writing(ix) as writer:
        if article.published:
            writer.update_document(**whoosh_fields(article_document(article)))
        else:
            writer.delete_by_term("key", article.key)
        update_catalogue(index_path(index_dir), article)


def remove_article(index_dir: Path | str, key: str) -> None:
    """Remove the article with ``key`` ("lang/slug") from the index, if it is there."""
    ix = _open(index_dir)
    with _writing(ix) as writer:
        writer.delete_by_term("key", key)
        remove_from_catalogue(index_path(index_dir), key)


def load_index_synonyms(index_dir: Path | str) -> list[SynonymGroup]:
    """The synonym groups stored beside the index by `build_index` (none if absent)."""
    try:
        data = json.loads((index_path(index_dir) / SYNONYMS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as error:
        logger.warning("ignoring unreadable synonyms beside the index: %s", error)
        return []
    groups = []
    for group in data if isinstance(data, list) else []:
        if isinstance(group, dict) and isinstance(group.get("terms"), list):
            terms = tuple(str(term) for term in group["terms"])
            groups.append(SynonymGroup(terms, bool(group.get("across_languages"))))
    return groups


def fingerprint(articles_dir: Path | str, remember_in: Path | None = None) -> str:
    """A hash of every article file (path and content), the synonyms and the schema version.

    With ``remember_in`` (a directory), each file's hash is kept there with its size and
    modification time and reused while those are unchanged, as git's index does: at 10,000
    articles `make run` then lists the files' sizes and times instead of reading them. A file
    changed in the last `FRESH_SECONDS` is always read: a coarse clock could hide a second
    change.
    """
    articles_dir = Path(articles_dir)
    digest = hashlib.sha256(f"kb-search-v{SCHEMA_VERSION}\n".encode())
    files = markdown_files(articles_dir)  # (path, (inode, size, modification time))
    synonyms = articles_dir / ARTICLE_SYNONYMS_FILE
    if synonyms.is_file():
        stat = synonyms.stat()
        files.append((synonyms, (stat.st_ino, stat.st_size, stat.st_mtime_ns)))
    known = _remembered_hashes(remember_in)
    seen: dict[str, list] = {}
    settled_before = time.time_ns() - FRESH_SECONDS * 1_000_000_000
    for path, (_inode, size, modified) in files:
        name = path.relative_to(articles_dir).as_posix()
        signature = [size, modified]
        entry = known.get(name)
        if entry and entry[:2] == signature and modified < settled_before:
            file_hash = entry[2]
        else:
            file_hash = hashlib.sha256(path.read_bytes()).hexdigest()
        seen[name] = [*signature, file_hash]
        digest.update(f"{len(name)}:{name}{file_hash}\n".encode())
    if remember_in is not None and seen != known and Path(remember_in).is_dir():
        _write_atomically(Path(remember_in) / FILE_HASHES_FILE, json.dumps(seen))
    return digest.hexdigest()


def _remembered_hashes(directory: Path | None) -> dict[str, list]:
    if directory is None:
        return {}
    try:
        data = json.loads((Path(directory) / FILE_HASHES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_fingerprint(index_dir: Path | str, value: str) -> None:
    """Record that the index was built from articles with this `fingerprint`."""
    _write_atomically(index_path(index_dir) / FINGERPRINT_FILE, value)


def index_is_current(index_dir: Path | str, value: str) -> bool:
    """True when the index exists and was last built from articles with this fingerprint."""
    if not index_exists(index_dir) or not catalogue_is_current(index_path(index_dir)):
        return False
    try:
        stored = (index_path(index_dir) / FINGERPRINT_FILE).read_text(encoding="utf-8")
    except OSError:
        return False
    return stored.strip() == value


def article_document(article: Article, html: str | None = None) -> dict[str, str | bytes]:
    """The fields Whoosh stores for one article (``html``: its rendered body, if known)."""
    body = plain_text(article.html if html is None else html)
    questions = "\n".join(article.questions)
    spelling = "\n".join((article.title, questions, article.summary, body))
    document = {
        "key": article.key,
        "lang": article.lang,
        "slug": article.slug,
        "title": article.title,
        "questions": questions,
        "summary": article.summary,
        "body": body,
        # Each word once: "did you mean" ranks by document frequency, not counts.
        "spelling": " ".join(dict.fromkeys(_WORDS.findall(spelling))),
    }
    pairs = adjacent_pairs({"t": article.title, "q": questions, "b": body[:PAIRS_BODY_CHARS]})
    if pairs:
        document["pairs"] = " ".join(sorted(pairs)).encode()
    if body:
        document["body_spans"] = word_spans(body)
    if article.category:
        document["category"] = article.category
    if article.tags:
        document["tags"] = ",".join(article.tags)
        document["tagwords"] = "\n".join(article.tags)
    return document


def adjacent_pairs(texts: dict[str, str]) -> set[str]:
    """Index terms of adjacent words, by field code: {"t": "Gift card"} -> {"t|gift+card"}.

    What a phrase query of two words with no gap finds, computed once at index time: the
    search engine gives documents holding a pair of adjacent query words a proximity bonus
    without reading positions at query time. Stop words break a pair, as they do for Whoosh
    phrases (they keep their position). Only the start of the body is paired
    (`PAIRS_BODY_CHARS`): it bounds the index size, and it is where an article says what
    it is about.
    """
    pairs: set[str] = set()
    for code, text in texts.items():
        previous: list[str] = []
        for word in _PAIR_WORD.findall(text):
            parts = _PAIR_PART.findall(word) if _PAIR_HYPHEN.search(word) else (word,)
            for part in parts:
                term = analyse_word(part)
                if term is not None:
                    pairs.update(f"{code}|{first}+{term}" for first in previous)
                previous = [term] if term is not None else []
    return pairs


# Tags that end a line of plain text.
_BLOCK_TAGS = frozenset(
    "p br hr h1 h2 h3 h4 h5 h6 ul ol li dl dt dd blockquote table tr th td pre".split()
)
# A comment, or a start or end tag whose quoted attribute values may hold ">".
_MARKUP = re.compile(
    r"""<!--.*?-->|<(/?)([a-zA-Z][^\s/>]*)((?:[^>"']|"[^"]*"|'[^']*')*)>""", re.DOTALL
)
_ALT = re.compile(r"""[\s/]alt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)


def plain_text(html: str) -> str:
    """The readable text of (sanitised) HTML: no markup, one line per block, images' alt text.

    Regular expressions over the sanitiser's well-formed output, a third of the cost of
    `html.parser` with the same text (tests/test_search_index.py compares them).
    """
    parts: list[str] = []
    position = 0
    for markup in _MARKUP.finditer(html):
        if markup.start() > position:
            parts.append(unescape(html[position : markup.start()]))
        position = markup.end()
        closing, tag, attributes = markup.groups()
        if tag is None:  # a comment
            continue
        tag = tag.lower()
        if tag in _BLOCK_TAGS:
            parts.append("\n")
        elif tag == "img" and not closing:
            values = _ALT.findall(attributes)
            alt = unescape("".join(values[-1])) if values else ""
            if alt:
                parts.append(f" {alt} ")
    parts.append(unescape(html[position:]))
    lines = (" ".join(line.split()) for line in "".join(parts).splitlines())
    return "\n".join(line for line in lines if line)


def index_terms(text: str) -> list[str]:
    """The terms `script_aware_analyzer` gives ``text``, in the same order, without Whoosh.

    The same tokens (a hyphenated non-Arabic word: its parts, then the parts joined) and the
    same `analyse_word`, without a token object per word: a quarter of the analyser's cost.
    """
    terms = []
    for word in _PAIR_WORD.findall(text):
        if _PAIR_HYPHEN.search(word):
            parts = _PAIR_PART.findall(word)
            if len(parts) > 1 and not is_arabic(word):
                parts.append("".join(parts))
        else:
            parts = (word,)
        for part in parts:
            term = analyse_word(part, True, ARABIC_STEMMER)
            if term is not None:
                terms.append(term)
    return terms


def whoosh_fields(document: dict[str, str | bytes]) -> dict[str, str | bytes | list[str]]:
    """``document`` (from `article_document`) ready for a writer, its text already analysed.

    Whoosh indexes a list of strings as terms analysed already, and stores a field's
    ``_stored_<name>`` value in place of the indexed one; the text fields go in as their
    `index_terms` (the spelling field: its `spelling_form`s) and are stored as text, so the
    index holds exactly what the fields' analysers would have made of them.
    """
    fields: dict[str, str | bytes | list[str]] = dict(document)
    for name in ANALYSED_FIELDS:
        text = document.get(name)
        if isinstance(text, str):
            fields[name] = index_terms(text)
            fields[f"_stored_{name}"] = text
    spelling = document.get(SPELLING_FIELD)
    if isinstance(spelling, str):
        forms = (spelling_form(word) for word in _WORDS.findall(spelling))
        fields[SPELLING_FIELD] = [form for form in forms if form is not None]
    return fields


def _document(article: Article, html_of: Callable[[Article], str] | None) -> dict:
    return article_document(article, html_of(article) if html_of else None)


def _no_progress(steps: int) -> None:
    pass


def _write_segments(
    ix,
    lock,
    articles: list[Article],
    processes: int,
    html_of: Callable[[Article], str] | None,
    progress: Callable[[int], None],
) -> list:
    """Index ``articles`` in worker processes; return their segments, in article order.

    Each worker renders and indexes a run of consecutive articles into a segment of its own,
    reporting each article done (for ``progress``) and then the segment through a pipe.
    Workers are forked, so they share the articles and ``html_of`` without pickling and
    start at once. They inherit this process's open files too: each closes its copy of the
    writer's ``lock`` file first, so the lock still dies with this process, and stops at its
    next article once this process is gone (its pipe breaks). A worker that fails or dies
    stops the build with `IndexBuildError`; the caller then cancels its writer.
    """
    context = multiprocessing.get_context("fork")
    lock_file = getattr(lock, "fd", None)
    bounds = [len(articles) * number // processes for number in range(processes + 1)]
    runs = [articles[start:end] for start, end in itertools.pairwise(bounds) if end > start]
    workers, pipes, segments = [], {}, {}
    try:
        for number, run in enumerate(runs):
            receiver, sender = context.Pipe(duplex=False)
            worker = context.Process(
                target=_write_segment,
                args=(ix, run, html_of, sender, lock_file),
                name=f"kb-index-{number}",
                daemon=True,
            )
            workers.append(worker)
            worker.start()
            sender.close()  # the worker's end: end of file here once the worker is gone
            pipes[receiver] = number
        while pipes:
            for receiver in multiprocessing.connection.wait(list(pipes)):
                number = pipes[receiver]
                try:
                    message = receiver.recv()
                except EOFError:
                    workers[number].join()
                    raise IndexBuildError(
                        f"index worker {workers[number].name} stopped without its segment "
                        f"(exit code {workers[number].exitcode})"
                    ) from None
                if message == _ARTICLE_DONE:
                    progress(1)
                    continue
                if message[0] == "failed":
                    raise IndexBuildError(f"an index worker failed:\n{message[1]}")
                segments[number] = message[1]
                del pipes[receiver]
                receiver.close()
    finally:
        for receiver in pipes:
            receiver.close()
        for worker in workers:
            if worker.is_alive() and len(segments) < len(workers):
                worker.terminate()
            worker.join()
    return [segments[number] for number in range(len(workers))]


def _write_segment(ix, articles: list[Article], html_of, sender, lock_file) -> None:
    """In a worker process: index ``articles`` into a new segment and send it back."""
    if lock_file is not None:
        os.close(lock_file)
    try:
        # Unlocked: the parent's writer holds the lock (as in Whoosh's own MpWriter).
        writer = _BuildWriter(ix, _lk=False)
        for article in articles:
            writer.add_document(**whoosh_fields(_document(article, html_of)))
            sender.send(_ARTICLE_DONE)
        segment = writer._finalize_segment()
    except (BrokenPipeError, KeyboardInterrupt):
        return  # the build was stopped, or its process is gone
    except BaseException:
        with contextlib.suppress(OSError):
            sender.send(("failed", traceback.format_exc()))
        return
    with contextlib.suppress(OSError):
        sender.send(("segment", segment))


class _BuildWriter(SegmentWriter):
    """A Whoosh 2.7.4 segment writer for full builds: the same segment, for less work.

    Whoosh writes a segment's postings after its documents. Past ``limitmb`` of postings it
    sorts them through pickled runs on disk (a quarter of the CPU of a 10,000-article
    build at the default 128 MB); here it sorts up to `BUILD_POOL_MB` in memory. And it reads
    each posting's field length back from the segment's files, one call chain per posting
    (another tenth); here each field's lengths are read once.
    """

    def __init__(self, ix, **options):
        super().__init__(ix, limitmb=BUILD_POOL_MB, **options)

    def _flush_segment(self):
        # SegmentWriter._flush_segment, with the lengths read through `_FieldLengths`.
        self.perdocwriter.close()
        reader = self.per_document_reader()
        postings = self.pool.iter_postings()
        self.fieldwriter.add_postings(self.schema, _FieldLengths(reader), postings)
        self.fieldwriter.close()
        reader.close()


class _FieldLengths:
    """A segment's field lengths, each field's read in one go on first use."""

    def __init__(self, reader):
        self._reader = reader
        self._lengths: dict[str, list] = {}

    def doc_field_length(self, docnum: int, fieldname: str):
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            read = self._reader.doc_field_length
            documents = range(self._reader.doc_count_all())
            lengths = self._lengths[fieldname] = [read(n, fieldname) for n in documents]
        return lengths[docnum]


def _commit_segments(writer, segments: list) -> None:
    """Commit the workers' ``segments``, in order, as the whole content of ``writer``'s index.

    What ``commit(mergetype=CLEAR)`` does, with these segments in place of the writer's own
    (empty) one, in the steps Whoosh 2.7.4's MpWriter (``multisegment=True``) takes: one new
    table of contents replaces the old one, so readers switch generations at once.
    """
    writer._close_segment()
    writer._commit_toc(segments)
    writer._finish()


def _open_for_rebuild(path: Path, schema: Schema):
    """The index in ``path`` to rebuild in place; a new one where there is none or it is damaged.

    A table of contents that cannot be read serves no reader, so only then is `create_in`
    used over existing files (DESIGN.md section 5 forbids it over a live index).
    """
    try:
        if whoosh_index.exists_in(str(path)):
            # The current schema, not the pickled one: CLEAR drops every old segment.
            return whoosh_index.open_dir(str(path), schema=schema)
    except DAMAGED_INDEX_ERRORS as error:
        logger.warning("replacing the unreadable search index in %s: %r", path, error)
    return whoosh_index.create_in(str(path), schema)


def _open(index_dir: Path | str):
    path = index_path(index_dir)
    try:
        return whoosh_index.open_dir(str(path))
    except (OSError, whoosh_index.IndexError) as error:
        raise SearchUnavailable(f"no search index in {path}; run `flask kb index`") from error


@contextmanager
def _writing(ix, writer_class=SegmentWriter, **commit_options) -> Iterator:
    """A writer that commits with ``commit_options`` on success and releases its lock always.

    (Unless the block committed it already, as `_commit_segments` does.)
    """
    try:
        writer = writer_class(ix, timeout=WRITER_TIMEOUT)
    except whoosh_index.LockError as error:
        raise SearchUnavailable("the search index is locked by another writer") from error
    try:
        yield writer
    except BaseException:
        if not writer.is_closed:
            writer.cancel()
        raise
    if not writer.is_closed:
        writer.commit(**commit_options)


def _write_atomically(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, path)
