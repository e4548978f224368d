"""The writers' synonym groups (``articles/synonyms.yml``).

A group is a list of terms (``- [refund, reimbursement, money back]``) or a mapping
``{terms: [...], across_languages: true}``. Search expands a term of a plain group only to
the terms written in the same script (Arabic to Arabic, Latin to Latin); a group marked
``across_languages`` also expands between scripts (``{terms: [otp, رمز التحقق], ...}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from kb.content.articles import ContentProblem

SYNONYMS_FILE = "synonyms.yml"
_GROUP_KEYS = frozenset({"terms", "across_languages"})


@dataclass(frozen=True)
class SynonymGroup:
    """Words customers use for the same thing (lower case, stripped)."""

    terms: tuple[str, ...]
    across_languages: bool = False


def load_synonyms(articles_dir: Path) -> tuple[list[SynonymGroup], list[ContentProblem]]:
    """Read the synonym groups; a missing file means no synonyms.

    A term may be in only one plain group (and in only one cross-language group): a
    cross-language group usually links words that also have plain groups of their own.
    """
    path = Path(articles_dir) / SYNONYMS_FILE
    if not path.exists():
        return [], []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        return [], [ContentProblem(path, f"cannot be read: {error}")]
    if (
        not isinstance(data, dict)
        or set(data) != {"groups"}
        or not isinstance(data["groups"], list)
    ):
        return [], [ContentProblem(path, "must contain exactly one key, 'groups', holding a list")]
    groups: list[SynonymGroup] = []
    problems: list[ContentProblem] = []
    first_group: dict[tuple[str, bool], int] = {}
    for number, entry in enumerate(data["groups"], start=1):
        group, message = _parse_group(entry, number)
        if group is None:
            problems.append(ContentProblem(path, message))
            continue
        for term in group.terms:
            seen = first_group.setdefault((term, group.across_languages), number)
            if seen != number:
                problems.append(
                    ContentProblem(path, f"{term!r} is in group {seen} and group {number}")
                )
        groups.append(group)
    return groups, problems


def _parse_group(entry: object, number: int) -> tuple[SynonymGroup | None, str]:
    across = False
    if isinstance(entry, dict):
        unknown = sorted(str(key) for key in entry if key not in _GROUP_KEYS)
        if unknown:
            return None, (
                f"group {number} has unknown key(s) {', '.join(unknown)}"
                " (allowed: terms, across_languages)"
            )
        across = entry.get("across_languages", False)
        if not isinstance(across, bool):
            return None, f"group {number}: across_languages must be true or false"
        entry = entry.get("terms")
    if (
        not isinstance(entry, list)
        or len(entry) < 2
        or not all(isinstance(term, str) and term.strip() for term in entry)
    ):
        return None, f"group {number} must list two or more terms"
    terms = tuple(dict.fromkeys(" ".join(term.split()).lower() for term in entry))
    return SynonymGroup(terms, across), ""
