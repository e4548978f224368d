"""`flask kb ...` commands: thin wrappers over the content, search and contact modules."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from kb import accounts
from kb.accounts import ROLES
from kb.content import check_articles, load_articles, load_categories, load_synonyms

kb_cli = AppGroup("kb", help="Manage the help center: check articles, build the search index.")


def init_app(app: Flask) -> None:
    app.cli.add_command(kb_cli)


@kb_cli.command("check")
@click.option(
    "--articles",
    "articles_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Articles directory to check (default: KB_ARTICLES_DIR).",
)
def check_command(articles_dir: Path | None) -> None:
    """Validate every article, synonyms.yml and categories.yml; exit 1 on any error."""
    directory = articles_dir or current_app.config["ARTICLES_DIR"]
    articles, problems = check_articles(directory, current_app.config["LANGUAGES"])
    problems += load_synonyms(directory)[1] + load_categories(directory)[1]
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in {directory}")
    by_lang: dict[str, int] = {}
    for article in articles:
        by_lang[article.lang] = by_lang.get(article.lang, 0) + 1
    counts = ", ".join(f"{count} {lang}" for lang, count in sorted(by_lang.items()))
    click.echo(f"{len(articles)} articles OK ({counts or 'none'}) in {directory}")


@kb_cli.command("index")
@click.option(
    "--if-changed",
    is_flag=True,
    help="Rebuild only when articles, synonyms or the index format changed since the last build.",
)
def index_command(if_changed: bool) -> None:
    """Build the search index from the articles directory (atomic full rebuild)."""
    from kb.content.html_cache import cache_dir
    from kb.search import fingerprint, index_is_current
    from kb.search.index import index_path
    from kb.search.sync import rebuild_index

    articles_dir = current_app.config["ARTICLES_DIR"]
    index_dir = current_app.config["INDEX_DIR"]
    current = fingerprint(articles_dir, remember_in=index_path(index_dir))
    if if_changed and index_is_current(index_dir, current) and cache_dir(index_dir).is_dir():
        click.echo(f"Search index is up to date ({index_dir}).")
        return
    report = _index_update(rebuild_index)
    click.echo(f"Indexed {report.indexed} published articles into {index_dir}.")


@kb_cli.command("sync")
def sync_command() -> None:
    """Update the search index and HTML cache with only the articles that changed.

    Compares every file's content hash with the last sync's record beside the index, then
    indexes and renders only the articles added or changed, and removes the deleted ones.
    Rebuilds everything when there is no index yet or synonyms.yml, the index format or the
    renderer changed. Run it on every server after `git pull` (README "Running at scale").
    """
    from kb.search.sync import sync_index

    index_dir = current_app.config["INDEX_DIR"]
    report = _index_update(sync_index)
    if report.rebuilt:
        click.echo(
            f"Rebuilt the whole index ({report.rebuilt}): "
            f"{report.indexed} published articles in {index_dir}."
        )
        return
    if report.unchanged:
        click.echo(f"No article changed since the last sync: nothing to do ({index_dir}).")
        return
    for action, keys in (("added", report.added), ("changed", report.changed)):
        for key in keys:
            click.echo(f"{action}: {key}")
    for key in report.removed:
        click.echo(f"removed: {key}")
    click.echo(
        f"Synced {index_dir}: {len(report.added)} added, {len(report.changed)} changed, "
        f"{len(report.removed)} removed"
        + (", categories.yml changed." if report.categories_changed else ".")
    )


def prepare_to_serve(app: Flask) -> None:
    """What `make run` needs before serving: the migrations, then the index if the articles
    changed (`flask db upgrade` and `flask kb index --if-changed`).

    Run by gunicorn's master, whose app is already loaded (``KB_PREPARE_ON_START=1``, set by
    `make run`; gunicorn.conf.py): as two `flask` commands these loaded the app twice more,
    3.6 s of a 5 s cold start. The database connections are closed before workers fork.
    """
    from flask_migrate import upgrade

    from kb.extensions import db

    with app.app_context():
        upgrade(directory=str(app.config["MIGRATIONS_DIR"]))
        with click.Context(index_command) as context:
            context.invoke(index_command, if_changed=True)
        db.engine.dispose()


def _index_update(update):
    """Run `sync_index` or `rebuild_index` on the app's directories, with progress bars."""
    from kb.errors import SearchUnavailable
    from kb.search.sync import SyncBusy

    try:
        report = update(
            current_app.config["ARTICLES_DIR"],
            current_app.config["INDEX_DIR"],
            current_app.config["LANGUAGES"],
            progress=lambda label, length: click.progressbar(length=length, label=label),
        )
    except (SyncBusy, SearchUnavailable) as error:
        raise click.ClickException(str(error)) from error
    for problem in report.problems:
        click.echo(f"skipped: {problem}", err=True)
    return report


