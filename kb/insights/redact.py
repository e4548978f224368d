"""Remove personal data from free text before it is stored (DESIGN.md section 7)."""

from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# A run of digits with the separators people type inside numbers; \d also matches ٠-٩.
DIGIT_RUN = re.compile(r"\+?\d[\d\s().-]*\d|\d")
MIN_REDACTED_DIGITS = 6


def redact(text: str) -> str:
    """Replace e-mail addresses, phone, card and ID-like numbers with placeholders.

    NUL characters go too: PostgreSQL cannot store them in text, and no person types one.
    """
    text = EMAIL.sub("[email]", text.replace("\x00", ""))
    return DIGIT_RUN.sub(_replace_number, text)


def _replace_number(match: re.Match[str]) -> str:
    run = match.group(0)
    digits = sum(char.isdigit() for char in run)
    if digits < MIN_REDACTED_DIGITS:
        return run
    if run.startswith(("+", "0", "٠")) and 8 <= digits <= 15:
        return "[phone]"
    if 13 <= digits <= 19:
        return "[card]"
    return "[number]"
