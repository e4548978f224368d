"""The README documents every setting and command the code has."""

from __future__ import annotations

import re
from pathlib import Path

from kb.cli import kb_cli
from kb.config import Defaults

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands():
    first_commands = re.findall(r"^\s*make (\w+)", README, flags=re.MULTILINE)[:2]
    assert first_commands == ["run", "test"]


def test_every_setting_is_documented():
    settings = {name for name in vars(Defaults) if name.isupper()}
    used_elsewhere = set(re.findall(r"\bKB_[A-Z_]+", (ROOT / "Makefile").read_text()))
    used_elsewhere |= set(re.findall(r"\bKB_[A-Z_]+", (ROOT / ".ci" / "run").read_text()))
    for name in {f"KB_{s}" for s in settings} | used_elsewhere:
        assert f"`{name}`" in README, f"{name} is not documented in README.md"


def test_every_kb_command_and_option_is_documented():
    for name, command in kb_cli.commands.items():
        assert f"flask kb {name}" in README, f"`flask kb {name}` is not in README.md"
        for option in command.params:
            for flag in option.opts:
                if flag.startswith("--"):
                    assert flag in README, f"{flag} of `flask kb {name}` is not in README.md"