@kb_cli.command("eval")
@click.option(
    "--articles",
    "articles_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of articles to index in a temporary index.",
)
@click.option(
    "--queries",
    "queries_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='JSONL file, one {"id", "query", "lang", "relevant": [slugs]} per line.',
)
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 100), help="Cut-off.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def eval_command(articles_dir: Path, queries_file: Path, k: int, as_json: bool) -> None:
    """Measure search quality: hit@1, hit@5, hit@k, MRR@k and zero-result rate per language."""
    from kb.search import evaluate

    with queries_file.open(encoding="utf-8") as lines:
        count = sum(1 for line in lines if line.strip())
    # On stderr, so that --json output stays one clean JSON object on stdout.
    with click.progressbar(length=count, label="Running queries", file=sys.stderr) as bar:
        try:
            report = evaluate(
                articles_dir,
                queries_file,
                k=k,
                languages=current_app.config["LANGUAGES"],
                progress=bar.update,
            )
        except ValueError as error:
            raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    click.echo(f"{report['articles']} articles indexed, {report['skipped_articles']} skipped")
    metrics = [
        key for key in report if key.startswith(("mrr@", "hit@")) or key == "zero_result_rate"
    ]
    click.echo(f"{'set':<8}{'queries':>9}" + "".join(f"{m:>18}" for m in metrics))
    rows = [("all", report)] + sorted(report["by_lang"].items())
    for name, figures in rows:
        cells = "".join(f"{figures[m]:>18.4f}" for m in metrics)
        click.echo(f"{name:<8}{figures['queries']:>9}{cells}")


@kb_cli.command("simulate")
@click.option(
    "--visits",
    type=click.IntRange(0, 1_000_000),
    help="Simulated visits to add (default 2000; with --clear and no --visits, none).",
)
@click.option(
    "--events",
    type=click.IntRange(0, 3_000_000),
    help="Instead of --visits: add enough visits for at least this many event rows "
    "(searches, views, feedback, flows, contacts, scores; about 2.3 per visit).",
)
@click.option(
    "--days",
    default=30,
    show_default=True,
    type=click.IntRange(1, 366),
    help="Spread the visits over this many days before now.",
)
@click.option("--seed", type=int, help="Random seed: the same seed gives the same history.")
@click.option(
    "--clear",
    is_flag=True,
    help="First delete every simulated row (visit ids starting with sim-), and nothing else.",
)
def simulate_command(
    visits: int | None, events: int | None, days: int, seed: int | None, clear: bool
) -> None:
    """Fill the event tables with a simulated, clearly labelled visit history for demos."""
    from kb.insights import simulate

    if visits is not None and events is not None:
        raise click.UsageError("Give --visits or --events, not both.")
    if clear:
        removed = simulate.clear_simulated()
        click.echo(f"Deleted {sum(removed.values())} simulated rows.")
        if visits is None and events is None:
            return
    if events is None:
        visits = 2000 if visits is None else visits
    articles, problems = load_articles(
        current_app.config["ARTICLES_DIR"], current_app.config["LANGUAGES"]
    )
    for problem in problems:
        click.echo(f"skipped: {problem}", err=True)
    if events is None:
        length, label = visits, "Simulating visits"
    else:
        length, label = events, "Simulating events"
    with click.progressbar(length=length, label=label) as bar:
        try:
            report = simulate.simulate(
                articles, visits, days, seed, progress=bar.update, events=events
            )
        except ValueError as error:
            raise click.ClickException(str(error)) from error
    click.echo(
        f"Simulated {report.visits} visits over {days} days ({report.events} events): "
        f"{report.searches} searches, "
        f"{report.article_views} article views, {report.feedback} feedback answers, "
        f"{report.contact_flows} contact flows ({report.resolved} resolved, "
        f"{report.contacts} contact requests), {report.effort_scores} effort scores. "
        f"Remove them with `flask kb simulate --clear`."
    )


