"""Daily roll-ups of the search figures and visits, so a year of dashboard reads days, not events.

``search_day`` (kb.insights.models.SearchDay) holds, per complete UTC day, the searches per
language, channel, normalised query and first result shown (``search_count_day``: the same
without the query), with the failed, zero-result, with-results and clicked ones among them,
each flag exactly as kb.insights.metrics computes it from the raw rows. The dashboard's search
figures (headline, channels, trend, top failed searches) and the content gaps' groups read
these rows for the whole days of their period and the raw events for the rest (the current
day, and the partial days at the edges of a period that does not start or end at midnight),
so the figures are the same with or without them.

The self-service score counts distinct visits with a search or an article view, which do not
add up across days. ``visit_count_day`` counts, per day, language and channel, the visits
whose every search and view (on any day, at roll-up time) fall on that one day in that one
language and channel: each is in exactly one row, so those counts add up. Every other visit
is listed by id in ``visit_day``, one row per day, language and channel it used, and counted
once by its id. A visit seen again later on another day (a late event for a past day, or
today's visit of yesterday's visitor) is handled both ways: rolling up that other day marks
stale the days that counted the visit in ``visit_count_day``, so that they list it by id;
and the raw rows of today count only the visits with nothing in scope on the rolled-up days.
``visit_key_day`` lists the visits per article (their searches' top result and the articles
they read), for the score under a topic filter.

When: a day is rolled up once it has ended (and SETTLE more, so a request that stamped an event
just before midnight has committed it), the first time a period containing it is read, or ahead
of time with ``flask kb rollup`` (a nightly cron line keeps the first view of the day fast).

Never stale: a day's figures can change after it ended, and every such change marks the day
stale (a ``rollup_stale_mark`` row) in the transaction that makes it, so the next read rolls
the day up again:

- a contact request makes the searches of the 30 minutes before it "failed" (the previous day
  after midnight); an article view makes its search "clicked", however old that search is;
  these rows, and any event row written, changed or deleted through the ORM with a timestamp
  on a past day, are caught by a ``before_flush`` listener;
- bulk writes mark what they touch themselves: ``flask kb purge`` (retention) and
  ``flask kb simulate`` (and ``--clear``).

Concurrency: a mark is a new row, never an update, so a customer's request that marks a day
(a contact request, an article view) never waits for a roll-up or deadlocks with one. A
roll-up first deletes the marks of its days that it can see, then reads the events: a mark
committed after that delete stays, and the day is rolled up again on the next read. Roll-ups
run one at a time (a PostgreSQL advisory lock; SQLite has a single writer anyway), in
transactions of at most `DAYS_PER_TRANSACTION` days, so on SQLite the customers' writes wait
for at most that much roll-up work.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable

from sqlalchemy import (
    Date,
    Select,
    String,
    event,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    union,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql import expression

from kb.contact.models import ContactRequest
from kb.extensions import db
from kb.insights.models import (
    ArticleView,
    RollupDay,
    RollupStaleMark,
    SearchCountDay,
    SearchDay,
    SearchEvent,
    VisitCountDay,
    VisitDay,
    VisitKeyDay,
    utcnow,
)

# How long after midnight a day is rolled up: longer than any request that stamps an event.
SETTLE = dt.timedelta(minutes=10)
ONE_DAY = dt.timedelta(days=1)
# Passes of ensure_rolled_up: two suffice (see there), unless events keep arriving for the
# same past days meanwhile; better an error than a figure counted from stale days.
_PASSES = 3
# A contact makes the searches of this window before it failed (metrics.ATTRIBUTION_WINDOW).
_CONTACT_REACH = dt.timedelta(minutes=30)
# Days rolled up per transaction: on SQLite every other write (customers' searches too) waits
# for the one in progress; a day of a million-event year takes about 25 ms.
DAYS_PER_TRANSACTION = 7
# Rolling up this many days at once (a first view of a long period, `flask kb rollup`) ends
# with ANALYZE of the roll-up tables on PostgreSQL.
ANALYZE_AFTER_DAYS = 28
# The tables a roll-up writes.
ROLLUP_TABLES = (SearchDay, SearchCountDay, VisitCountDay, VisitDay, VisitKeyDay)
# PostgreSQL advisory lock key of the roll-ups (one at a time; any constant unique to kb).
_ROLLUP_LOCK = 0x6B62_0008


def rolled_period(start: dt.datetime, end: dt.datetime, *, now: dt.datetime | None = None):
    """The whole, complete UTC days within ``[start, end)`` as ``(first, end)`` datetimes.

    Rolls up those of them that are missing or stale first. None when there is no such day.
    """
    now = now or utcnow()
    first = _midnight_at_or_after(start)
    last_end = min(_midnight_at_or_before(end), _midnight_at_or_before(now - SETTLE))
    if last_end <= first:
        return None
    ensure_rolled_up(first.date(), (last_end - ONE_DAY).date())
    return first, last_end


def ensure_rolled_up(first: dt.date, last: dt.date) -> int:
    """Roll up the days ``first`` to ``last`` (both included) that are missing or stale.

    Returns the number of days rolled up. Each run of consecutive days (at most
    `DAYS_PER_TRANSACTION`) is one transaction.
    """
    rolled = 0
    # Rolling up a day can make another day stale (a visit found on both, see
    # _roll_up_visits); that one is rolled up again on the next pass, after which both list
    # the visit by id and mark nothing more.
    for _pass in range(_PASSES):
        missing = _missing_days(first, last)
        if not missing:
            if rolled >= ANALYZE_AFTER_DAYS:
                _analyze_rollups()
            return rolled
        for run_first, run_last in _runs(missing):
            _roll_up(run_first, run_last)
            db.session.commit()
        rolled += len(missing)
    raise RuntimeError(f"the roll-ups of {first} to {last} keep going stale")


def _analyze_rollups() -> None:
    """Refresh PostgreSQL's statistics of the roll-up tables after a large roll-up.

    Autovacuum would, within a minute or so; until then the planner takes the tables a year
    was just written to for nearly empty, and the next views of that year took 1.1-1.2 s
    instead of 0.7-0.9 s at a million events. (SQLite plans without statistics here.)
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    tables = [model.__tablename__ for model in ROLLUP_TABLES]
    db.session.execute(text(f"ANALYZE {', '.join(tables)}"))
    db.session.commit()


