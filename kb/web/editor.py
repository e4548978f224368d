"""The article editor of the back office (writers): list, edit with preview, create, publish,
revisions. The work happens in `kb.content.store`; these views parse input and render."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from wtforms.fields.choices import SelectChoice

from kb.content.articles import SLUG_PATTERN, STATUSES, Article
from kb.content.store import (
    BODY_LIMIT,
    ArticleFields,
    EditConflict,
    EditError,
    FieldProblem,
    SaveResult,
    content_hash,
    preview_html,
)
from kb.errors import ContentError
from kb.insights.impact import article_edits
from kb.web.admin import protect, requires
from kb.web.errors import handle_http_error
from kb.web.forms import ArticleForm, NewArticleForm
from kb.web.i18n import LANGUAGE_NAMES, text_direction
from kb.web.services import article_store

bp = protect(Blueprint("editor", __name__, url_prefix="/admin/articles"))

# An article body may be 100 000 characters; URL-encoded Arabic takes 6 bytes a character.
EDITOR_MAX_REQUEST = 1024 * 1024
FILTER_TEXT_MAX = 100
QUESTION_MAX = 200
# Latest changes whose effect the edit page shows (the revisions page shows all).
EDITS_SHOWN = 3
# A write failure (disk full, permissions): logged by the store, told to the writer.
NOT_WRITTEN = FieldProblem("", "", "not-written")


@bp.url_value_preprocessor
def allow_long_articles(endpoint, values) -> None:
    # Runs before CSRFProtect reads the form; the app-wide cap is sized for customer forms.
    if current_user.is_authenticated:
        request.max_content_length = EDITOR_MAX_REQUEST
        request.max_form_memory_size = EDITOR_MAX_REQUEST


@bp.get("")
@requires("writer")
def index():
    languages = current_app.config["LANGUAGES"]
    lang = request.args.get("lang", "")
    category = request.args.get("category", "")
    status = request.args.get("status", "")
    filters = {
        "lang": lang if lang in languages else "",
        "category": category if SLUG_PATTERN.fullmatch(category) else "",
        "status": status if status in STATUSES else "",
        "text": request.args.get("q", "")[:FILTER_TEXT_MAX].strip(),
    }
    store = article_store()
    return render_template(
        "admin/articles.html",
        articles=store.list_articles(**filters),
        filters=filters,
        categories=store.categories(),
        languages=languages,
    )


@bp.route("/new", methods=["GET", "POST"])
@requires("writer")
def new():
    form = new_article_form()
    if request.method == "GET":
        lang = request.args.get("lang", "")
        if lang in current_app.config["LANGUAGES"]:
            form.lang.data = lang
        question = " ".join(request.args.get("question", "").split())[:QUESTION_MAX]
        form.questions.data = question
        form.status.data = "draft"
    problems: list[FieldProblem] = []
    if is_preview():
        pass
    elif form.validate_on_submit():
        try:
            result = article_store().create_article(
                form.lang.data, form.slug.data, form.article_fields(), current_user.email
            )
        except EditError as error:
            problems = show_problems(form, error)
        except ContentError:
            problems = [NOT_WRITTEN]
        else:
            flash(_("The article was created."))
            report_indexing(result)
            return redirect(
                url_for("editor.edit", article_lang=result.article.lang, slug=result.article.slug)
            )
    return editor_page(form, None, problems)


@bp.route("/<lang:article_lang>/<slug>", methods=["GET", "POST"])
@requires("writer")
def edit(article_lang: str, slug: str):
    article = find_or_404(article_lang, slug)
    form = ArticleForm()
    if request.method == "GET":
        current, text = article_store().current_article(article)
        form.fill(ArticleFields.of(current))
        form.base.data = content_hash(text)
    problems: list[FieldProblem] = []
    if is_preview():
        pass
    elif form.validate_on_submit():
        try:
            result = article_store().save_article(
                article, form.article_fields(), current_user.email, form.base.data
            )
        except EditConflict as error:
            problems = show_problems(form, error)
            # Saving again now overwrites the other change, which the writer was warned about.
            form.base.data = content_hash(article_store().current_text(article))
        except EditError as error:
            problems = show_problems(form, error)
        except ContentError:
            problems = [NOT_WRITTEN]
        else:
            flash(_("The article was saved.") if result.changed else _("Nothing changed."))
            report_indexing(result)
            return redirect(url_for("editor.edit", article_lang=article.lang, slug=article.slug))
    return editor_page(form, article, problems)


@bp.post("/preview")
@requires("writer")
def preview():
    body = request.form.get("body", "")
    if len(body) > BODY_LIMIT:
        abort(413)
    return jsonify(html=preview_html(body))


@bp.post("/<lang:article_lang>/<slug>/status")
@requires("writer")
def change_status(article_lang: str, slug: str):
    article = find_or_404(article_lang, slug)
    status = request.form.get("status", "")
    if status not in STATUSES:
        flash(_("Choose whether to publish or unpublish the article."))
        return redirect(url_for("editor.edit", article_lang=article.lang, slug=article.slug))
    try:
        result = article_store().set_status(article, status, current_user.email)
    except ContentError as error:
        flash_problems(error)
    else:
        if status == "published":
            flash(_("The article is published."))
        else:
            flash(_("The article is unpublished: customers no longer see it."))
        report_indexing(result)
    return redirect(url_for("editor.edit", article_lang=article.lang, slug=article.slug))


@bp.get("/<lang:article_lang>/<slug>/revisions")
@requires("writer")
def revisions(article_lang: str, slug: str):
    article = find_or_404(article_lang, slug)
    return render_template(
        "admin/article_revisions.html",
        article=article,
        revisions=article_store().list_revisions(article),
        impacts={edit.revision_id: edit.impact for edit in article_edits(article.key)},
        current_hash=content_hash(article_store().current_text(article)),
        content_hash=content_hash,
    )


@bp.post("/<lang:article_lang>/<slug>/restore")
@requires("writer")
def restore(article_lang: str, slug: str):
    article = find_or_404(article_lang, slug)
    revision_id = request.form.get("revision", type=int)
    if revision_id is None:
        flash(_("Choose a revision to restore."))
        return redirect(url_for("editor.revisions", article_lang=article.lang, slug=article.slug))
    try:
        result = article_store().restore_revision(article, revision_id, current_user.email)
    except ContentError as error:
        flash_problems(error)
        return redirect(url_for("editor.revisions", article_lang=article.lang, slug=article.slug))
    flash(_("The revision was restored.") if result.changed else _("Nothing changed."))
    report_indexing(result)
    return redirect(url_for("editor.edit", article_lang=article.lang, slug=article.slug))


@bp.errorhandler(CSRFError)
def keep_the_text(error):
    """An expired session must not throw away what the writer typed."""
    allowed = current_user.is_authenticated and current_user.can("writer")
    if not allowed or request.endpoint not in ("editor.edit", "editor.new"):
        return handle_http_error(error)
    notice = FieldProblem("", "", "expired")
    if request.endpoint == "editor.new":
        return editor_page(new_article_form(), None, [notice], status=400)
    article = find_or_404(request.view_args["article_lang"], request.view_args["slug"])
    return editor_page(ArticleForm(), article, [notice], status=400)


def find_or_404(lang: str, slug: str) -> Article:
    article = article_store().find(lang, slug)
    if article is None:
        abort(404)
    return article


def new_article_form() -> NewArticleForm:
    form = NewArticleForm()
    form.lang.choices = [
        SelectChoice(lang, LANGUAGE_NAMES.get(lang, lang))
        for lang in current_app.config["LANGUAGES"]
    ]
    return form


def is_preview() -> bool:
    return request.method == "POST" and request.form.get("action") == "preview"


def editor_page(form, article: Article | None, problems: list[FieldProblem], status=None):
    """The edit (or new article) page; the preview shows what is in the form."""
    if article is not None and request.method == "GET":
        preview = article.html
    else:
        preview = preview_html(form.body.data or "")
    preview_lang = article.lang if article else (form.lang.data or "")
    if status is None:
        status = 400 if form.errors or problems else 200
    return render_template(
        "admin/article_edit.html",
        form=form,
        article=article,
        preview=preview,
        preview_lang=preview_lang,
        preview_dir=text_direction(preview_lang) if preview_lang else "auto",
        categories=article_store().categories(),
        general_problems=[problem_message(p) for p in problems if not p.field],
        edits=article_edits(article.key, EDITS_SHOWN) if article else [],
    ), status


def show_problems(form, error: EditError) -> list[FieldProblem]:
    """Put the domain's problems next to their fields; return those that belong to none."""
    unattached = []
    for problem in error.problems:
        try:
            field = form[problem.field] if problem.field else None
        except KeyError:
            field = None
        if field is None:
            unattached.append(problem)
            continue
        if not isinstance(field.errors, list):
            field.errors = list(field.errors)
        field.errors.append(problem_message(problem))
    return unattached


