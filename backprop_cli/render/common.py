"""Formatting shared by every view: values, labels, formulas. No math here."""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.str import StrPrinter

from backprop_cli.graph import Graph, Node
from backprop_cli.numbers import Value, format_decimal, format_exact

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


class _LabelPrinter(StrPrinter):
    """SymPy's plain text, with placeholders shown as the user's operands."""

    def __init__(self, labels: dict[sp.Symbol, str]):
        super().__init__({"order": "none"})
        self.labels = labels

    def _print_Symbol(self, expr):
        return self.labels.get(expr, expr.name)

    def _print_Function(self, expr):
        args = []
        for arg in expr.args:
            text = self._print(arg)
            if arg in self.labels and text.startswith("(") and _balanced_outer(text):
                text = text[1:-1]
            args.append(text)
        return f"{expr.func.__name__}({', '.join(args)})"

    def _print_Piecewise(self, expr):
        parts = []
        for value, condition in expr.args:
            if condition == sp.true:
                parts.append(self._print(value))
            else:
                parts.append(f"{self._print(value)} if {self._print(condition)} else ")
        return "(" + "".join(parts) + ")"


def formula_text(formula: sp.Expr, variables, operands: list[str]) -> str:
    labels = {v: grouped(shorten(o, 32)) for v, o in zip(variables, operands)}
    return _LabelPrinter(labels).doprint(formula)


def exact_text(expr: sp.Expr | None) -> str:
    if expr is None:
        return ""
    return _LabelPrinter({}).doprint(expr)


def value_text(value: Value) -> str:
    """`9/2 = 4.5`, `tanh(1) ≈ 0.7615941560`, `≈ 0.5` (decimal only), or a formula."""
    if value.approx is None:
        return exact_text(value.exact)
    decimal = format_decimal(value.approx)
    if value.exact is None:
        return f"≈ {decimal}"
    exact = exact_text(value.exact)
    if isinstance(value.exact, sp.Integer) or exact == decimal:
        return exact
    if isinstance(value.exact, sp.Rational):
        return f"{exact} = {decimal}"
    return f"{exact} ≈ {decimal}"


def number_text(value: Value, digits: int = 10) -> str:
    """A compact form for products: the exact rational, else the decimal, else the formula."""
    if value.approx is None:
        return exact_text(value.exact)
    if isinstance(value.exact, sp.Rational) and len(exact_text(value.exact)) <= digits + 2:
        return exact_text(value.exact)
    return format_decimal(value.approx, digits)


def operand(text: str) -> str:
    """Negative numbers and sums get brackets inside a product."""
    if text.startswith("-") or (" " in text and not _balanced_outer_or_atom(text)):
        return f"({text})"
    return text


def _balanced_outer_or_atom(text: str) -> bool:
    return text.startswith("(") and _balanced_outer(text)


def exact_string(value: Value) -> str:
    """The JSON `exact` field: SymPy's plain text, or the 50-digit decimal when not exact."""
    if value.exact is not None:
        return format_exact(value.exact)
    return format_decimal(value.approx, 50)


def input_names(graph: Graph, indices) -> list[str]:
    return [graph.nodes[i].label for i in indices]
