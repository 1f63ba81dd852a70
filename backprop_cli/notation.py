"""Formulas and labels in the program's notation: how the tool writes what SymPy derives.

Shared by the views and by the core's own messages (an error that names a local derivative):
`^` for powers, the program's function names, `1 if z > 0, else 0`, operands in the user's own
text. Never SymPy's `**`, `Heaviside`, `Piecewise`, `sign` or `Max` (SPEC §6).
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

from backprop_cli.graph import Node

LABEL_WIDTH = 48
_SIMPLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$|^-?[0-9.]+$|^\(.*\)$")


def shorten(text: str, width: int = LABEL_WIDTH) -> str:
    """Long labels keep their start and end; nothing is dropped silently."""
    if len(text) <= width:
        return text
    keep = (width - 1) // 2
    return text[:keep] + "…" + text[-(width - 1 - keep):]


def node_label(node: Node, width: int = LABEL_WIDTH) -> str:
    return shorten(node.label, width)


def grouped(label: str) -> str:
    """A label as an operand: `w*x` becomes `(w*x)`; names and bracketed text stay."""
    if label.isidentifier():
        return label
    if _SIMPLE.match(label) and (not label.startswith("(") or _balanced_outer(label)):
        return label
    return f"({label})"


def _balanced_outer(text: str) -> bool:
    depth = 0
    for i, char in enumerate(text):
        depth += char == "("
        depth -= char == ")"
        if depth == 0 and i < len(text) - 1:
            return False
    return True


def derivative(out: Node, node: Node) -> str:
    return f"∂{grouped(node_label(out, 24))}/∂{grouped(node_label(node, 32))}"


_MARKER = re.compile("\u27e8(\\d+)\u27e9|\u27e6(\\d+)\u27e7")


@lru_cache(maxsize=4096)
def _formula_parts(formula, variables: tuple) -> tuple:
    """The formula printed once, cut at its operands: literal text, and (i, alone_in_a_call)
    where operand i goes. Printing with SymPy is the slow part; filling in is a join."""
    from backprop_cli.printing import _LabelPrinter

    labels = {v: f"\u27e8{i}\u27e9" for i, v in enumerate(variables)}
    call_labels = {v: f"\u27e6{i}\u27e7" for i, v in enumerate(variables)}
    text = _LabelPrinter(labels, call_labels).doprint(formula)
    parts: list = []
    position = 0
    for match in _MARKER.finditer(text):
        parts.append(text[position:match.start()])
        parts.append((int(match.group(1) or match.group(2)), match.group(2) is not None))
        position = match.end()
    parts.append(text[position:])
    return tuple(part for part in parts if part != "")


@lru_cache(maxsize=4096)
def _constant_text(formula) -> str:
    from backprop_cli.printing import _LabelPrinter

    return _LabelPrinter({}).doprint(formula)


def _fill(parts: tuple, operands: list[tuple[str, str]]) -> str:
    """operands[i] is (as a bracketed operand, as a call's only argument)."""
    return "".join(part if type(part) is str else operands[part[0]][part[1]] for part in parts)


def _operand_forms(operand_text: str) -> tuple[str, str]:
    short = shorten(operand_text, 32)
    return grouped(short), short


def parts_text(parts: tuple, operands: list[str]) -> str:
    """Text cut at its operands (a template's textbook or plain parts) filled with the user's own."""
    return _fill(parts, [_operand_forms(text) for text in operands])


def formula_text(formula, variables, operands: list[str]) -> str:
    """A local derivative in the user's operands: `1 - tanh(w*x + b)**2`, `2*(y - t)`."""
    return _fill(_formula_parts(formula, tuple(variables)), [_operand_forms(text) for text in operands])


def exact_text(expr) -> str:
    """An exact number or formula as the program writes it; Python's own rationals need no SymPy."""
    if expr is None:
        return ""
    if type(expr) is int:
        return str(expr)
    if isinstance(expr, Fraction):
        return str(expr)  # 3/2, -7, as SymPy writes a rational
    text = _printed(expr)
    if type(expr).__name__ == "matmul":
        return text[1:-1]  # a whole formula that is one product needs no brackets
    return text


@lru_cache(maxsize=8192)
def _printed(expr) -> str:
    """Printed once: a symbolic walkthrough shows the same formula as one edge's contribution,
    the next edge's upstream and a node's gradient."""
    from backprop_cli.printing import PLAIN

    return PLAIN.doprint(expr)
