"""Formatting shared by every view: values, labels, formulas. No math here."""

from __future__ import annotations

import re
from functools import lru_cache

import sympy as sp
from sympy.printing.str import StrPrinter

from backprop_cli.graph import Node
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


class _LabelPrinter(StrPrinter):
    """SymPy's plain text, with placeholders shown as the user's operands."""

    def __init__(self, labels: dict[sp.Symbol, str], call_labels: dict[sp.Symbol, str] | None = None):
        super().__init__()
        self.labels = labels
        self.call_labels = call_labels or {}  # a placeholder alone as a function's argument

    def _print_Symbol(self, expr):
        return self.labels.get(expr, expr.name)

    def _print_Function(self, expr):
        args = [self.call_labels[arg] if arg in self.call_labels else self._print(arg) for arg in expr.args]
        return f"{expr.func.__name__}({', '.join(args)})"

    def _print_Piecewise(self, expr):
        parts = []
        for value, condition in expr.args:
            if condition == sp.true:
                parts.append(self._print(value))
            else:
                parts.append(f"{self._print(value)} if {self._print(condition)} else ")
        return "(" + "".join(parts) + ")"


_MARKER = re.compile("\u27e8(\\d+)\u27e9|\u27e6(\\d+)\u27e7")


@lru_cache(maxsize=4096)
def _formula_parts(formula: sp.Expr, variables: tuple) -> tuple:
    """The formula printed once, cut at its operands: literal text, and (i, alone_in_a_call)
    where operand i goes. Printing with SymPy is the slow part; filling in is a join."""
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


def _fill(parts: tuple, operands: list[tuple[str, str]]) -> str:
    """operands[i] is (as a bracketed operand, as a call's only argument)."""
    return "".join(part if type(part) is str else operands[part[0]][part[1]] for part in parts)


def _operand_forms(operand_text: str) -> tuple[str, str]:
    short = shorten(operand_text, 32)
    return grouped(short), short


def formula_text(formula: sp.Expr, variables, operands: list[str]) -> str:
    """A local derivative in the user's operands: `1 - tanh(w*x + b)**2`, `2*(y - t)`."""
    return _fill(_formula_parts(formula, tuple(variables)), [_operand_forms(text) for text in operands])


class EdgeFormulas:
    """Edges' local derivatives in their consumers' own operands, e.g. `1 - tanh(w*x + b)**2`.

    One per trace for views that word every edge: each consumer's operands are worded once
    for all its edges."""

    def __init__(self, trace):
        self._graph = trace.graph
        self._trace = trace
        self._operands: dict[int, list[tuple[str, str]]] = {}

    def __call__(self, step) -> str:
        tmpl = self._trace.template(step.consumer)
        parts = _formula_parts(step.local_formula, tmpl.variables)
        if len(parts) == 1 and type(parts[0]) is str:  # a constant such as 1: no operands to word
            return parts[0]
        operands = self._operands.get(step.consumer)
        if operands is None:
            nodes = self._graph.nodes
            consumer = nodes[step.consumer]
            operands = self._operands[step.consumer] = [
                _operand_forms(nodes[consumer.args[p]].label) for p in tmpl.variable_positions]
        return _fill(parts, operands)


def local_formula_text(trace, step) -> str:
    """One edge's local derivative in the consumer's own operands (EdgeFormulas for many)."""
    return EdgeFormulas(trace)(step)


def path_terms(trace, steps, digits: int = 10) -> str:
    """The contributions of several paths into a node, as a sum: `2 + 3`, `(-0.18) + (-0.28)`."""
    return " + ".join(operand(number_text(trace.steps[i].contribution, digits)) for i in steps)


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


def assign_text(value: Value, label: str | None = None) -> str:
    """`= 7`, `= tanh(1) ≈ 0.76`, `≈ 0.76` for a value carried only as a decimal, and nothing
    for an unbound input (its value is its own name)."""
    text = value_text(value)
    if label is not None and text == label:
        return ""
    return text if text.startswith("≈") else "= " + text


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
    exact = value.exact
    if isinstance(exact, sp.Rational):  # SymPy's own text for p/q, without its printer's overhead
        return str(exact.p) if exact.q == 1 else f"{exact.p}/{exact.q}"
    if exact is not None:
        return format_exact(exact)
    if type(value.approx) is float:
        return repr(value.approx)
    return format_decimal(value.approx, 50)
