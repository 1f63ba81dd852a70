"""Formatting shared by every view: values, labels, formulas. No math here."""

from __future__ import annotations

from typing import Iterator

from backprop_cli.notation import (  # noqa: F401 - the views' shared vocabulary, re-exported
    LABEL_WIDTH, _balanced_outer, _fill, _operand_forms, derivative, exact_text, formula_text, grouped, node_label,
    parts_text, shorten)
from backprop_cli.numbers import Value, as_fraction, format_decimal, format_exact

# An exact value longer than this is shown as its decimal, marked ≈ (JSON keeps the exact text):
# `tanh(1) + 2*tanh(3/2)` reads; `(-1 + tanh(1) + 2*tanh(3/2))^2/2 + tanh(1)^2/10` does not.
MAX_EXACT_TEXT = 30


class EdgeFormulas:
    """Edges' local derivatives as a textbook writes them, in the graph's own names:
    `1 - h1^2` for h1 = tanh(z), `2*(y - t)`.

    One per trace for views that word every edge: each template's partial comes cut at its
    operands (derive.py printed it once), and each node is worded as an operand once, only where
    a formula names it. Given a view's messages, a piecewise derivative's words are in its
    language, `(1 当 x > 0，否则 0)` (only the printer's own text: the user's names are operands)."""

    def __init__(self, trace, messages=None):
        self._graph = trace.graph
        self._trace = trace
        self._forms: dict[int, tuple[str, str]] = {}  # node -> (as a bracketed operand, as a call's only argument)
        self._words = None if messages is None or messages.language == "en" else (
            (" if ", messages("formula.if")), (", else ", messages("formula.else")))

    def _operand(self, part: tuple[int, bool], consumer: int) -> str:
        """Variable i of the consumer's template is one of its arguments; one past them, its own value."""
        i, alone = part
        positions = self._trace.template(consumer).variable_positions
        node = self._graph.nodes[consumer].args[positions[i]] if i < len(positions) else consumer
        forms = self._forms.get(node)
        if forms is None:
            forms = self._forms[node] = _operand_forms(self._graph.nodes[node].label)
        return forms[alone]

    def __call__(self, step) -> str:
        return next(self.of_edges((step.edge,)))

    def of_edges(self, edges) -> Iterator[str]:
        """Each edge's formula, for many edges at once (every edge of a big graph in a JSON report)."""
        templates, variables = self._trace.forward.templates, self._trace.locals.variable
        consumers, operand = self._graph.edges.consumer, self._operand
        for edge in edges:
            consumer = consumers[edge]
            parts = templates[consumer].textbook_of(variables[edge])  # as trace.textbook_parts(edge)
            if self._words is not None:
                parts = tuple(self._in_words(part) if type(part) is str else part for part in parts)
            if len(parts) == 1 and type(parts[0]) is str:  # a constant such as a sum's 1
                yield parts[0]
            else:  # its operands filled in (∂(w*x)/∂w = x, ∂(x^2)/∂x = 2*x)
                yield "".join(part if type(part) is str else operand(part, consumer) for part in parts)

    def _in_words(self, text: str) -> str:
        for english, word in self._words:
            text = text.replace(english, word)
        return text


def local_formula_text(trace, step, messages=None) -> str:
    """One edge's local derivative in the consumer's own operands (EdgeFormulas for many); its
    piecewise words in the language of `messages`, if given."""
    return EdgeFormulas(trace, messages)(step)


def path_terms(trace, steps, digits: int = 10) -> str:
    """The contributions of several paths into a node, as a sum: `2 + 3`, `(-0.18) + (-0.28)`."""
    return " + ".join(operand(number_text(trace.steps[i].contribution, digits)) for i in steps)


def value_text(value: Value) -> str:
    """`9/2 = 4.5`, `tanh(1) ≈ 0.7615941560`, `≈ 0.5` (decimal only), or a formula."""
    if value.approx is None:
        return exact_text(value.exact)
    decimal = format_decimal(value.approx)
    if value.exact is None:
        return f"≈ {decimal}"
    exact = exact_text(value.exact)
    if (is_integer(value.exact) and len(exact) <= MAX_EXACT_TEXT) or exact == decimal:
        return exact
    if is_rational(value.exact):
        return f"{exact} = {decimal}" if len(exact) <= MAX_EXACT_TEXT else f"≈ {decimal}"
    return f"{exact} ≈ {decimal}" if len(exact) <= MAX_EXACT_TEXT else f"≈ {decimal}"


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
    if is_rational(value.exact) and len(exact_text(value.exact)) <= digits + 2:
        return exact_text(value.exact)
    return format_decimal(value.approx, digits)


def is_rational(exact) -> bool:
    return as_fraction(exact) is not None


def is_integer(exact) -> bool:
    fraction = as_fraction(exact)
    return fraction is not None and fraction.denominator == 1


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
    fraction = as_fraction(exact)
    if fraction is not None:  # p/q as SymPy writes it, without its printer's overhead
        return str(fraction)
    if exact is not None:
        return format_exact(exact)
    if type(value.approx) is float:
        return repr(value.approx)
    return format_decimal(value.approx, 50)


def gradient_text(trace, index: int, digits: int = 10) -> str:
    """A reported gradient: its number, or in symbolic mode its formula in the program's names."""
    formula = trace.formula(index)
    if formula is not None:
        return exact_text(formula)
    return number_text(trace.gradients[index], digits)


# A tensor's rows in the gradient table: its first entries and its worst; CSV and JSON give them all.
TABLE_ENTRIES_PER_TENSOR = 12
