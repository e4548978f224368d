"""Flask-WTF forms: CSRF on every POST, field caps matching the storage limits."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    EqualTo,
    Length,
    Optional,
    ValidationError,
)

from kb.accounts import MIN_PASSWORD_LENGTH
from kb.contact import FIELD_LIMITS, is_header_safe
from kb.content import store
from kb.content.articles import SLUG_PATTERN, TEXT_LIMITS

COMMENT_LIMIT = 2000


def _header_safe(form, field) -> None:
    """Name and address reach e-mail headers: no line breaks, no encoded words (=?...?=)."""
    if field.data and not is_header_safe(field.data):
        raise ValidationError(_l("Please remove line breaks and the characters =? ?= here."))


class ContactForm(FlaskForm):
    name = StringField(
        _l("Your name"),
        validators=[DataRequired(), Length(max=FIELD_LIMITS["name"]), _header_safe],
    )
    email = StringField(
        _l("Your e-mail address"),
        validators=[
            DataRequired(),
            Length(max=FIELD_LIMITS["email"]),
            _header_safe,
            Email(message=_l("Please enter a valid e-mail address."), check_deliverability=False),
        ],
    )
    category = SelectField(_l("Topic"), validators=[Optional()], validate_choice=True)
    message = TextAreaField(
        _l("How can we help?"),
        validators=[DataRequired(), Length(max=FIELD_LIMITS["message"])],
    )
    # Honeypot: hidden from people by CSS; bots fill it in.
    website = StringField(_l("Leave this field empty"), validators=[Optional()])


class FeedbackForm(FlaskForm):
    helpful = HiddenField(validators=[AnyOf(["yes", "no"])])


class FeedbackCommentForm(FlaskForm):
    comment = TextAreaField(
        _l("What was missing?"), validators=[DataRequired(), Length(max=COMMENT_LIMIT)]
    )


class SolvedForm(FlaskForm):
    article = HiddenField(validators=[DataRequired(), Length(max=200)])
    question = HiddenField(validators=[Optional(), Length(max=FIELD_LIMITS["message"])])


class EffortForm(FlaskForm):
    # Customer Effort Score: 1 = very difficult ... 7 = very easy.
    score = RadioField(
        _l("How easy was it to solve your problem?"),
        choices=[SelectChoice(str(n), str(n)) for n in range(1, 8)],
        validators=[DataRequired()],
    )


class LoginForm(FlaskForm):
    email = StringField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=1024)])
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024)],
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))],
    )


# The article editor (kb/web/editor.py). Caps match kb.content's article rules.


def _slug_format(form, field) -> None:
    if field.data and not SLUG_PATTERN.fullmatch(field.data):
        raise ValidationError(_l("Use lower-case Latin letters, digits and hyphens only."))


def _slug_list(form, field) -> None:
    slugs = split_list(field.data or "", RELATED_SEPARATORS)
    if len(slugs) > store.RELATED_LIMIT:
        raise ValidationError(_l("At most %(count)d articles.", count=store.RELATED_LIMIT))
    if any(not SLUG_PATTERN.fullmatch(slug) for slug in slugs):
        raise ValidationError(_l("Write article addresses (slugs) separated by commas."))


def _tag_list(form, field) -> None:
    tags = split_list(field.data or "", TAG_SEPARATORS)
    if len(tags) > store.TAGS_LIMIT:
        raise ValidationError(_l("At most %(count)d tags.", count=store.TAGS_LIMIT))
    if any(len(tag) > store.LIST_ITEM_LIMIT for tag in tags):
        raise ValidationError(_l("A tag is too long."))


def _question_lines(form, field) -> None:
    lines = [line for line in (field.data or "").splitlines() if line.strip()]
    if len(lines) > store.QUESTIONS_LIMIT:
        raise ValidationError(
            _l("At most %(count)d questions, one per line.", count=store.QUESTIONS_LIMIT)
        )
    if any(len(line.strip()) > store.LIST_ITEM_LIMIT for line in lines):
        raise ValidationError(
            _l("Each question can have at most %(count)d characters.", count=store.LIST_ITEM_LIMIT)
        )


TAG_SEPARATORS = re.compile(r"[,،\n]")
RELATED_SEPARATORS = re.compile(r"[,،\s]+")


def split_list(text: str, separators: re.Pattern) -> list[str]:
    return [item.strip() for item in separators.split(text) if item.strip()]


class ArticleForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=TEXT_LIMITS["title"])])
    summary = TextAreaField(
        _l("Summary"),
        validators=[Optional(), Length(max=TEXT_LIMITS["summary"])],
        description=_l("One or two sentences shown under the title and in search results."),
    )
    category = StringField(
        _l("Category"),
        validators=[Optional(), Length(max=TEXT_LIMITS["category"]), _slug_format],
        description=_l("For example orders or payments."),
    )
    tags = StringField(
        _l("Tags"),
        validators=[Optional(), Length(max=2000), _tag_list],
        description=_l("Separated by commas."),
    )
    questions = TextAreaField(
        _l("Questions customers ask"),
        validators=[
            Optional(),
            Length(max=store.QUESTIONS_LIMIT * (store.LIST_ITEM_LIMIT + 2)),
            _question_lines,
        ],
        description=_l("Other ways customers ask for this article, one per line."),
    )
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("published", _l("Published")), SelectChoice("draft", _l("Draft"))],
        default="published",
    )
    related = StringField(
        _l("Related articles"),
        validators=[Optional(), Length(max=2000), _slug_list],
        description=_l("Addresses (slugs) of articles in the same language, separated by commas."),
    )
    body = TextAreaField(
        _l("Article text (Markdown)"),
        validators=[DataRequired(), Length(max=store.BODY_LIMIT)],
    )
    # content_hash of the file the writer started from (detects concurrent edits).
    base = HiddenField(validators=[Optional(), Length(max=64)])

    def fill(self, fields: store.ArticleFields) -> None:
        """Show ``fields`` in the form (on GET)."""
        self.title.data = fields.title
        self.summary.data = fields.summary
        self.category.data = fields.category
        self.tags.data = ", ".join(fields.tags)
        self.questions.data = "\n".join(fields.questions)
        self.status.data = fields.status
        self.related.data = ", ".join(fields.related)
        self.body.data = fields.body

    def article_fields(self) -> store.ArticleFields:
        return store.ArticleFields(
            title=self.title.data or "",
            body=self.body.data or "",
            summary=self.summary.data or "",
            category=self.category.data or "",
            tags=tuple(split_list(self.tags.data or "", TAG_SEPARATORS)),
            questions=tuple(line for line in (self.questions.data or "").splitlines()),
            status=self.status.data,
            related=tuple(split_list(self.related.data or "", RELATED_SEPARATORS)),
        )


class NewArticleForm(ArticleForm):
    lang = SelectField(_l("Language"), validators=[DataRequired()])
    slug = StringField(
        _l("Address (slug)"),
        validators=[DataRequired(), Length(max=100), _slug_format],
        description=_l("Part of the page address, e.g. track-order. It cannot change later."),
    )
