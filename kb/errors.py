"""The project's exception hierarchy."""

from __future__ import annotations


class KBError(Exception):
    """Base class of every error kb raises on purpose."""


class ContentError(KBError):
    """An article or the synonyms file is invalid."""


class SearchUnavailable(KBError):
    """The search index is missing or cannot be opened."""


class ContactError(KBError):
    """A contact request could not be stored."""


class ConfigError(KBError):
    """The configuration is missing something the app cannot run without."""
