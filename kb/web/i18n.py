"""Language of the current request: the ``<lang>`` in the URL, else the browser's preference."""

from __future__ import annotations

from flask import current_app, g, request, url_for

RTL_LANGUAGES = {"ar", "fa", "he", "ur"}
LANGUAGE_NAMES = {"ar": "العربية", "en": "English"}


def select_locale() -> str:
    lang = (request.view_args or {}).get("lang") if request else None
    if lang in current_app.config["LANGUAGES"]:
        return lang
    return preferred_language()


def preferred_language() -> str:
    languages = current_app.config["LANGUAGES"]
    return request.accept_languages.best_match(languages) or current_app.config["DEFAULT_LANG"]


def current_language() -> str:
    # Error handlers set g.lang: routing may have failed before view_args existed.
    return getattr(g, "lang", None) or select_locale()


def text_direction(lang: str) -> str:
    return "rtl" if lang in RTL_LANGUAGES else "ltr"


def alternate_urls() -> dict[str, str]:
    """The current page in every other language (views may override via ``g.alternate_urls``)."""
    overrides = getattr(g, "alternate_urls", None)
    if overrides is not None:
        return overrides
    current = current_language()
    urls = {}
    args = dict(request.view_args or {})
    # Keep the query (q, category...), but never let it override the route's own arguments
    # or reach url_for's options (_external, _anchor...).
    query = {
        key: value
        for key, value in request.args.items()
        if not key.startswith("_") and key not in args
    }
    for lang in current_app.config["LANGUAGES"]:
        if lang == current:
            continue
        if request.endpoint and "lang" in args:
            urls[lang] = url_for(request.endpoint, **{**query, **args, "lang": lang})
        else:
            urls[lang] = url_for("public.home", lang=lang)
    return urls


def template_context() -> dict:
    lang = current_language()
    return {
        "lang": lang,
        "text_dir": text_direction(lang),
        "language_names": LANGUAGE_NAMES,
        "alternate_urls": alternate_urls,
    }
