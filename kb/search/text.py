"""Word-level text processing for search, in plain Python (no Whoosh).

Arabic orthographic normalisation, a light Arabic stemmer, English stemming and stop words.
`kb.search.analysis` wraps these in Whoosh filters; `normalize_query` is what the insights
module uses to group customer queries, so this module must stay cheap to import.

Normalisation decisions (DESIGN.md section 5):

- tashkeel (U+0610-061A, U+064B-065F, U+0670, U+06D6-06ED) and tatweel are removed;
- أ إ آ ٱ -> ا, ى -> ي, ة -> ه (the usual spelling variation in typed Arabic);
- ؤ -> و and ئ -> ي: customers who leave out the hamza type its seat letter ("سوال" for
  "سؤال"); this is also what Unicode decomposition gives (SQLite FTS5's diacritic removal);
- Persian keyboard letters ی and ک -> ي and ك;
- Arabic-Indic digits (٠-٩ and ۰-۹) -> 0-9.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

# Everything a search token may be made of: word characters plus the combining marks that
# Python's \w does not match (Arabic harakat, Quranic marks, Latin accents), so a word is
# never split at a diacritic.
TOKEN_PATTERN = r"[\w\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]+"

_ARABIC_LETTERS = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_PRESENTATION_FORMS = re.compile(r"[\ufb50-\ufdff\ufe70-\ufeff]")
_NON_WORD = re.compile(r"[^\w]+")
_MARKS = [*range(0x0610, 0x061B), *range(0x064B, 0x0660), 0x0670, *range(0x06D6, 0x06EE), 0x0640]
_ARABIC_TABLE = {code: None for code in _MARKS} | {
    ord("أ"): "ا",
    ord("إ"): "ا",
    ord("آ"): "ا",
    ord("ٱ"): "ا",
    ord("ى"): "ي",
    ord("ی"): "ي",
    ord("ک"): "ك",
    ord("ة"): "ه",
    ord("ؤ"): "و",
    ord("ئ"): "ي",
}
_DIGITS_TABLE = {0x0660 + n: str(n) for n in range(10)} | {0x06F0 + n: str(n) for n in range(10)}
_NORMALISE_TABLE = _ARABIC_TABLE | _DIGITS_TABLE
_SPELLING_TABLE = {code: None for code in _MARKS} | _DIGITS_TABLE

# Longest token worth indexing; longer runs are identifiers, base64 or abuse.
MAX_TOKEN_LENGTH = 64

# Small, deliberately conservative stop lists: words that carry no topic in a help-center
# question. BM25 already discounts frequent words; these keep long questions cheap. Question
# words (how, where, كيف, أين ...) are kept: "where is my order" asks something else than
# "cancel my order", and articles list such questions.
ENGLISH_STOP_WORDS = frozenset(
    """a an and are as at be but by can could did do does for from had has have i if in into
    is it its me my of on or our so than that the their them then there these they this to
    was we were will with would you your""".split()
)
ARABIC_STOP_WORDS = frozenset(
    word.translate(_ARABIC_TABLE)
    for word in """في من على إلى عن أن إن أو أم ثم ما لا لم لن هل قد كان كانت يكون هذا هذه ذلك
    تلك هناك هنا التي الذي الذين هو هي هم هن أنا نحن أنت أنتم أنتي كل بعض مع عند لدي لدينا
    إذا لو حتى بين غير أي أيضا إلا أما لكن بل ف و ب ل ك يا به بها له لها لهم منه منها عليه
    عليها فيه فيها إليه""".split()
)

# Prefixes stripped from the front of Arabic words (normalised), longest first:
# conjunction/preposition + article, then the article, then the conjunction "و".
_ARABIC_PREFIXES = ("وال", "فال", "بال", "كال", "لل", "ال", "و")
# Attached pronouns (possessive or object), stripped once before the noun suffixes.
_ARABIC_PRONOUNS = ("هما", "كما", "هم", "هن", "كم", "كن", "ها", "نا", "ك")
# Plural, feminine and relative-adjective endings, Light10 order (ة is already ه).
_ARABIC_SUFFIXES = ("ات", "ون", "ين", "يه", "ه", "ي")
_MIN_STEM = 3

_local = threading.local()


def normalize_arabic(text: str) -> str:
    """Apply the orthographic normalisation above (and digit folding) to any text."""
    if _PRESENTATION_FORMS.search(text):
        text = unicodedata.normalize("NFKC", text)
    return text.translate(_NORMALISE_TABLE)


def normalize_query(text: str) -> str:
    """A customer query reduced to a canonical form for grouping (no stemming).

    Arabic orthographic normalisation, lower case, punctuation removed, whitespace collapsed.
    """
    text = normalize_arabic(unicodedata.normalize("NFKC", text)).casefold()
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", text).replace("_", " ").split())


def is_arabic(word: str) -> bool:
    return _ARABIC_LETTERS.search(word) is not None


def light_stem_arabic(word: str) -> str:
    """Strip attached particles, the article and common suffixes from a normalised word.

    A light stemmer (after Larkey's Light10): it joins "البطاقة/بطاقات/بطاقتك" and
    "الطلبات/طلباتي/للطلب" but never reduces a word to a root, so "عميل" and "عمل" stay
    apart. Every strip keeps at least three letters.
    """
    for _ in range(3):  # e.g. "والالغاء": "وال" then "ال" (إلغاء normalised) then stop
        for prefix in _ARABIC_PREFIXES:
            if word.startswith(prefix) and len(word) - len(prefix) >= _MIN_STEM:
                word = word[len(prefix) :]
                break
        else:
            break
    for pronoun in _ARABIC_PRONOUNS:
        if word.endswith(pronoun) and len(word) - len(pronoun) >= _MIN_STEM:
            word = _restore_ta_marbuta(word[: -len(pronoun)])
            break
    else:
        if word.endswith("تي") and len(word) >= 5:  # "my": "طلباتي", "بطاقتي"
            word = _restore_ta_marbuta(word[:-1])
    for suffix in _ARABIC_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            word = word[: -len(suffix)]
    if len(word) == 5 and word.endswith("اء"):
        # Broken plural فعلاء -> singular فعيل: "عملاء" -> "عميل", "وكلاء" -> "وكيل".
        word = word[:2] + "ي" + word[2]
    return word


def _strip_clitic(word: str) -> str:
    """Drop a leading ف ب ك ل (not before ال, which the stemmer handles) from longer words."""
    if len(word) >= 5 and word[0] in "فبكل" and not word.startswith("ال", 1):
        return word[1:]
    return word


@lru_cache(maxsize=100_000)
def spelling_form(word: str) -> str | None:
    """A word as offered in "did you mean": lower case, no diacritics; None for stop words."""
    if len(word) > MAX_TOKEN_LENGTH or analyse_word(word, stem=False) is None:
        return None
    return word.translate(_SPELLING_TABLE).lower()


def _restore_ta_marbuta(word: str) -> str:
    """Before a pronoun ة is written ت ("بطاقتك"); put it back, except in the plural ات."""
    if word.endswith("ت") and not word.endswith("ات") and len(word) >= 4:
        return word[:-1] + "ه"
    return word


def _stemmer(language: str):
    """A PyStemmer stemmer for this thread (stemmer objects are not thread-safe)."""
    stemmers = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    if language not in stemmers:
        import Stemmer

        stemmers[language] = Stemmer.Stemmer(language)
    return stemmers[language]


@lru_cache(maxsize=1)
def _isri():
    from whoosh.lang.isri import ISRIStemmer

    class _ISRI(ISRIStemmer):
        # Whoosh 2.7.4's norm(2) uses the replacement r"\u0627", an error since Python 3.7;
        # our normalisation has already turned initial hamza forms into ا.
        def norm(self, num):
            return self.stm

    return _ISRI()


@lru_cache(maxsize=200_000)
def analyse_word(word: str, stem: bool = True, arabic_stemmer: str = "light") -> str | None:
    """The index term for one token, or None for a stop word or a token not worth indexing.

    ``arabic_stemmer`` is "light" (`light_stem_arabic`), "snowball" (PyStemmer's Arabic),
    "isri" (Whoosh's ISRI root stemmer, kept for the comparison in docs/search-quality.md) or
    "none"; English words use PyStemmer's English (Porter2) stemmer when ``stem`` is true.
    """
    if len(word) > MAX_TOKEN_LENGTH:
        return None
    word = normalize_arabic(word).lower()
    if is_arabic(word):
        if word in ARABIC_STOP_WORDS:
            return None
        if not stem or arabic_stemmer == "none":
            return word
        if arabic_stemmer == "snowball":
            return _stemmer("arabic").stemWord(word)
        if arabic_stemmer == "isri":
            return _isri().stem(word)
        if arabic_stemmer == "light+clitics":
            return light_stem_arabic(_strip_clitic(word))
        return light_stem_arabic(word)
    if not word.isascii():
        word = "".join(
            ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch)
        )
    if word in ENGLISH_STOP_WORDS or (len(word) < 2 and not word.isdigit()):
        return None
    if stem and word.isalpha():
        return _stemmer("english").stemWord(word)
    return word
