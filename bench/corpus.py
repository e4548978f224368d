"""Generate a reproducible synthetic help center (half Arabic, half English) with queries.

    .venv/bin/python bench/corpus.py --articles 10000 --out /tmp/kbbench/10k

Writes, under ``--out DIR``:

- ``articles/{en,ar}/<category>/<slug>.md``: articles in the format of ``articles/`` (front
  matter of DESIGN.md section 4), so ``flask kb check --articles DIR/articles`` accepts them;
  an Arabic article is the translation of the English one with the same slug;
- ``articles/categories.yml`` and ``articles/synonyms.yml``;
- ``queries.jsonl``: customer-style queries, one ``{"id", "query", "lang", "relevant",
  "kind"}`` per line (the format ``flask kb eval --queries`` reads; ``kind`` is ``plain``,
  ``typo`` or ``mixed``);
- ``corpus.json``: the arguments, so a run can be repeated.

The same arguments give byte-identical files. Each article has a few topic words (nouns,
a verb, an adjective, sometimes a product name) that recur in its title, ``questions:``,
summary and body; every other word is drawn from the word lists in ``bench/vocabulary.py``
with a Zipf-like distribution. Queries are built from a target article's title, questions
or topic words, then paraphrased: words dropped, reordered or added, Arabic written the way
customers type it (no hamza, ه for ة), about 15% with one typo and 5% mixing scripts.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import itertools
import json
import math
import random
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Run as a script, this file's folder is first on sys.path: vocabulary.py is found there.
from vocabulary import (
    ARABIC_FUNCTION_WORDS,
    ARABIC_UI,
    ARABIC_WHEN,
    ENGLISH_FUNCTION_WORDS,
    ENGLISH_UI,
    ENGLISH_WHEN,
    Adjective,
    Noun,
    Product,
    Verb,
    Vocabulary,
    load_vocabulary,
)

# Written in DIR: an existing articles folder is replaced only when this marker says that
# this script wrote it (so a mistyped --out never deletes real articles).
MARKER = ".kb-bench-corpus"
DRAFT_SHARE = 0.02
PRODUCT_SHARE = 0.3
TYPO_SHARE = 0.15
MIXED_SHARE = 0.05
# Body length in words: log-normal around 450, clipped to 100-1,500 (most fall in 300-600).
BODY_MEDIAN_WORDS = 450
BODY_SIGMA = 0.45
BODY_MIN_WORDS, BODY_MAX_WORDS = 100, 1500
# Query length in words (1-8), most customers type 2-5.
QUERY_LENGTHS = (1, 2, 3, 4, 5, 6, 7, 8)
QUERY_LENGTH_WEIGHTS = (6, 15, 22, 20, 15, 10, 7, 5)
EPOCH = dt.date(2025, 1, 1)

ENGLISH_LETTERS = "abcdefghijklmnopqrstuvwxyz"
ARABIC_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
_PUNCTUATION = re.compile(r"[?!.,:؟،*]")
_SLOT = re.compile(r"\{(\w+)\}")
_ARTICLE_BEFORE_VOWEL = re.compile(r"\b([Aa]) (?=[aeioAEIO])")
_LAM_BEFORE_DEFINITE = re.compile(r"(^|[\s(])لال")
_SLUG_STOPWORDS = frozenset("a an the to of your my on with for and or is was if i can do".split())


class Zipf:
    """Draws items with probability proportional to 1 / rank ** exponent."""

    def __init__(self, items: Sequence, exponent: float = 1.0):
        self.items = list(items)
        self.bounds = list(
            itertools.accumulate(1.0 / rank**exponent for rank in range(1, len(self.items) + 1))
        )

    def pick(self, rng: random.Random):
        return self.items[bisect.bisect(self.bounds, rng.random() * self.bounds[-1])]


class Template:
    """A text with ``{slot}`` placeholders, parsed once and filled many times."""

    def __init__(self, text: str):
        self.parts = _SLOT.split(text)  # literal, slot, literal, slot, ..., literal

    def fill(self, slots: dict[str, Callable[[], str]]) -> str:
        parts = self.parts
        out = [parts[0]]
        for index in range(1, len(parts), 2):
            out.append(slots[parts[index]]())
            out.append(parts[index + 1])
        return "".join(out)


@dataclass
class Topic:
    """What one article (and its translation) is about."""

    category: str
    nouns: tuple[Noun, ...]  # 2 or 3
    verbs: tuple[Verb, Verb]
    adjective: Adjective
    product: Product | None


@dataclass
class Article:
    lang: str
    slug: str
    topic: Topic
    title: str = ""
    summary: str = ""
    questions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    draft: bool = False
    related: list[Article] = field(default_factory=list)
    words: int = 0
    updated: dt.date = EPOCH


# Writers: one per language, filling templates from an article's topic.


class Writer:
    """Titles, questions, summaries, tags and Markdown bodies in one language."""

    lang = ""
    titles: tuple[str, ...] = ()
    product_titles: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    product_questions: tuple[str, ...] = ()
    summaries: tuple[str, ...] = ()
    intros: tuple[str, ...] = ()
    sentences: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    headings: tuple[str, ...] = ()
    link_sentence = ""

    def __init__(self, vocabulary: Vocabulary, rng: random.Random):
        self.rng = rng
        self.vocabulary = vocabulary
        self.category_nouns = {
            slug: Zipf(nouns, 0.9) for slug, nouns in vocabulary.topic_nouns.items()
        }
        self.general_nouns = Zipf(vocabulary.general_nouns, 1.0)
        self.verbs = Zipf(vocabulary.verbs, 0.9)
        self.adjectives = Zipf(vocabulary.adjectives, 0.9)
        self.article: Article | None = None
        self.parsed: dict[str, Template] = {}

    def template(self, text: str) -> Template:
        if text not in self.parsed:
            self.parsed[text] = Template(text)
        return self.parsed[text]

    def fill(self, text: str) -> str:
        return self.template(text).fill(self.slots)

    def fill_from(self, texts: Sequence[str]) -> str:
        return self.fill(self.rng.choice(texts))

    # Word choice: topic words recur; the rest follow the Zipf distributions.

    def noun(self) -> Noun:
        roll = self.rng.random()
        topic = self.article.topic
        if roll < 0.22:
            return self.rng.choice(topic.nouns)
        if roll < 0.6:
            return self.category_nouns[topic.category].pick(self.rng)
        return self.general_nouns.pick(self.rng)

    def verb(self) -> Verb:
        if self.rng.random() < 0.3:
            return self.rng.choice(self.article.topic.verbs)
        return self.verbs.pick(self.rng)

    def adjective(self) -> Adjective:
        if self.rng.random() < 0.2:
            return self.article.topic.adjective
        return self.adjectives.pick(self.rng)

    # Article parts.

    def write_head(self, article: Article) -> None:
        self.article = article
        topic = article.topic
        if topic.product is not None and self.rng.random() < 0.7:
            article.title = self.fill_from(self.product_titles)
        else:
            article.title = self.fill_from(self.titles)
        count = self.rng.choice((0, 1, 2, 2, 3, 3, 4))
        pool = list(self.questions) + (list(self.product_questions) if topic.product else [])
        article.questions = list(
            dict.fromkeys(self.fill(text) for text in self.rng.sample(pool, count))
        )
        article.summary = self.fill_from(self.summaries)
        article.tags = self.tags(topic)
        article.title = self.finish(article.title)
        article.summary = self.finish(article.summary)
        article.questions = [self.finish(question) for question in article.questions]

    def tags(self, topic: Topic) -> list[str]:
        raise NotImplementedError

    def write_body(self, article: Article) -> str:
        self.article = article
        rng = self.rng
        blocks = [self.paragraph(self.fill_from(self.intros), rng.randint(1, 2))]
        words = _count_words(blocks[0])
        headings = rng.sample(self.headings, len(self.headings))
        links = list(article.related)
        while words < article.words:
            heading = headings.pop() if headings else self.rng.choice(self.headings)
            section = [f"## {self.fill(heading)}"]
            kind = rng.random()
            if kind < 0.3:
                section.append(self.numbered_steps(rng.randint(3, 7)))
            elif kind < 0.45:
                section.append(self.bullets(rng.randint(2, 5)))
            elif kind < 0.5:
                section.append(self.table(rng.randint(2, 4)))
            section.append(self.paragraph("", rng.randint(2, 5)))
            if links and rng.random() < 0.5:
                other = links.pop()
                section.append(
                    self.link_sentence.format(title=other.title, lang=self.lang, slug=other.slug)
                )
            text = "\n\n".join(section)
            size = _count_words(text)
            if words + size > BODY_MAX_WORDS:
                break
            words += size
            blocks.append(text)
        return self.finish("\n\n".join(blocks)) + "\n"

    def paragraph(self, first: str, sentences: int) -> str:
        parts = [first] if first else []
        parts += [self.sentence() for _ in range(sentences)]
        return " ".join(parts)

    def sentence(self) -> str:
        return self.fill_from(self.sentences)

    def numbered_steps(self, count: int) -> str:
        return "\n".join(f"{n}. {self.fill_from(self.steps)}" for n in range(1, count + 1))

    def bullets(self, count: int) -> str:
        return "\n".join(f"- {self.sentence()}" for _ in range(count))

    def table(self, rows: int) -> str:
        header = f"| {self.fill('{N}')} | {self.fill('{n}')} |\n|---|---|"
        lines = [f"| {self.fill('{n}')} | {self.fill('{when}')} |" for _ in range(rows)]
        return "\n".join([header, *lines])

    def finish(self, text: str) -> str:
        return text


class EnglishWriter(Writer):
    lang = "en"
    titles = (
        "How to {tv} your {t}",
        "{Tving} a {t} {t2}",
        "Why was my {t} {tvp}?",
        "{T} {t2} not {tvp}",
        "{Tv} the {t2} of your {t}",
        "What to do if your {t} is {ta}",
        "{T} {t2}: {tv} or {tv2}",
        "Can I {tv} a {ta} {t}?",
        "{Ta} {t} {t2}",
        "{Tv} {t} and {t2} {N}",
    )
    product_titles = (
        "{Tv} your {t} with {p}",
        "{p} {t} {t2} not {tvp}",
        "Using {p} for {T}",
        "How to {tv} a {t} on {p}",
    )
    questions = (
        "how do i {tv} my {t}",
        "how to {tv} {t} {t2}",
        "can i {tv} my {t} after it was {tv2p}",
        "why was my {t} {tvp}",
        "my {t} is {ta}",
        "where is my {t} {t2}",
        "i want to {tv} my {t}",
        "{t} {t2} {tving} problem",
        "{tv} {t} without {t2}?",
        "is there a fee to {tv} a {t}",
        "{ta} {t} what can i do",
    )
    product_questions = (
        "{tv} {t} with {p}",
        "{p} {t} not working",
        "can i use {p} to {tv} my {t}",
    )
    summaries = (
        "{Tv} your {t} and {tv2} the {t2} {when}.",
        "What happens to your {t} when it is {tvp}, and how to {tv} it.",
        "Everything about {T} and {T2}: {tving}, fees and times.",
        "When you can {tv} a {ta} {t}, and what we need from you.",
    )
    intros = (
        "This article explains how to {tv} your {t} and what to do when the {t2} is {ta}.",
        "You can {tv} a {t} from the app or the website {when}.",
        "If your {t} was {tvp}, here is what happens to the {t2} next.",
    )
    sentences = (
        "You can {v} your {n} from the {n} page.",
        "To {v} a {n}, open the app and go to {n}.",
        "If your {n} is {a}, {v} the {n} and try again.",
        "We {vp} your {n} {when}.",
        "The {n} {v3} {when} after you {v} the {n}.",
        "A {a} {n} cannot be {vp} once the {n} is {vp}.",
        "Your {n} will {v} a {n} {when}.",
        "Make sure the {n} on your {n} is {a}.",
        "Some {N} are not {a} for {N}.",
        "When you {v} a {n}, we send a {n} to your {n}.",
        "Check the {n} and the {n} before you {v} it.",
        "{N} with {a} {N} may take longer to {v}.",
        "This {n} applies to {N} paid with {p}.",
        "You will see the {n} in your {n} once it is {vp}.",
        "Contact our {n} team if the {n} is still {a}.",
        "It is not possible to {v} a {n} that was {vp} {when}.",
        "Each {n} has its own {n} and {n}.",
        "{Ving} a {n} does not change your {n}.",
        "Keep the {n} until the {n} is {vp}.",
        "Only the {n} who {vp} the {n} can {v} it.",
        "The {t} is {vp} {when} and you get a {n} by {n}.",
        "You can {tv} the {t} as long as the {t2} is {ta}.",
        "{T} {v3} to every {n} of your {n}.",
    )
    steps = (
        "Open the **{ui}** page.",
        "Tap **{ui}**.",
        "Choose the {n} you want to {v}.",
        "Enter your {n} and the {n}.",
        "Select **{ui}** and confirm.",
        "Wait for the {n} to {v}.",
        "Check that the {n} is {a}.",
        "Tap **{Tv} {t}** and follow the steps.",
    )
    headings = (
        "How to {tv} your {t}",
        "Before you start",
        "If the {t} is {ta}",
        "What happens next",
        "Fees and times",
        "Frequently asked questions",
        "{Tving} {T} with {p}",
        "Things to check",
        "When we {tv} your {t}",
        "Still need help?",
    )
    link_sentence = "Read more in [{title}](/{lang}/articles/{slug})."

    def __init__(self, vocabulary: Vocabulary, rng: random.Random):
        super().__init__(vocabulary, rng)
        choice = rng.choice
        topic = lambda: self.article.topic  # noqa: E731
        self.slots: dict[str, Callable[[], str]] = {
            "n": lambda: self.noun().en,
            "N": lambda: self.noun().en_plural,
            "v": lambda: self.verb().en,
            "v3": lambda: self.verb().en_third,
            "vp": lambda: self.verb().en_past,
            "Ving": lambda: self.verb().en_ing.capitalize(),
            "a": lambda: self.adjective().en,
            "when": lambda: choice(ENGLISH_WHEN),
            "ui": lambda: choice(ENGLISH_UI),
            "p": lambda: topic().product.latin if topic().product else self.noun().en_plural,
            "t": lambda: topic().nouns[0].en,
            "T": lambda: topic().nouns[0].en.capitalize(),
            "t2": lambda: topic().nouns[1].en,
            "T2": lambda: topic().nouns[1].en_plural,
            "tv": lambda: topic().verbs[0].en,
            "Tv": lambda: topic().verbs[0].en.capitalize(),
            "tvp": lambda: topic().verbs[0].en_past,
            "tving": lambda: topic().verbs[0].en_ing,
            "Tving": lambda: topic().verbs[0].en_ing.capitalize(),
            "tv2": lambda: topic().verbs[1].en,
            "tv2p": lambda: topic().verbs[1].en_past,
            "ta": lambda: topic().adjective.en,
            "Ta": lambda: topic().adjective.en.capitalize(),
        }

    def tags(self, topic: Topic) -> list[str]:
        tags = [noun.en for noun in topic.nouns] + [topic.verbs[0].en]
        if topic.product:
            tags.append(topic.product.latin.lower())
        return tags[: self.rng.randint(1, 4)]

    def write_body(self, article: Article) -> str:
        body = super().write_body(article)
        product = article.topic.product
        if product is not None:
            # Gulf help centres name local brands in both scripts once: "mada (مدى)".
            body = f"You can use {product.latin} ({product.arabic}) for this.\n\n{body}"
        return body

    def sentence(self) -> str:
        text = super().sentence()
        return text[0].upper() + text[1:]

    def finish(self, text: str) -> str:
        return _ARTICLE_BEFORE_VOWEL.sub(r"\1n ", text)


class ArabicWriter(Writer):
    lang = "ar"
    titles = (
        "كيفية {tm} {dt}",
        "{tm} {dt} {dta}",
        "لماذا تم {tm} {tmy}؟",
        "لم يتم {tm} {dt}",
        "{tm} {t2} {dt}",
        "ماذا أفعل إذا كان {dt} {ta}؟",
        "{dt} و{dt2}: {tm} و{tm2}",
        "هل يمكنني {tm} {t} {ta}؟",
        "{t} {ta} و{tm} {dt2}",
    )
    product_titles = (
        "{tm} {dt} عبر {p}",
        "مشكلة {tm} {dt} في {p}",
        "استخدام {p} ل{tm} {dt}",
        "كيفية {tm} {dt} على {p}",
    )
    questions = (
        "كيف {tv1} {dt}",
        "ابي {tm} {tmy}",
        "ليش {dt} {ta}",
        "وين {tmy}",
        "هل اقدر {tm} {dt} بعد {tm2}",
        "مشكلة في {tm} {dt}",
        "{dt} ما {tv3}",
        "طريقة {tm} {t2} {dt}",
        "{tmy} {ta} وش اسوي",
        "كم تكلفة {tm} {dt}",
    )
    product_questions = (
        "{tm} {dt} عن طريق {p}",
        "{p} ما يشتغل مع {dt}",
        "هل اقدر استخدم {p} ل{tm} {tmy}",
    )
    summaries = (
        "طريقة {tm} {dt} و{tm2} {dt2} {when}.",
        "ماذا يحدث ل{dt} عند {tm}، وكيف تقوم ب{tm}.",
        "كل ما تحتاج معرفته عن {dt} و{dt2}.",
        "متى يمكنك {tm} {t} {ta}، وما نحتاجه منك.",
    )
    intros = (
        "يشرح هذا المقال طريقة {tm} {dt} وما يجب فعله إذا كان {dt2} {ta}.",
        "يمكنك {tm} {dt} من التطبيق أو الموقع {when}.",
        "إذا تم {tm} {tyour} فهذا ما يحدث ل{dt2} بعد ذلك.",
    )
    sentences = (
        "يمكنك {m} {dn} من صفحة {dn}.",
        "ل{m} {dn} افتح التطبيق واذهب إلى {dn}.",
        "إذا كان {dn} {a} يمكنك {m} {dn} مرة أخرى.",
        "نقوم ب{m} {dn} {when}.",
        "يتم {m} {dn} {when} بعد {m} {dn}.",
        "لا يمكن {m} {dn} بعد {m} {dn}.",
        "سيصلك {n} على {nyour} {when}.",
        "تأكد من أن {dn} في {nyour} {a}.",
        "بعض {dN} غير متوفرة ل{dn}.",
        "عند {m} {dn} نرسل لك {n} على {nyour}.",
        "تحقق من {dn} و{dn} قبل {m} {dn}.",
        "{dN} {a} قد تحتاج وقتا أطول.",
        "ينطبق هذا على {dN} المدفوعة عبر {p}.",
        "ستظهر {dn} في {nyour} بعد {m} {dn}.",
        "تواصل مع فريق {dn} إذا بقي {dn} {a}.",
        "لكل {n} {n} خاص به.",
        "{m} {dn} لا يغير {nyour}.",
        "احتفظ ب{dn} حتى يتم {m} {dn}.",
        "يستغرق {m} {dn} {when}.",
        "و{v3} {dn} {when} عند {m} {dn}.",
        "يتم {tm} {dt} {when} وتصلك رسالة على {nyour}.",
        "يمكنك {tm} {dt} ما دام {dt2} {ta}.",
        "{dts} {da} متوفرة ل{dN} و{dN}.",
    )
    steps = (
        "افتح صفحة **{ui}**.",
        "اضغط على **{ui}**.",
        "اختر {dn} ثم اضغط **{ui}**.",
        "أدخل {nyour} و{dn}.",
        "اختر **{ui}** ثم أكد.",
        "انتظر حتى يتم {m} {dn}.",
        "تأكد من أن {dn} {a}.",
        "اضغط **{tm} {dt}** واتبع الخطوات.",
    )
    headings = (
        "كيفية {tm} {dt}",
        "قبل أن تبدأ",
        "إذا كان {dt} {ta}",
        "ماذا يحدث بعد ذلك",
        "الرسوم والمدة",
        "أسئلة شائعة",
        "{tm} {dt} عبر {p}",
        "أمور يجب التحقق منها",
        "عند {tm} {tyour}",
        "هل ما زلت بحاجة إلى مساعدة؟",
    )
    link_sentence = "اقرأ أيضا [{title}](/{lang}/articles/{slug})."

    def __init__(self, vocabulary: Vocabulary, rng: random.Random):
        super().__init__(vocabulary, rng)
        choice = rng.choice
        topic = lambda: self.article.topic  # noqa: E731
        # Gender of the last noun written, for the agreement of the adjective that follows.
        self.feminine = False
        self.slots: dict[str, Callable[[], str]] = {
            "n": lambda: self._noun(self.noun().ar),
            "N": lambda: self._noun(self.noun().ar_plural, plural=True),
            "dn": lambda: self._noun(_definite(self.noun().ar)),
            "dN": lambda: self._noun(_definite(self.noun().ar_plural), plural=True),
            "nyour": lambda: self._possessive(self.noun().ar, "ك"),
            "m": lambda: self.verb().ar_noun,
            "v3": lambda: self.verb().ar_third,
            "a": lambda: self._adjective(self.adjective(), definite=False),
            "da": lambda: self._adjective(self.adjective(), definite=True),
            "when": lambda: choice(ARABIC_WHEN),
            "ui": lambda: choice(ARABIC_UI),
            "p": lambda: self._product(),
            "t": lambda: self._noun(topic().nouns[0].ar),
            "dt": lambda: self._noun(_definite(topic().nouns[0].ar)),
            "dts": lambda: self._noun(_definite(topic().nouns[0].ar_plural), plural=True),
            "tmy": lambda: self._possessive(topic().nouns[0].ar, "ي"),
            "tyour": lambda: self._possessive(topic().nouns[0].ar, "ك"),
            "t2": lambda: topic().nouns[1].ar,
            "dt2": lambda: self._noun(_definite(topic().nouns[1].ar)),
            "tm": lambda: topic().verbs[0].ar_noun,
            "tm2": lambda: topic().verbs[1].ar_noun,
            "tv1": lambda: topic().verbs[0].ar_first,
            "tv3": lambda: topic().verbs[0].ar_third,
            "ta": lambda: self._adjective(topic().adjective, definite=False),
            "dta": lambda: self._adjective(topic().adjective, definite=True),
        }

    def _noun(self, word: str, plural: bool = False, base: str = "") -> str:
        # Non-human plurals take feminine agreement in Arabic; ``base`` is the word before a
        # possessive ending turned its ة into ت.
        self.feminine = plural or (base or word).split(" ")[0].endswith("ة")
        return word

    def _possessive(self, word: str, ending: str) -> str:
        return self._noun(_possessive(word, ending), base=word)

    def _adjective(self, adjective: Adjective, definite: bool) -> str:
        word = adjective.ar_feminine if self.feminine else adjective.ar
        return _definite(word) if definite else word

    def _product(self) -> str:
        product = self.article.topic.product
        if product is None:
            return self._noun(_definite(self.noun().ar))
        return product.latin if self.rng.random() < 0.7 else product.arabic

    def tags(self, topic: Topic) -> list[str]:
        tags = [noun.ar for noun in topic.nouns] + [topic.verbs[0].ar_noun]
        if topic.product:
            tags.append(topic.product.arabic)
        return tags[: self.rng.randint(1, 4)]

    def finish(self, text: str) -> str:
        # ل + ال is written لل: "للطلب", not "لالطلب".
        return _LAM_BEFORE_DEFINITE.sub(r"\1لل", text)


def _definite(word: str) -> str:
    """The word with the article: الطلب; a construct (بطاقة هدية) takes it on its last word."""
    if " " in word:
        first, rest = word.split(" ", 1)
        return word if rest.startswith("ال") else f"{first} ال{rest}"
    return "ال" + word


def _possessive(word: str, ending: str) -> str:
    """The word with a possessive ending (ي my, ك your): بطاقة -> بطاقتي, حساب -> حسابك."""
    if " " in word:
        first, rest = word.split(" ", 1)
        if first.startswith("ال"):
            return word
        if rest.startswith("ال"):
            return f"{first} {_possessive(rest[2:], ending)}"
        return _definite(word)
    if word.endswith("ة"):
        return word[:-1] + "ت" + ending
    if word.endswith(("ى", "ا", "ء")):
        return _definite(word)
    return word + ending


def _count_words(text: str) -> int:
    return text.count(" ") + text.count("\n") + 1


# Planning: topics, slugs, drafts and related articles, before any text is written.


def plan_topics(count: int, vocabulary: Vocabulary, rng: random.Random) -> list[Topic]:
    categories = Zipf(list(vocabulary.categories), 0.6)
    category_nouns = {slug: Zipf(nouns, 0.7) for slug, nouns in vocabulary.topic_nouns.items()}
    general_nouns = Zipf(vocabulary.general_nouns, 1.0)
    verbs = Zipf(vocabulary.verbs, 0.8)
    adjectives = Zipf(vocabulary.adjectives, 0.8)
    products = Zipf(vocabulary.products, 0.7)
    topics = []
    for _ in range(count):
        category = categories.pick(rng)
        first = category_nouns[category].pick(rng)
        nouns = [first]
        while len(nouns) < 2 or (len(nouns) < 3 and rng.random() < 0.4):
            pool = category_nouns[category] if rng.random() < 0.6 else general_nouns
            noun = pool.pick(rng)
            if noun not in nouns:
                nouns.append(noun)
        verb = verbs.pick(rng)
        second_verb = verbs.pick(rng)
        product = products.pick(rng) if rng.random() < PRODUCT_SHARE else None
        topics.append(
            Topic(category, tuple(nouns), (verb, second_verb), adjectives.pick(rng), product)
        )
    return topics


def slugify(title: str) -> str:
    words = re.findall(r"[a-z0-9]+", title.lower())
    kept = [word for word in words if word not in _SLUG_STOPWORDS] or words
    return "-".join(kept[:6]) or "article"


def body_words(rng: random.Random) -> int:
    words = int(rng.lognormvariate(math.log(BODY_MEDIAN_WORDS), BODY_SIGMA))
    return min(BODY_MAX_WORDS, max(BODY_MIN_WORDS, words))


def generate_articles(count: int, rng: random.Random) -> dict[str, list[Article]]:
    """Plan ``count`` articles (ceil(count / 2) English, the rest their Arabic translations):
    topics, titles, questions, summaries, tags, drafts and related articles; no bodies yet."""
    vocabulary = load_vocabulary()
    english_count, arabic_count = (count + 1) // 2, count // 2
    topics = plan_topics(english_count, vocabulary, rng)
    writers = {"en": EnglishWriter(vocabulary, rng), "ar": ArabicWriter(vocabulary, rng)}
    articles: dict[str, list[Article]] = {"en": [], "ar": []}
    used_slugs: dict[str, int] = {}
    for number, topic in enumerate(topics):
        english = Article("en", "", topic)
        writers["en"].write_head(english)
        slug = slugify(english.title)
        used_slugs[slug] = used_slugs.get(slug, 0) + 1
        english.slug = slug if used_slugs[slug] == 1 else f"{slug}-{used_slugs[slug]}"
        articles["en"].append(english)
        if number < arabic_count:
            arabic = Article("ar", english.slug, topic)
            writers["ar"].write_head(arabic)
            articles["ar"].append(arabic)
    for in_lang in articles.values():
        by_category: dict[str, list[Article]] = {}
        for article in in_lang:
            article.draft = rng.random() < DRAFT_SHARE
            article.words = body_words(rng)
            article.updated = EPOCH + dt.timedelta(days=rng.randrange(600))
            by_category.setdefault(article.topic.category, []).append(article)
        for article in in_lang:
            neighbours = by_category[article.topic.category]
            picks = rng.sample(neighbours, min(len(neighbours), rng.choice((0, 1, 2, 3))))
            article.related = [a for a in picks if a is not article and not a.draft]
    return articles


def article_file(article: Article, body: str) -> str:
    """The Markdown file: front matter (JSON strings are valid YAML scalars), then body."""

    def quoted(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)

    lines = [
        "---",
        f"title: {quoted(article.title)}",
        f"lang: {article.lang}",
        f"summary: {quoted(article.summary)}",
        f"category: {article.topic.category}",
    ]
    if article.tags:
        lines.append(f"tags: [{', '.join(quoted(tag) for tag in article.tags)}]")
    if article.questions:
        lines.append("questions:")
        lines += [f"  - {quoted(question)}" for question in article.questions]
    if article.draft:
        lines.append("status: draft")
    lines.append(f"updated: {article.updated.isoformat()}")
    if article.related:
        lines.append(f"related: [{', '.join(other.slug for other in article.related)}]")
    lines += ["---", "", body]
    return "\n".join(lines)


# Queries.


class QueryMaker:
    """Customer-style queries aimed at one article, paraphrased from what it says."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.function_words = {
            "en": frozenset(ENGLISH_FUNCTION_WORDS)
            | {"was", "can", "i", "want", "there", "is", "what", "it"},
            "ar": frozenset(ARABIC_FUNCTION_WORDS)
            | {"كيف", "كيفية", "ليش", "وين", "هل", "ابي", "اقدر", "ماذا", "لماذا", "يتم"}
            | {"أفعل", "يمكنني", "وش", "اسوي", "كم"},
        }
        self.added_words = {
            "en": ("how", "my", "to", "the", "help", "please", "how do i", "can't"),
            "ar": ("كيف", "ليش", "ابي", "وين", "عندي", "ممكن", "ساعدوني"),
        }

    def make(self, article: Article, kind: str) -> str:
        rng = self.rng
        lang = article.lang
        source = rng.random()
        if source < 0.35 or (source < 0.7 and not article.questions):
            text = article.title
        elif source < 0.7:
            text = rng.choice(article.questions)
        else:
            text = " ".join(self.topic_words(article))
        words = [w for w in _PUNCTUATION.sub(" ", text).split() if w]
        words = self.paraphrase(words, lang)
        if lang == "ar":
            words = self.customer_spelling(words)
        elif rng.random() < 0.8:
            words = [word.lower() for word in words]
        if kind == "mixed":
            words = self.mix_scripts(words, article)
        if kind == "typo":
            words = self.add_typo(words, article)
        return " ".join(words)

    def topic_words(self, article: Article) -> list[str]:
        topic = article.topic
        if article.lang == "en":
            words = [topic.verbs[0].en, topic.nouns[0].en, topic.nouns[1].en, topic.adjective.en]
        else:
            words = [topic.verbs[0].ar_noun, _definite(topic.nouns[0].ar), topic.nouns[1].ar]
            words.append(topic.adjective.ar)
        if topic.product and self.rng.random() < 0.5:
            words.append(topic.product.latin if article.lang == "en" else topic.product.arabic)
        count = self.rng.randint(1, len(words))
        return self.rng.sample(words, count)

    def paraphrase(self, words: list[str], lang: str) -> list[str]:
        rng = self.rng
        function = self.function_words[lang]
        kept = [w for w in words if w.lower() not in function or rng.random() < 0.5]
        words = kept or words[:1]
        content = [i for i, w in enumerate(words) if w.lower() not in function]
        if len(content) > 2 and rng.random() < 0.25:
            del words[rng.choice(content)]
        if len(words) > 1 and rng.random() < 0.2:
            i, j = rng.sample(range(len(words)), 2)
            words[i], words[j] = words[j], words[i]
        if rng.random() < 0.25:
            words.insert(0, rng.choice(self.added_words[lang]))
        wanted = rng.choices(QUERY_LENGTHS, QUERY_LENGTH_WEIGHTS)[0]
        words = " ".join(words).split()
        while len(words) > max(wanted, 1):
            function_at = [i for i, w in enumerate(words) if w.lower() in function]
            del words[rng.choice(function_at) if function_at else rng.randrange(len(words))]
        return words[:8]

    def customer_spelling(self, words: list[str]) -> list[str]:
        rng = self.rng
        if rng.random() < 0.35:
            words = [re.sub("[أإآ]", "ا", word) for word in words]
        if rng.random() < 0.15:
            words = [word[:-1] + "ه" if word.endswith("ة") else word for word in words]
        definite = [i for i, w in enumerate(words) if w.startswith("ال") and len(w) > 4]
        if definite and rng.random() < 0.2:
            i = rng.choice(definite)
            words[i] = words[i][2:]
        return words

    def mix_scripts(self, words: list[str], article: Article) -> list[str]:
        """An Arabic query naming the product in Latin letters, or an English one in Arabic."""
        product = article.topic.product
        if article.lang == "ar":
            wanted, other = product.latin, product.arabic
        else:
            wanted, other = product.arabic, product.latin
        text = " ".join(words)
        if wanted in text:
            return words
        for form in (other, other.lower()):
            if form in text:
                return text.replace(form, wanted).split()[:8]
        return (words[:7] + [wanted]) if self.rng.random() < 0.7 else [wanted] + words[:7]

    def add_typo(self, words: list[str], article: Article) -> list[str]:
        """One edit (drop, add, change or swap a letter) in a longer word, not the first letter."""
        rng = self.rng
        product = article.topic.product
        names = set(product.latin.lower().split()) if product else set()
        candidates = [
            i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha() and w.lower() not in names
        ]
        if not candidates:
            return words
        i = rng.choice(candidates)
        word = words[i]
        letters = ARABIC_LETTERS if article.lang == "ar" else ENGLISH_LETTERS
        for _ in range(10):
            at = rng.randrange(1, len(word))
            edit = rng.randrange(4)
            if edit == 0:
                typo = word[:at] + word[at + 1 :]
            elif edit == 1:
                typo = word[:at] + rng.choice(letters) + word[at:]
            elif edit == 2:
                typo = word[:at] + rng.choice(letters) + word[at + 1 :]
            elif at < len(word) - 1:
                typo = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
            else:
                continue
            if typo != word:
                words = list(words)
                words[i] = typo
                return words
        return words


