"""Line breaking that never cuts a token: formulas at their operators, prose between words.

Rich wraps at spaces and folds what is left mid-word, which cuts `tanh(3/2)` in two and leaves a
Chinese sentence (which has no spaces) ragged. These wrap to a width themselves and hand Rich
lines that fit.
"""

from __future__ import annotations

from bisect import bisect_right

import re

from rich.cells import cell_len

# A break is allowed before ` + ` / ` - ` (the operator starts the continuation line), after `*`
# (not inside `**`), and after `, ` in a call. Deeper brackets are the last choice.
_BINARY = (" + ", " - ")


def formula_breaks(text: str) -> list[tuple[int, float]]:
    """(position, bracket depth) where `text` may be broken: the line ends before `position`
    (spaces there are dropped) and the next starts at it."""
    breaks: list[tuple[int, float]] = []
    depth = 0
    for i, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == " " and text[i:i + 3] in _BINARY and i > 0:
            breaks.append((i + 1, depth))  # the line ends at the space; `+ …` starts the next
        elif char == "*" and text[i - 1:i] != "*" and text[i + 1:i + 2] != "*" and 0 < i < len(text) - 1:
            breaks.append((i + 1, depth + 0.5))  # a sum's terms part before a product's factors
        elif char == "," and text[i + 1:i + 2] == " ":
            breaks.append((i + 2, depth))
    return breaks


def wrap_formula(text: str, width: int) -> list[str]:
    """The formula in lines of at most `width` cells, broken only at operators, the shallowest
    bracket depth that fits preferred. A piece with no break inside that is longer than `width`
    stays whole (a long line beats a cut number)."""
    lines: list[str] = []
    breaks = formula_breaks(text)
    positions = [p for p, _ in breaks]
    start = 0
    while cell_len(text[start:]) > width:
        # a line of `width` cells holds at most `width` + 1 characters (a cell per character, at
        # least, and the space dropped at its end): only those breaks are measured
        first, last = bisect_right(positions, start), bisect_right(positions, start + width + 1)
        fitting = [(p, d) for p, d in breaks[first:last] if cell_len(text[start:p].rstrip()) <= width]
        if not fitting:
            later = positions[first:first + 1]
            if not later:
                break
            cut = later[0]  # nothing fits: the shortest overlong piece
        else:
            shallowest = min(d for _, d in fitting)
            cut = max(p for p, d in fitting if d == shallowest)
            if cut - start < width // 3:  # a shallow break that leaves the line nearly empty: go deeper
                cut = max(p for p, _ in fitting)
        lines.append(text[start:cut].rstrip())
        start = cut
    lines.append(text[start:])
    return lines


def formula_lines(name: str, formula: str, width: int) -> list[str]:
    """`∂L/∂w = …` in lines of `width` cells, broken at operators; continuation lines hang
    under the formula's start (or 4 spaces in, when the name is long)."""
    lead = f"{name} = "
    indent = cell_len(lead) if width - cell_len(lead) >= 24 else 4
    first = wrap_formula(formula, max(width - cell_len(lead), 8))[0]
    lines = [lead + first]
    rest = formula[len(first):].lstrip()
    if rest:
        lines.extend(" " * indent + piece for piece in wrap_formula(rest, max(width - indent, 8)))
    return lines


# ---------------------------------------------------------------- prose, with CJK

def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (0x2E80 <= code <= 0x9FFF or 0xAC00 <= code <= 0xD7AF or 0xF900 <= code <= 0xFAFF
            or 0xFF00 <= code <= 0xFFEF or 0x3000 <= code <= 0x303F)


# Never at the start of a line (closing punctuation), never at the end (opening punctuation).
_NO_START = set("，。、；：！？）》」』】〕,.;:!?)]}%…")
_NO_END = set("（《「『【〔([{")
_TOKEN = re.compile(r"\s+|[^\s]")


def _pieces(text: str) -> list[str]:
    """Unbreakable pieces: a run of non-CJK, non-space characters (a word, a number, `max(1,`),
    or one CJK character; punctuation joined to its neighbour; spaces as their own pieces."""
    pieces: list[str] = []
    for match in _TOKEN.finditer(text):
        char = match.group()
        if char.isspace():
            pieces.append(" ")
            continue
        previous = pieces[-1] if pieces else None
        if previous is not None and previous != " " and (
                char in _NO_START or previous[-1] in _NO_END
                or (not _is_cjk(char) and not _is_cjk(previous[-1]))):
            pieces[-1] = previous + char
        else:
            pieces.append(char)
    return pieces


def wrap_prose(text: str, width: int, indent: str = "") -> list[str]:
    """A sentence in lines of at most `width` cells: English between words, Chinese between
    characters (not before closing punctuation), numbers and formulas never split. Continuation
    lines start with `indent`."""
    lines: list[str] = []
    line = ""
    for piece in _pieces(text):
        if piece == " ":
            if line and not line.endswith(" "):
                line += " "
            continue
        if line.strip() and cell_len(line + piece) > width:
            lines.append(line.rstrip())
            line = indent
        line += piece
    if line.strip():
        lines.append(line.rstrip())
    return lines or [""]
