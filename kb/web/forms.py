"""Flask-WTF forms: CSRF on every POST, field caps matching the storage limits."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Email, EqualTo, Length, Optional

from kb.accounts import MIN_PASSWORD_LENGTH
from kb.contact import FIELD_LIMITS

COMMENT_LIMIT = 2000


class ContactForm(FlaskForm):
    name = StringField(
        _l("Your name"), validators=[DataRequired(), Length(max=FIELD_LIMITS["name"])]
    )
    email = StringField(
        _l("Your e-mail address"),
        validators=[
            DataRequired(),
            Length(max=FIELD_LIMITS["email"]),
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