def generate_queries(
    articles: dict[str, list[Article]], count: int, rng: random.Random
) -> list[dict]:
    maker = QueryMaker(rng)
    targets = {lang: [a for a in items if not a.draft] for lang, items in articles.items()}
    with_product = {lang: [a for a in items if a.topic.product] for lang, items in targets.items()}
    languages = [lang for lang in ("en", "ar") if targets[lang]]
    queries = []
    for number in range(count):
        lang = languages[number % len(languages)]
        roll = rng.random()
        if roll < MIXED_SHARE and with_product[lang]:
            kind, article = "mixed", rng.choice(with_product[lang])
        else:
            kind = "typo" if roll < MIXED_SHARE + TYPO_SHARE else "plain"
            article = rng.choice(targets[lang])
        text = maker.make(article, kind)
        queries.append(
            {
                "id": f"q{number + 1:05d}",
                "query": text,
                "lang": lang,
                "relevant": [article.slug],
                "kind": kind,
            }
        )
    return queries


# Output.


def synonyms_file() -> str:
    """A few synonym groups over the benchmark's own words, like a writer would keep."""
    groups = [
        ["coupon", "voucher", "promo code"],
        ["courier", "driver"],
        ["mobile", "phone"],
        ["problem", "error", "fault"],
        ["refund", "money back"],
        ["كوبون", "قسيمة", "كود الخصم"],
        ["مندوب", "سائق"],
        ["جوال", "هاتف"],
        ["مشكلة", "خطأ", "خلل"],
        ["استرداد", "استرجاع"],
    ]
    cross = [["mada", "مدى"], ["tabby", "تابي"], ["iphone", "آيفون"], ["paypal", "باي بال"]]
    lines = ["# Synonyms of the synthetic benchmark help center (bench/corpus.py).", "groups:"]
    lines += [f"  - [{', '.join(group)}]" for group in groups]
    lines += [f"  - {{terms: [{', '.join(g)}], across_languages: true}}" for g in cross]
    return "\n".join(lines) + "\n"