@kb_cli.command("deliver")
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    help="Attempt at most this many deliveries in this run (default: all that are due).",
)
def deliver_command(limit: int | None) -> None:
    """Send contact requests that are due to e-mail and/or the webhook; run it every minute.

    Failures are rescheduled with exponential backoff (exit code 0); after
    KB_DELIVERY_MAX_ATTEMPTS failures a channel's delivery is marked failed.
    """
    from kb.contact import delivery

    try:
        channels = delivery.configured_channels()
    except delivery.DeliveryError as error:
        raise click.ClickException(str(error)) from error
    if not channels:
        click.echo(
            f"No delivery channel is configured (KB_SMTP_URL and KB_CONTACT_TO, or "
            f"KB_CONTACT_WEBHOOK_URL): {delivery.waiting_count()} request(s) wait."
        )
        return
    due = delivery.due_deliveries(channels, limit=limit)
    attempts = []
    with click.progressbar(due, label="Delivering contact requests") as bar:
        for delivery_id in bar:
            attempt = delivery.attempt_delivery(delivery_id, channels)
            if attempt is not None:
                attempts.append(attempt)
    for attempt in attempts:
        if attempt.delivered:
            outcome = "delivered"
        elif attempt.status == "failed":
            outcome = f"FAILED after {attempt.attempts} attempts ({attempt.error})"
        else:
            outcome = (
                f"attempt {attempt.attempts} failed ({attempt.error}); "
                f"next attempt at {attempt.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC"
            )
        click.echo(f"{attempt.reference} {attempt.channel}: {outcome}")
    delivered = sum(attempt.delivered for attempt in attempts)
    click.echo(
        f"{delivered} delivered, {len(attempts) - delivered} failed "
        f"({', '.join(channels)}); {delivery.waiting_count()} request(s) still pending."
    )


@kb_cli.command("purge")
@click.option(
    "--older-than",
    "older_than",
    type=click.IntRange(1, None),
    help="Age in days (default: KB_RETENTION_DAYS). Older contact requests lose name, e-mail "
    "and message; older events are deleted.",
)
def purge_command(older_than: int | None) -> None:
    """Remove contact PII and delete events older than the retention period."""
    from kb.contact import purge

    days = older_than or int(current_app.config["RETENTION_DAYS"])
    if days < 1:
        raise click.ClickException("KB_RETENTION_DAYS must be at least 1")
    counts = purge(days)
    click.echo(f"Purged data older than {days} days:")
    click.echo(
        f"  {counts.pop('contact_request')} contact requests blanked (name, e-mail, message)"
    )
    for table, count in counts.items():
        click.echo(f"  {count} {table} rows deleted")


@kb_cli.command("rollup")
@click.option(
    "--days",
    type=click.IntRange(1, 366),
    default=366,
    show_default=True,
    help="Roll up this many complete UTC days before today (the dashboard's widest period).",
)
def rollup_command(days: int) -> None:
    """Compute the dashboard's daily roll-ups that are missing or stale (run it nightly)."""
    from kb.insights.rollups import roll_up_complete_days

    rolled = roll_up_complete_days(days)
    click.echo(f"Rolled up {rolled} of the last {days} complete days (the others were current).")


user_cli = AppGroup("user", help="Manage back-office users.")
kb_cli.add_command(user_cli)


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@user_cli.command("add")
@click.argument("email")
@click.option(
    "--role",
    required=True,
    type=click.Choice(ROLES),
    help="writer: articles and content gaps; manager: also the dashboard and contacts; "
    "admin: also users.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_add_command(email: str, role: str, password_stdin: bool) -> None:
    """Create a back-office user (the password is prompted for unless --password-stdin)."""
    try:
        user = accounts.create_user(email, read_password(password_stdin), role)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Created {user.role} {user.email}.")


@user_cli.command("list")
def user_list_command() -> None:
    """List back-office users with their roles."""
    for user in accounts.list_users():
        click.echo(f"{user.email}\t{user.role}\t{user.created_at:%Y-%m-%d}")


@user_cli.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_password_command(email: str, password_stdin: bool) -> None:
    """Set a user's password; every session of that user is logged out."""
    user = accounts.find_user(email)
    if user is None:
        raise click.ClickException(f"no user with the e-mail address {email}")
    try:
        accounts.change_password(user.id, read_password(password_stdin))
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Password changed for {user.email}.")