def _missing_days(first: dt.date, last: dt.date) -> list[dt.date]:
    """The days not rolled up, or marked stale since."""
    rolled = set(
        db.session.scalars(select(RollupDay.day).where(RollupDay.day.between(first, last)))
    )
    rolled -= set(
        db.session.scalars(
            select(RollupStaleMark.day).where(RollupStaleMark.day.between(first, last))
        )
    )
    return [day for day in _days(first, last) if day not in rolled]


def roll_up_complete_days(days: int, *, now: dt.datetime | None = None) -> int:
    """Roll up the last ``days`` complete UTC days (what ``flask kb rollup`` does)."""
    now = now or utcnow()
    last = _midnight_at_or_before(now - SETTLE).date() - ONE_DAY
    return ensure_rolled_up(last - dt.timedelta(days=days - 1), last)


def mark_stale(days: Iterable[dt.date], *, now: dt.datetime | None = None) -> None:
    """Mark past days stale in the current transaction (today is never rolled up)."""
    _insert_marks(db.session, days, now=now)


def mark_all_stale() -> None:
    """Every rolled-up day is stale (after a bulk change of unknown days)."""
    db.session.execute(insert(RollupStaleMark).from_select(["day"], select(RollupDay.day)))


def mark_stale_through(last: dt.date) -> None:
    """Every rolled-up day up to ``last`` is stale (retention deletes what is older)."""
    rolled = select(RollupDay.day).where(RollupDay.day <= last)
    db.session.execute(insert(RollupStaleMark).from_select(["day"], rolled))
    mark_stale([last])


def _insert_marks(session: Session, days: Iterable[dt.date], *, now=None) -> None:
    today = (now or utcnow()).date()
    past = sorted({day for day in days if day < today})  # today is never rolled up
    if past:
        session.execute(insert(RollupStaleMark), [{"day": day} for day in past])


# -- rolling up -------------------------------------------------------------------------------


