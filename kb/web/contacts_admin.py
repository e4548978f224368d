"""Back office: contact requests and the visit's journey before each. Managers only (PII)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField
from wtforms.validators import AnyOf, Length, Optional

from kb import contact, insights
from kb.errors import ContactError
from kb.web.admin import protect, requires
from kb.web.i18n import LANGUAGE_NAMES, current_language
from kb.web.services import library

bp = protect(Blueprint("contacts_admin", __name__, url_prefix="/admin/contacts"))

SEARCH_MAX = 200
NO_TOPIC = "none"
STATUS_FILTERS = {"open": False, "handled": True}


class ContactFilterForm(FlaskForm):
    """The list's filters: a GET form (bookmarkable, nothing changes), so no CSRF token."""

    class Meta:
        csrf = False

    lang = SelectField(_l("Language"), validators=[Optional()])
    category = SelectField(_l("Topic"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()])
    since = DateField(_l("From (UTC)"), validators=[Optional()])
    until = DateField(_l("Until (UTC)"), validators=[Optional()])
    q = StringField(
        _l("Text in message or e-mail"), validators=[Optional(), Length(max=SEARCH_MAX)]
    )


class HandledForm(FlaskForm):
    handled = HiddenField(validators=[AnyOf(["yes", "no"])])


class RetryForm(FlaskForm):
    """ "Retry now": one immediate attempt on every channel not yet delivered."""


class AnswerForm(FlaskForm):
    answer = SelectField(_l("Article that would have answered it"))


@bp.get("")
@requires("manager")
def index():
    form = filter_form()
    form.validate()
    page = contact.list_contacts(
        contact.ContactFilters(
            lang=valid(form.lang) or None,
            category=topic_filter(valid(form.category)),
            handled=STATUS_FILTERS.get(valid(form.status)),
            since=valid(form.since),
            until=valid(form.until),
            text=valid(form.q),
            page=request.args.get("page", 1, type=int),
        )
    )
    return render_template(
        "admin/contacts.html",
        form=form,
        page=page,
        page_url=page_url,
        category_name=category_name,
        language_names=LANGUAGE_NAMES,
        delivery_label=delivery_label,
    )


@bp.get("/<reference>")
@requires("manager")
def detail(reference: str):
    found = contact.find_contact(reference)
    if found is None:
        abort(404)
    journey = insights.visit_journey(found.visit_id, found.created_at)
    answer_form = answer_choices(AnswerForm(answer=found.answer_key or ""), found.lang)
    return render_template(
        "admin/contact.html",
        contact=found,
        journey=journey,
        handled_form=HandledForm(),
        answer_form=answer_form,
        article_title=article_title,
        category_name=category_name,
        deliveries=contact.delivery_states(found.reference),
        retry_form=RetryForm(),
        delivery_label=delivery_label,
        channel_name=channel_name,
    )


@bp.post("/<reference>/handled")
@requires("manager")
def handled(reference: str):
    form = HandledForm()
    if not form.validate_on_submit():
        flash(_("Nothing was changed."))
        return redirect(url_for(".detail", reference=reference))
    if form.handled.data == "yes":
        changed = contact.mark_handled(reference, by=current_user.email)
        message = _("Marked as handled.")
    else:
        changed = contact.mark_unhandled(reference)
        message = _("Marked as not handled.")
    return after_change(changed, message)


@bp.post("/<reference>/answer")
@requires("manager")
def answer(reference: str):
    found = contact.find_contact(reference)
    if found is None:
        return after_change(None, "")
    form = answer_choices(AnswerForm(), found.lang)
    if not form.validate_on_submit():
        flash(_("Please choose one of the published articles."))
        return redirect(url_for(".detail", reference=reference))
    try:
        changed = contact.link_answer(reference, form.answer.data or None)
    except ContactError:
        flash(_("Please choose one of the published articles."))
        return redirect(url_for(".detail", reference=reference))
    return after_change(changed, _("Answer linked.") if form.answer.data else _("Link removed."))


@bp.post("/<reference>/deliver")
@requires("manager")
def deliver(reference: str):
    if not RetryForm().validate_on_submit():
        flash(_("Nothing was changed."))
        return redirect(url_for(".detail", reference=reference))
    try:
        attempts = contact.retry_now(reference)
    except contact.DeliveryError as error:
        current_app.logger.warning("retry of %s refused: %s", reference, error)
        flash(_("This request cannot be delivered: %(reason)s", reason=str(error)))
        return redirect(url_for(".detail", reference=reference))
    if attempts is None:
        return after_change(None, "")
    if not attempts:
        message = _("Nothing left to deliver.")
    elif all(attempt.delivered for attempt in attempts):
        message = _("Delivered.")
    else:
        message = _("Delivery failed again; see the details below.")
    flash(message)
    return redirect(url_for(".detail", reference=reference))


def delivery_label(status: str) -> str:
    """A delivery status (of a request or one channel) in words."""
    labels = {
        "pending": _("Waiting for delivery"),
        "delivered": _("Delivered"),
        "failed": _("Delivery failed"),
        "simulated": _("Simulated: never delivered"),
    }
    return labels.get(status, status)


def channel_name(channel: str) -> str:
    return {"email": _("E-mail"), "webhook": _("Webhook")}.get(channel, channel)


def after_change(changed: contact.StoredContact | None, message: str):
    if changed is None:
        flash(_("This contact request does not exist."))
        return redirect(url_for(".index"))
    flash(message)
    return redirect(url_for(".detail", reference=changed.reference))


def filter_form() -> ContactFilterForm:
    form = ContactFilterForm(formdata=request.args)
    languages = current_app.config["LANGUAGES"]
    form.lang.choices = [("", _("All languages"))] + [
        (lang, LANGUAGE_NAMES.get(lang, lang)) for lang in languages
    ]
    form.status.choices = [("", _("All")), ("open", _("Not handled")), ("handled", _("Handled"))]
    categories = sorted({c for lang in languages for c in library().categories(lang)})
    form.category.choices = (
        [("", _("All topics")), (NO_TOPIC, _("No topic chosen"))]
        + [(c, category_name(c)) for c in categories]
        + [("other", _("Something else"))]
    )
    return form


def valid(field):
    """A filter's value, or None when the field did not validate (it is then ignored)."""
    return None if field.errors else (field.data or None)


def topic_filter(value: str | None) -> str | None:
    if value is None:
        return None
    return "" if value == NO_TOPIC else value


def answer_choices(form: AnswerForm, lang: str) -> AnswerForm:
    articles = sorted(library().published(lang), key=lambda article: article.title)
    form.answer.choices = [("", _("None"))] + [(a.key, a.title) for a in articles]
    return form


def page_url(number: int) -> str:
    """The list's URL with the same filters, on page ``number``."""
    args = {name: value for name, value in request.args.items() if name != "page"}
    return url_for(".index", **args, page=number)


def category_name(category: str) -> str:
    """The topic's name in the back office's language."""
    if not category:
        return _("No topic chosen")
    if category == "other":
        return _("Something else")
    return library().category_name(category, current_language())


def article_title(key: str) -> str:
    """The published article's title, or its key when it is gone."""
    lang, _sep, slug = key.partition("/")
    article = library().get(lang, slug)
    return article.title if article is not None else key
