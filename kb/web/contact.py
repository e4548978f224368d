"""The deflection flow: answers first, then the contact form, then a reference number.

The help widget's panel serves these same views under /<lang>/widget/contact (kb/web/widget.py),
so redirects name their endpoint relative to the blueprint (".sent"), never "contact.sent".
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from wtforms.fields.choices import SelectChoice

from kb import insights
from kb.contact import FIELD_LIMITS, new_reference, submit_contact
from kb.errors import ContactError, SearchUnavailable
from kb.extensions import limiter
from kb.web.channel import request_channel
from kb.web.errors import handle_http_error
from kb.web.forms import ContactForm, EffortForm, SolvedForm
from kb.web.services import library, search_engine
from kb.web.visit import visit_id

bp = Blueprint("contact", __name__)

MIN_QUESTION = 3
SUGGESTION_COUNT = 5


def contact_limit() -> str:
    return current_app.config["CONTACT_RATE_LIMIT"]


@bp.get("/<lang:lang>/contact")
def start(lang: str):
    flow = current_flow(lang)
    question = request.args.get("q", "")[: FIELD_LIMITS["message"]].strip()
    show_form = request.args.get("step") == "form"
    suggestions = suggest_answers(lang, question, flow)
    form = contact_form(lang)
    if not form.message.data:
        form.message.data = question
    return render_contact(lang, question, suggestions, form, show_form)


@bp.post("/<lang:lang>/contact")
@limiter.limit(contact_limit)
def submit(lang: str):
    form = contact_form(lang)
    question = request.form.get("question", "")[: FIELD_LIMITS["message"]]
    if not form.validate_on_submit():
        return render_contact(lang, question, [], form, show_form=True), 400
    if form.website.data:
        # A bot filled the honeypot: same success page, nothing stored.
        session["contact_reference"] = new_reference()
        return redirect(url_for(".sent", lang=lang))
    try:
        receipt = submit_contact(
            visit_id=visit_id(),
            flow_id=session.get("flow_id"),
            lang=lang,
            name=form.name.data,
            email=form.email.data,
            message=form.message.data,
            category=form.category.data or "",
        )
    except ContactError:
        error = _("We could not send your message just now. Nothing was lost: please try again.")
        return render_contact(lang, question, [], form, show_form=True, error=error), 503
    session.pop("flow_id", None)
    session["contact_reference"] = receipt.reference
    return redirect(url_for(".sent", lang=lang))


@bp.get("/<lang:lang>/contact/sent")
def sent(lang: str):
    reference = session.get("contact_reference")
    if not reference:
        return redirect(url_for(".start", lang=lang))
    return render_template("contact/sent.html", reference=reference)


@bp.post("/<lang:lang>/contact/solved")
def solved(lang: str):
    form = SolvedForm()
    if not form.validate_on_submit():
        return redirect(url_for(".start", lang=lang))
    flow = insights.open_contact_flow(session.get("flow_id"), visit_id(), channel=request_channel())
    if flow is not None and form.question.data:
        suggest_answers(lang, form.question.data.strip(), flow)  # records the question once
    flow_id = session.pop("flow_id", None)
    if insights.resolve_contact_flow(flow_id, visit_id(), form.article.data):
        session["resolved_flow_id"] = flow_id  # the effort survey scores this flow
    slug = form.article.data.rsplit("/", 1)[-1]
    return redirect(url_for(".resolved", lang=lang, article=slug))


@bp.get("/<lang:lang>/contact/resolved")
def resolved(lang: str):
    article = library().get(lang, request.args.get("article", ""))
    survey = EffortForm() if session.get("resolved_flow_id") else None
    return render_template("contact/resolved.html", article=article, survey=survey)


@bp.post("/<lang:lang>/contact/effort")
def effort(lang: str):
    """The one-question effort survey (CES) after an answer solved the problem."""
    form = EffortForm()
    slug = request.form.get("article", "")[:200]
    if not form.validate_on_submit():
        return redirect(url_for(".resolved", lang=lang, article=slug))
    flow_id = session.pop("resolved_flow_id", None)
    insights.record_effort_score(
        visit_id(), flow_id, int(form.score.data), channel=request_channel()
    )
    return redirect(url_for(".resolved", lang=lang, article=slug, effort="thanks"))


@bp.errorhandler(CSRFError)
@bp.errorhandler(429)
def keep_the_message(error):
    """An expired session or a rate limit must not throw away what the customer wrote."""
    lang = (request.view_args or {}).get("lang", current_app.config["DEFAULT_LANG"])
    if current_app.view_functions.get(request.endpoint) is not submit:
        return handle_http_error(error)  # nothing to keep: 400/429, never a silent redirect
    if isinstance(error, CSRFError):
        message = _("Your session expired. Your message is still here: please send it again.")
        status = 400
    else:
        message = _("Too many messages in a short time. Please wait a minute and send again.")
        status = 429
    form = contact_form(lang)
    question = request.form.get("question", "")[: FIELD_LIMITS["message"]]
    return render_contact(lang, question, [], form, show_form=True, error=message), status


def current_flow(lang: str) -> insights.ContactFlowState:
    """The visit's open contact flow, or a new one (opening this page starts a flow)."""
    channel = request_channel()
    flow = insights.open_contact_flow(session.get("flow_id"), visit_id(), channel=channel)
    if flow is None or flow.lang != lang:
        session["flow_id"] = insights.start_contact_flow(visit_id(), lang, channel=channel)
        flow = insights.open_contact_flow(session["flow_id"], visit_id(), channel=channel)
    return flow


def suggest_answers(lang: str, question: str, flow: insights.ContactFlowState) -> list:
    """Search the question; record it once per distinct question in this flow."""
    if len(question) < MIN_QUESTION:
        return []
    try:
        results = search_engine().search(question, lang, limit=SUGGESTION_COUNT)
    except SearchUnavailable:
        return []
    keys = [hit.key for hit in results.hits]
    insights.record_flow_question(
        flow.id, visit_id(), question, results.total, keys, channel=request_channel()
    )
    answers = library()
    return [
        (hit, article)
        for hit in results.hits
        if (article := answers.get(hit.lang, hit.slug)) is not None
    ]


def contact_form(lang: str) -> ContactForm:
    form = ContactForm()
    answers = library()
    form.category.choices = [
        SelectChoice("", _("Choose a topic (optional)")),
        *(
            SelectChoice(category, answers.category_name(category, lang))
            for category in answers.categories(lang)
        ),
        SelectChoice("other", _("Something else")),
    ]
    return form


def render_contact(lang, question, suggestions, form, show_form, error=None):
    return render_template(
        "contact/start.html",
        question=question,
        suggestions=suggestions,
        form=form,
        show_form=show_form,
        error=error,
        solved_form=SolvedForm(),
        min_question=MIN_QUESTION,
    )
