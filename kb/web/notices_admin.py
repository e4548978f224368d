"""Back office: writers publish proactive notices (known issues, outages) for a time window."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from kb import notices
from kb.web.admin import protect, requires
from kb.web.i18n import LANGUAGE_NAMES, current_language
from kb.web.services import library

bp = protect(Blueprint("notices_admin", __name__, url_prefix="/admin/notices"))

# What <input type="datetime-local"> sends (seconds only when a browser adds them).
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
DEFAULT_LENGTH = dt.timedelta(hours=2)


class NoticeForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=notices.TITLE_LIMIT)])
    text = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=notices.TEXT_LIMIT)])
    lang = SelectField(_l("Language"), validate_choice=True)
    category = SelectField(_l("Topic"), validate_choice=True)
    starts_at = DateTimeLocalField(
        _l("Start (UTC)"), validators=[InputRequired()], format=DATETIME_FORMATS
    )
    ends_at = DateTimeLocalField(
        _l("End (UTC)"), validators=[InputRequired()], format=DATETIME_FORMATS
    )

    def validate_ends_at(self, field):
        if self.starts_at.data and field.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("The end must be after the start."))


@bp.get("")
@requires("writer")
def index():
    return render_template(
        "admin/notices.html", board=notices.list_notices(), topic_name=topic_name
    )


@bp.route("/new", methods=["GET", "POST"])
@requires("writer")
def create():
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, second=0, microsecond=0)
    form = notice_form(
        data={"lang": current_language(), "starts_at": now, "ends_at": now + DEFAULT_LENGTH}
    )
    if form.validate_on_submit():
        try:
            notice = notices.create_notice(**notice_values(form), by=current_user.email)
        except notices.NoticeError as error:
            form.form_errors.append(_("The notice could not be saved: %(reason)s", reason=error))
        else:
            flash(_("Notice saved."))
            return redirect(url_for(".detail", notice_id=notice.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/notice_form.html", form=form, notice=None), status


@bp.get("/<int:notice_id>")
@requires("writer")
def detail(notice_id: int):
    notice = notices.get_notice(notice_id)
    if notice is None:
        abort(404)
    return render_template(
        "admin/notice.html",
        notice=notice,
        effect=notices.notice_effect(notice_id),
        topic_name=topic_name,
        language_names=LANGUAGE_NAMES,
    )


@bp.route("/<int:notice_id>/edit", methods=["GET", "POST"])
@requires("writer")
def edit(notice_id: int):
    notice = notices.get_notice(notice_id)
    if notice is None:
        abort(404)
    form = notice_form(obj=notice)
    if form.validate_on_submit():
        try:
            notices.update_notice(notice_id, **notice_values(form))
        except notices.NoticeError as error:
            form.form_errors.append(_("The notice could not be saved: %(reason)s", reason=error))
        else:
            flash(_("Notice saved."))
            return redirect(url_for(".detail", notice_id=notice_id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/notice_form.html", form=form, notice=notice), status


@bp.post("/<int:notice_id>/end")
@requires("writer")
def end(notice_id: int):
    try:
        ended = notices.end_notice(notice_id)
    except notices.NoticeError:
        flash(_("Only an active notice can be ended."))
        return redirect(url_for(".detail", notice_id=notice_id))
    if ended is None:
        flash(_("This notice does not exist."))
        return redirect(url_for(".index"))
    flash(_("The notice has ended."))
    return redirect(url_for(".detail", notice_id=notice_id))


@bp.post("/<int:notice_id>/delete")
@requires("writer")
def delete(notice_id: int):
    if notices.delete_notice(notice_id):
        flash(_("Notice deleted."))
    else:
        flash(_("This notice does not exist."))
    return redirect(url_for(".index"))


def notice_form(**kwargs) -> NoticeForm:
    form = NoticeForm(**kwargs)
    languages = current_app.config["LANGUAGES"]
    form.lang.choices = [(lang, LANGUAGE_NAMES.get(lang, lang)) for lang in languages]
    categories = sorted({c for lang in languages for c in library().categories(lang)})
    form.category.choices = [(notices.ALL_TOPICS, _("All topics"))] + [
        (category, topic_name(category)) for category in categories
    ]
    return form


def notice_values(form: NoticeForm) -> dict:
    return {
        "title": form.title.data,
        "text": form.text.data,
        "lang": form.lang.data,
        "category": form.category.data,
        "starts_at": form.starts_at.data,
        "ends_at": form.ends_at.data,
    }


def topic_name(category: str) -> str:
    """The topic's name in the back office's language."""
    if category == notices.ALL_TOPICS:
        return _("All topics")
    return library().category_name(category, current_language())