def _roll_up(first: dt.date, last: dt.date) -> None:
    from kb.insights.metrics import Period, _search_flags

    start = dt.datetime.combine(first, dt.time())
    end = dt.datetime.combine(last, dt.time()) + ONE_DAY
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ROLLUP_LOCK})
        if not _missing_days(first, last):
            return  # another view rolled these days up while this one waited
    # Before reading any event: a mark committed after this delete stays (see the module).
    db.session.execute(
        RollupStaleMark.__table__.delete().where(RollupStaleMark.day.between(first, last))
    )
    _upsert_days(db.session, list(_days(first, last)), computed_at=utcnow())
    db.session.execute(
        SearchDay.__table__.delete().where(SearchDay.day >= first, SearchDay.day <= last)
    )
    flags = _search_flags(Period(start, end))
    day = _DayOf(SearchEvent.created_at)
    first_key = func.coalesce(SearchEvent.shown_keys[0].as_string(), "")
    grouped = (
        select(
            day,
            SearchEvent.lang,
            SearchEvent.channel,
            SearchEvent.normalized_query,
            first_key,
            func.count(),
            func.sum(flags.failed),
            func.sum(flags.zero_results),
            func.sum(flags.with_results),
            func.sum(flags.clicked),
        )
        .where(SearchEvent.created_at >= start, SearchEvent.created_at < end)
        .group_by(
            day, SearchEvent.lang, SearchEvent.channel, SearchEvent.normalized_query, first_key
        )
    )
    columns = [
        "day",
        "lang",
        "channel",
        "normalized_query",
        "first_key",
        "searches",
        "failed",
        "zero_results",
        "with_results",
        "clicked",
    ]
    db.session.execute(insert(SearchDay).from_select(columns, grouped))
    db.session.execute(
        SearchCountDay.__table__.delete().where(
            SearchCountDay.day >= first, SearchCountDay.day <= last
        )
    )
    totals = (
        select(
            SearchDay.day,
            SearchDay.lang,
            SearchDay.channel,
            SearchDay.first_key,
            *(func.sum(getattr(SearchDay, name)) for name in columns[5:]),
        )
        .where(SearchDay.day >= first, SearchDay.day <= last)
        .group_by(SearchDay.day, SearchDay.lang, SearchDay.channel, SearchDay.first_key)
    )
    totals_columns = [name for name in columns if name != "normalized_query"]
    db.session.execute(insert(SearchCountDay).from_select(totals_columns, totals))
    _roll_up_visits(first, last, start, end)


def _roll_up_visits(first: dt.date, last: dt.date, start: dt.datetime, end: dt.datetime) -> None:
    """Fill VisitCountDay, VisitDay and VisitKeyDay for the days ``first`` to ``last``.

    A visit goes to VisitDay when it searched or read in more than one language or channel
    in these days, or on more than one day, including days outside them; those other days,
    if rolled up with the visit counted in VisitCountDay, are marked stale so that no visit
    is counted twice.
    """
    from kb.insights.metrics import _as_date

    for table in (VisitCountDay, VisitDay, VisitKeyDay):
        db.session.execute(table.__table__.delete().where(table.day >= first, table.day <= last))
    db.session.execute(
        insert(VisitKeyDay).from_select(
            ["article_key", "day", "lang", "channel", "visit_id"], _visit_keys(start, end)
        )
    )
    active = _visit_activity(start, end)
    rows_of_visit: dict[str, list[tuple]] = defaultdict(list)
    for day, visit_id, lang, channel in db.session.execute(active):
        # SQLite returns the day of a UNION as text.
        rows_of_visit[visit_id].append((_as_date(day), lang, channel))
    elsewhere = _active_elsewhere(start, end)
    counts: Counter[tuple] = Counter()
    shared = []
    for visit_id, rows in rows_of_visit.items():
        if len(rows) == 1 and visit_id not in elsewhere:
            counts[rows[0]] += 1
        else:
            shared += [
                {"day": day, "visit_id": visit_id, "lang": lang, "channel": channel}
                for day, lang, channel in rows
            ]
    if counts:
        db.session.execute(
            insert(VisitCountDay),
            [
                {"day": day, "lang": lang, "channel": channel, "visits": visits}
                for (day, lang, channel), visits in counts.items()
            ],
        )
    if shared:
        db.session.execute(insert(VisitDay), shared)
    _mark_counted_elsewhere(elsewhere)