def categories_file(vocabulary: Vocabulary) -> str:
    lines = ["# Category names of the synthetic benchmark help center (bench/corpus.py)."]
    for slug, (english, arabic) in vocabulary.categories.items():
        lines.append(f"{slug}: {{en: {json.dumps(english)}, ar: {json.dumps(arabic)}}}")
    return "\n".join(lines) + "\n"


def prepare_output(out: Path) -> Path:
    """An empty ``out/articles``; refuse to replace a folder this script did not write."""
    articles_dir = out / "articles"
    if articles_dir.exists():
        if not (out / MARKER).exists():
            raise SystemExit(
                f"{articles_dir} exists and was not written by bench/corpus.py; "
                "choose another --out"
            )
        shutil.rmtree(articles_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by bench/corpus.py\n", encoding="utf-8")
    articles_dir.mkdir()
    return articles_dir


def write_corpus(out: Path, count: int, seed: int, query_count: int) -> dict:
    """Generate and write everything; return a summary."""
    rng = random.Random(seed)
    articles = generate_articles(count, rng)
    articles_dir = prepare_output(out)
    vocabulary = load_vocabulary()
    writers = {"en": EnglishWriter(vocabulary, rng), "ar": ArabicWriter(vocabulary, rng)}
    words = []
    for lang in ("en", "ar"):
        for article in articles[lang]:
            body = writers[lang].write_body(article)
            words.append(_count_words(body))
            folder = articles_dir / lang / article.topic.category
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{article.slug}.md").write_text(
                article_file(article, body), encoding="utf-8"
            )
    (articles_dir / "categories.yml").write_text(categories_file(vocabulary), encoding="utf-8")
    (articles_dir / "synonyms.yml").write_text(synonyms_file(), encoding="utf-8")
    queries = generate_queries(articles, query_count, rng)
    with (out / "queries.jsonl").open("w", encoding="utf-8") as handle:
        for query in queries:
            handle.write(json.dumps(query, ensure_ascii=False) + "\n")
    summary = {
        "generator": "bench/corpus.py",
        "articles": count,
        "seed": seed,
        "queries": query_count,
        "by_lang": {lang: len(items) for lang, items in articles.items()},
        "drafts": sum(a.draft for items in articles.values() for a in items),
        "categories": len({a.topic.category for a in articles["en"]}),
    }
    (out / "corpus.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    words.sort()
    summary["body_words"] = {
        "min": words[0] if words else 0,
        "median": words[len(words) // 2] if words else 0,
        "max": words[-1] if words else 0,
    }
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, required=True, help="Articles in all (>= 2).")
    parser.add_argument("--out", type=Path, required=True, help="Output directory.")
    parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
    parser.add_argument("--queries", type=int, default=1000, help="Queries (default 1000).")
    args = parser.parse_args(argv)
    if args.articles < 2 or args.queries < 0:
        parser.error("--articles must be at least 2 and --queries at least 0")
    started = time.perf_counter()
    summary = write_corpus(args.out, args.articles, args.seed, args.queries)
    seconds = time.perf_counter() - started
    by_lang = summary["by_lang"]
    print(
        f"Wrote {summary['articles']} articles ({by_lang['en']} en, {by_lang['ar']} ar, "
        f"{summary['drafts']} drafts, {summary['categories']} categories; body words "
        f"min {summary['body_words']['min']}, median {summary['body_words']['median']}, "
        f"max {summary['body_words']['max']}) and {summary['queries']} queries "
        f"to {args.out} in {seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
