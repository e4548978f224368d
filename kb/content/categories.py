"""Display names of categories per language (``articles/categories.yml``, optional)."""

from __future__ import annotations

from pathlib import Path

import yaml

from kb.content.articles import SLUG_PATTERN, ContentProblem

CATEGORIES_FILE = "categories.yml"


def load_categories(articles_dir: Path) -> tuple[dict[str, dict[str, str]], list[ContentProblem]]:
    """``{category: {lang: label}}``; a category without a label is shown by its name."""
    path = Path(articles_dir) / CATEGORIES_FILE
    if not path.exists():
        return {}, []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        return {}, [ContentProblem(path, f"cannot be read: {error}")]
    if not isinstance(data, dict):
        return {}, [ContentProblem(path, "must map each category to its labels per language")]
    labels: dict[str, dict[str, str]] = {}
    problems = []
    for category, names in data.items():
        valid = (
            isinstance(category, str)
            and SLUG_PATTERN.match(category)
            and isinstance(names, dict)
            and all(
                isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in names.items()
            )
        )
        if not valid:
            problems.append(
                ContentProblem(path, f"{category!r} must map language codes to non-empty labels")
            )
            continue
        labels[category] = {lang: label.strip() for lang, label in names.items()}
    return labels, problems


def category_label(labels: dict[str, dict[str, str]], category: str, lang: str) -> str:
    return labels.get(category, {}).get(lang) or category.replace("-", " ").capitalize()