def _visit_activity(start: dt.datetime, end: dt.datetime) -> Select:
    """Distinct (day, visit, language, channel) of the searches and views in [start, end)."""
    searches = select(
        _DayOf(SearchEvent.created_at), SearchEvent.visit_id, SearchEvent.lang, SearchEvent.channel
    ).where(SearchEvent.created_at >= start, SearchEvent.created_at < end)
    views = select(
        _DayOf(ArticleView.created_at),
        ArticleView.visit_id,
        _KeyLang(ArticleView.article_key),
        ArticleView.channel,
    ).where(ArticleView.created_at >= start, ArticleView.created_at < end)
    return union(searches, views)


def _visit_keys(start: dt.datetime, end: dt.datetime) -> Select:
    """Distinct (article, day, language, channel, visit) of the searches' top results and the
    article views in [start, end)."""
    first_key = SearchEvent.shown_keys[0].as_string()
    searches = select(
        first_key,
        _DayOf(SearchEvent.created_at),
        SearchEvent.lang,
        SearchEvent.channel,
        SearchEvent.visit_id,
    ).where(SearchEvent.created_at >= start, SearchEvent.created_at < end, first_key.is_not(None))
    views = select(
        ArticleView.article_key,
        _DayOf(ArticleView.created_at),
        _KeyLang(ArticleView.article_key),
        ArticleView.channel,
        ArticleView.visit_id,
    ).where(ArticleView.created_at >= start, ArticleView.created_at < end)
    return union(searches, views)


def _active_elsewhere(start: dt.datetime, end: dt.datetime) -> dict[str, set[dt.date]]:
    """Visits active in [start, end) that also searched or read outside it, with those days."""
    inside = union(
        *(
            select(model.visit_id).where(model.created_at >= start, model.created_at < end)
            for model in (SearchEvent, ArticleView)
        )
    )
    found: dict[str, set[dt.date]] = defaultdict(set)
    for model in (SearchEvent, ArticleView):
        outside = select(model.visit_id, model.created_at).where(
            model.visit_id.in_(inside), or_(model.created_at < start, model.created_at >= end)
        )
        for visit_id, moment in db.session.execute(outside):
            found[visit_id].add(moment.date())
    return found


def _mark_counted_elsewhere(elsewhere: dict[str, set[dt.date]]) -> None:
    """Mark stale the other rolled-up days that counted such a visit in VisitCountDay (it has
    no VisitDay row there), so that they list it by id instead."""
    days = {day for found in elsewhere.values() for day in found}
    if not days:
        return
    listed = set(
        db.session.execute(
            select(VisitDay.day, VisitDay.visit_id).where(
                VisitDay.day.in_(days), VisitDay.visit_id.in_(list(elsewhere))
            )
        ).tuples()
    )
    rolled = set(db.session.scalars(select(RollupDay.day).where(RollupDay.day.in_(days))))
    counted = {
        day
        for visit_id, found in elsewhere.items()
        for day in found
        if day in rolled and (day, visit_id) not in listed
    }
    mark_stale(counted)


class _DayOf(expression.FunctionElement):
    """The UTC date of a stored timestamp, as a DATE value the roll-up tables store."""

    type = Date()
    inherit_cache = True
    name = "kb_day_of"


@compiles(_DayOf)
def _day_of_default(element, compiler, **kw):
    return f"CAST({compiler.process(list(element.clauses)[0], **kw)} AS DATE)"


@compiles(_DayOf, "sqlite")
def _day_of_sqlite(element, compiler, **kw):
    # SQLAlchemy stores dates as 'YYYY-MM-DD' and timestamps starting with them.
    return f"substr({compiler.process(list(element.clauses)[0], **kw)}, 1, 10)"


class _KeyLang(expression.FunctionElement):
    """The language of an article key, the part before its first "/" ("ar/refund" -> "ar").

    The dashboard's language filter keeps the views whose key starts with "<lang>/"; a key
    without "/" has the language "", which no filter names.
    """

    type = String()
    inherit_cache = True
    name = "kb_key_lang"


