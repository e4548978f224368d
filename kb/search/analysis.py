"""Whoosh analysers for Arabic and English text (DESIGN.md section 5).

Whoosh pickles the schema, analysers included, into the index: the classes here must stay at
this import path and stay picklable (plain attributes only). Changing what they produce means
bumping `kb.search.index.SCHEMA_VERSION`.
"""

from __future__ import annotations

from whoosh.analysis import Filter, RegexTokenizer

from kb.search.text import TOKEN_PATTERN, analyse_word, spelling_form

# The Arabic stemmer the index uses, chosen on the Arabic evaluation set (semeval2015-fatwa-ar,
# development queries, MRR@10): light 0.541, PyStemmer's Snowball Arabic 0.469, none 0.428.
# Snowball also treats the ب of "بطاقة" as a preposition ("بطاقة" -> "طاق", "البطاقة" -> "بطاقه").
ARABIC_STEMMER = "light"


class ScriptAwareFilter(Filter):
    """Normalise and stem each token by its script; drop stop words.

    Arabic-script tokens: tashkeel and tatweel stripped, letter variants normalised, light
    stemming. Latin tokens: lower-cased, accents folded, English-stemmed. Only ``text``
    changes, so character offsets still point into the original text for highlighting.
    """

    def __init__(self, stem: bool = True, arabic_stemmer: str | None = None):
        self.stem = stem
        self.arabic_stemmer = arabic_stemmer or ARABIC_STEMMER

    def __call__(self, tokens):
        stem, arabic_stemmer = self.stem, self.arabic_stemmer
        for token in tokens:
            text = analyse_word(token.text, stem, arabic_stemmer)
            if text is None:
                continue
            token.text = text
            yield token


class SpellingFilter(Filter):
    """Lower-case and strip diacritics, tatweel and stop words, keeping the spelling readable.

    Feeds the ``spelling`` field: the words offered in "did you mean" (not stemmed, and
    without the letter folding of the search fields, so "بطاقة" keeps its ة).
    """

    def __call__(self, tokens):
        for token in tokens:
            text = spelling_form(token.text)
            if text is None:
                continue
            token.text = text
            yield token


def script_aware_analyzer(stem: bool = True, arabic_stemmer: str | None = None):
    """The analyser for every text field: a diacritic-aware tokenizer + `ScriptAwareFilter`."""
    return RegexTokenizer(TOKEN_PATTERN) | ScriptAwareFilter(stem, arabic_stemmer)


def spelling_analyzer():
    """The analyser of the ``spelling`` field (see `SpellingFilter`)."""
    return RegexTokenizer(TOKEN_PATTERN) | SpellingFilter()


def analyse(text: str, stem: bool = True, arabic_stemmer: str | None = None) -> list[str]:
    """The index terms of ``text``, in order (duplicates kept)."""
    analyzer = script_aware_analyzer(stem, arabic_stemmer)
    return [token.text for token in analyzer(text, mode="query")]
