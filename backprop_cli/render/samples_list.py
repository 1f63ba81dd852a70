"""`backprop samples`: the shipped samples and cases files, a line each, wrapped to the terminal."""

from __future__ import annotations

import re
import textwrap

NAME_WIDTH = 16
# a formula's operators keep their operands: `h = tanh(...)` is never split at its `=`
_OPERATOR_BLANK = re.compile(r" (?=[=+\-*/@^] )|(?<= [=+\-*/@^]) ")


def _entry(label: str, description: str | None, width: int) -> str:
    text = _OPERATOR_BLANK.sub("\xa0", f"{label:<{NAME_WIDTH}} {description or ''}")
    lines = textwrap.wrap(text, width, subsequent_indent=" " * (NAME_WIDTH + 1), break_long_words=False,
                          break_on_hyphens=False)
    return "\n".join(lines).replace("\xa0", " ") + "\n"


def samples_text(programs: list[tuple[str, str | None]], cases: list[tuple[str, str | None]], width: int) -> str:
    """The programs, then the cases files, each name with its description wrapped under itself."""
    text = "".join(_entry(label, description, width) for label, description in programs)
    if cases:
        text += "\n" + textwrap.fill("Cases files (print one with: backprop samples NAME > NAME.toml; then: backprop "
                                     "check --cases NAME.toml):", width, break_long_words=False,
                                     break_on_hyphens=False) + "\n"
        text += "".join(_entry(label, description, width) for label, description in cases)
    return text
