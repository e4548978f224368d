"""Whoosh analysers for Arabic and English text (DESIGN.md section 5).

Whoosh pickles the schema, analysers included, into the index: the classes here must stay at
this import path and stay picklable (plain attributes only). Changing what they produce means
bumping `kb.search.index.SCHEMA_VERSION`.
"""

from __future__ import annotations

import re

from whoosh.analysis import Filter, RegexTokenizer, Token, Tokenizer

from kb.search.text import TOKEN_PATTERN, analyse_word, is_arabic, spelling_form

# The Arabic stemmer the index uses, chosen on the Arabic evaluation set (semeval2015-fatwa-ar,
# development queries, MRR@10): light 0.541, PyStemmer's Snowball Arabic 0.469, none 0.428.
# Snowball also treats the ب of "بطاقة" as a preposition ("بطاقة" -> "طاق", "البطاقة" -> "بطاقه").
ARABIC_STEMMER = "light"


# A word, or words joined by hyphens ("log-in", "e-mail", "sign-up", "wi-fi").
HYPHENS = "-\u2010\u2011"
COMPOUND_PATTERN = rf"{TOKEN_PATTERN}(?:[{HYPHENS}]{TOKEN_PATTERN})*"


class CompoundTokenizer(Tokenizer):
    """`TOKEN_PATTERN` words; a hyphenated word gives its parts and then the joined form.

    (Only for non-Arabic words: Arabic does not write compounds with hyphens.)

    "e-mail" yields "e", "mail" and "email" (the joined form at the first part's position,
    spanning the whole word), so "e-mail", "email" and "e mail" all meet; the engine joins
    adjacent query words the same way ("log in" -> "login").
    """

    def __init__(self):
        self.expression = re.compile(COMPOUND_PATTERN)
        self.part = re.compile(TOKEN_PATTERN)

    def __eq__(self, other):
        return self.__class__ is other.__class__

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for match in self.expression.finditer(value):
            offset = start_char + match.start()
            spans = [
                (part.group(0), offset + part.start(), offset + part.end(), pos + number)
                for number, part in enumerate(self.part.finditer(match.group(0)))
            ]
            if len(spans) > 1 and not is_arabic(match.group(0)):
                joined = "".join(text for text, _, _, _ in spans)
                spans.append((joined, offset, start_char + match.end(), pos))
            for text, start, end, position in spans:
                token.text = text
                token.boost = 1.0
                token.stopped = False
                if keeporiginal:
                    token.original = text
                if positions:
                    token.pos = position
                if chars:
                    token.startchar = start
                    token.endchar = end
                yield token
            pos += len(spans) - (len(spans) > 1)


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
    """The analyser for every text field: `CompoundTokenizer` + `ScriptAwareFilter`."""
    return CompoundTokenizer() | ScriptAwareFilter(stem, arabic_stemmer)


def spelling_analyzer():
    """The analyser of the ``spelling`` field (see `SpellingFilter`)."""
    return RegexTokenizer(TOKEN_PATTERN) | SpellingFilter()


def analyse(text: str, stem: bool = True, arabic_stemmer: str | None = None) -> list[str]:
    """The index terms of ``text``, in order (duplicates kept)."""
    analyzer = script_aware_analyzer(stem, arabic_stemmer)
    return [token.text for token in analyzer(text, mode="query")]