def flash_problems(error: ContentError) -> None:
    for problem in getattr(error, "problems", [NOT_WRITTEN]):
        flash(problem_message(problem))


def problem_message(problem: FieldProblem) -> str:
    """The problem in the writer's language when it is one we know; else the rule's text."""
    if problem.code == "exists":
        return _("An article with this language and address already exists.")
    if problem.code == "conflict":
        return _(
            "Someone else changed this article since you opened it (see its revisions). "
            "Your text is still here: press Save again to replace their change with it."
        )
    if problem.code == "expired":
        return _("Your session expired. Your text is still here: please press Save again.")
    if problem.code == "related":
        return _("There is no article %(slug)s in this language.", slug=problem.value)
    if problem.code == "link":
        return _("This link points to an article that does not exist: %(url)s", url=problem.value)
    if problem.code in ("slug", "category"):
        return _("Use lower-case Latin letters, digits and hyphens only.")
    if problem.code == "not-written":
        return _("The article file could not be written. Nothing was saved.")
    if problem.code == "revision":
        return _("This revision does not exist.")
    if problem.code == "lang":
        return _("Choose one of the languages.")
    if problem.code == "status":
        return _("Choose whether to publish or unpublish the article.")
    return problem.message


def report_indexing(result: SaveResult) -> None:
    if not result.indexed:
        flash(
            _(
                "Saved, but the search index could not be updated: "
                "search shows the change after `flask kb index`."
            )
        )
