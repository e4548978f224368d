"""The writers' synonym groups (``articles/synonyms.yml``)."""

from __future__ import annotations

from pathlib import Path

import yaml

from kb.content.articles import ContentProblem

SYNONYMS_FILE = "synonyms.yml"


def load_synonyms(articles_dir: Path) -> tuple[list[tuple[str, ...]], list[ContentProblem]]:
    """Read the synonym groups; a missing file means no synonyms."""
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
    groups: list[tuple[str, ...]] = []
    problems: list[ContentProblem] = []
    first_group: dict[str, int] = {}
    for number, group in enumerate(data["groups"], start=1):
        if (
            not isinstance(group, list)
            or len(group) < 2
            or not all(isinstance(term, str) and term.strip() for term in group)
        ):
            problems.append(ContentProblem(path, f"group {number} must list two or more terms"))
            continue
        terms = tuple(term.strip().lower() for term in group)
        for term in terms:
            if term in first_group:
                problems.append(
                    ContentProblem(
                        path, f"{term!r} is in group {first_group[term]} and group {number}"
                    )
                )
            first_group.setdefault(term, number)
        groups.append(terms)
    return groups, problems