@compiles(_KeyLang)
def _key_lang_default(element, compiler, **kw):
    key = compiler.process(list(element.clauses)[0], **kw)
    return f"CASE WHEN strpos({key}, '/') > 0 THEN split_part({key}, '/', 1) ELSE '' END"


@compiles(_KeyLang, "sqlite")
def _key_lang_sqlite(element, compiler, **kw):
    key = compiler.process(list(element.clauses)[0], **kw)
    return f"substr({key}, 1, instr({key}, '/') - 1)"


def _upsert_days(session: Session, days: list[dt.date], **values) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement = postgresql_insert(RollupDay)
    elif dialect == "sqlite":
        statement = sqlite_insert(RollupDay)
    else:  # pragma: no cover - kb runs on SQLite and PostgreSQL only
        raise RuntimeError(f"roll-ups are not implemented for {dialect}")
    rows = [{"day": day, **values} for day in days]
    session.execute(statement.on_conflict_do_update(index_elements=["day"], set_=values), rows)


# -- what a change touches --------------------------------------------------------------------


def init_app(app) -> None:
    """Watch ORM writes for changes to rolled-up days (one listener per process)."""
    if not event.contains(Session, "before_flush", _mark_changed_days):
        event.listen(Session, "before_flush", _mark_changed_days)


def _mark_changed_days(session: Session, _context, _instances) -> None:
    """Mark stale the past days whose roll-ups an event row written through the ORM changes."""
    days: set[dt.date] = set()
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, SearchEvent):
            days |= _days_of(instance, "created_at")
        elif isinstance(instance, ArticleView):
            # Its own day's visits, and its search's "clicked".
            days |= _days_of(instance, "created_at") | _clicked_days(session, instance)
        elif isinstance(instance, ContactRequest):
            if instance in session.dirty and not _changed(instance, "visit_id", "created_at"):
                continue  # handled, answered or purged: no search figure changes
            for moment in _moments(instance, "created_at") or [utcnow()]:
                days |= {moment.date(), (moment - _CONTACT_REACH).date()}
    _insert_marks(session, days)


def _clicked_days(session: Session, view: ArticleView) -> set[dt.date]:
    """The days of the searches this view makes (or made) "clicked"."""
    search_ids = set()
    history = inspect(view).attrs.search_id.history
    search_ids |= {value for value in (*history.added, *history.deleted, *history.unchanged)}
    search_ids.discard(None)
    days = set()
    for search_id in list(search_ids):
        # record_article_view has just loaded the search: no query in the common case.
        search = session.identity_map.get(Session.identity_key(SearchEvent, search_id))
        if search is not None and search.created_at is not None:
            days.add(search.created_at.date())
            search_ids.discard(search_id)
    if search_ids:
        times = session.connection().execute(
            select(SearchEvent.created_at).where(SearchEvent.id.in_(search_ids))
        )
        days |= {moment.date() for (moment,) in times}
    return days


def _days_of(instance, attribute: str) -> set[dt.date]:
    return {moment.date() for moment in _moments(instance, attribute)}


def _moments(instance, attribute: str) -> list[dt.datetime]:
    """The attribute's current and previous values (None: not set yet, i.e. now)."""
    history = getattr(inspect(instance).attrs, attribute).history
    values = [*history.added, *history.deleted, *history.unchanged]
    return [value for value in values if isinstance(value, dt.datetime)]


def _changed(instance, *attributes: str) -> bool:
    state = inspect(instance)
    return any(getattr(state.attrs, name).history.has_changes() for name in attributes)


# -- days -------------------------------------------------------------------------------------


def _midnight_at_or_after(moment: dt.datetime) -> dt.datetime:
    midnight = _midnight_at_or_before(moment)
    return midnight if midnight == moment else midnight + ONE_DAY


def _midnight_at_or_before(moment: dt.datetime) -> dt.datetime:
    return dt.datetime.combine(moment.date(), dt.time())


def _days(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    day = first
    while day <= last:
        yield day
        day += ONE_DAY


def _runs(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if (
            runs
            and runs[-1][1] + ONE_DAY == day
            and (day - runs[-1][0]).days < DAYS_PER_TRANSACTION
        ):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs
