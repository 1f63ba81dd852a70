"""`--at` text → exact values for the program's inputs.

A value is a constant expression in the program language (`1/3`, `-pi/4`,
`sqrt(2)`, `2e-3`), parsed and evaluated by the same pipeline as a program,
never by `eval` or `sympify`.
"""

from __future__ import annotations

import re
from typing import Callable, Collection

import sympy as sp

from backprop_cli import limits, settings
from backprop_cli.errors import BackpropError, Span
from backprop_cli.forward import evaluate_expression
from backprop_cli.graph import Graph, NodeKind, build_graph
from backprop_cli.parse import parse_number, parse_program, suggest
from backprop_cli.source import BindingText, read_limited


def split_top_level(text: str) -> list[tuple[str, int]]:
    """Split at commas, semicolons and newlines outside brackets: (piece, offset)."""
    pieces: list[tuple[str, int]] = []
    depth, start = 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char in ",;\n" and depth <= 0:
            pieces.append((text[start:i], start))
            start = i + 1
    pieces.append((text[start:], start))
    return [(p, o) for p, o in pieces if p.strip()]


# A plain decimal literal, the common case (a network's 50,000 weights): read directly.
_PLAIN_NUMBER = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")  # ASCII digits only


def expression_graph(text: str, origin: str, names: Collection[str], one_expression: str,
                     unknown_name: Callable[[str], tuple[str, str | None]]) -> Graph:
    """A single expression (a value, a claim, a quiz answer) as a graph of its own.

    Its inputs must be among `names` (the program's); `unknown_name(name)` words the error.
    """
    statements = parse_program(text)
    if len(statements) != 1 or statements[0].target is not None:
        raise BackpropError(one_expression, Span(0, len(text)), source=text, origin=origin)
    graph = build_graph(statements, text)
    for index in graph.inputs:
        name = graph.nodes[index].name
        if name not in names:
            message, hint = unknown_name(name)
            raise BackpropError(message, graph.nodes[index].span, hint=hint, source=text, origin=origin)
    return graph


def _no_names(name: str) -> tuple[str, str]:
    return (f"a value cannot use the name '{name}'",
            "values are numbers and constants such as 1/3, -pi/4, sqrt(2), 2e-3")


def constant_value(text: str, origin: str) -> sp.Expr:
    """Evaluate a constant expression exactly (or as a 50-digit decimal if it must)."""
    if len(text) > limits.MAX_BINDING_CHARS:
        raise BackpropError(f"the value has {len(text):,} characters; the limit is {limits.MAX_BINDING_CHARS:,}")
    if len(text) <= 40 and _PLAIN_NUMBER.fullmatch(text):
        negative = text.startswith("-")
        value = parse_number(text[1:] if negative else text, Span(0, len(text)))
        return sp.Rational(-value.numerator if negative else value.numerator, value.denominator)
    graph = expression_graph(text, origin, (), "a value must be a single constant expression", _no_names)
    value = evaluate_expression(graph, {}, origin)
    if value.exact is not None:
        return value.exact
    return sp.Float(value.approx, settings.DECIMAL_DIGITS)


_COMMENT = re.compile(r"#[^\n]*")


def without_comments(text: str) -> str:
    """A bindings file's `# ...` comments (whole lines or after a value) blanked out; `#` is not
    part of the language. Blanked with spaces, so that error carets still point at the file."""
    return _COMMENT.sub(lambda match: " " * len(match.group()), text)


def parse_bindings(binding: BindingText) -> list[tuple[str, str, str]]:
    """`x=2, w=3` → [(name, value text, origin)]; `@PATH` reads the file."""
    text = binding.text.strip()
    origin = binding.origin
    if text.startswith("@"):
        path = text[1:]
        text = without_comments(read_limited(path, "bindings file"))
        origin = path
    result = []
    for piece, offset in split_top_level(text):
        name, equals, value = piece.partition("=")
        name = name.strip()
        if not equals:
            raise BackpropError(f"a binding needs the form name=value, got '{piece.strip()[:60]}'",
                                Span(offset, offset + len(piece)), hint="e.g. --at x=2,w=3",
                                source=text, origin=origin)
        if not name.isidentifier() or not name.isascii():
            raise BackpropError(f"'{name[:60]}' is not a name", Span(offset, offset + len(piece)),
                                source=text, origin=origin)
        if not value.strip():
            raise BackpropError(f"'{name}' is given no value", Span(offset, offset + len(piece)),
                                source=text, origin=origin)
        result.append((name, value.strip(), f"{origin} ({name})"))
    return result


# Names SymPy's plain text (the JSON `exact` fields, SPEC §4) uses for its own functions and
# atoms: `sign(x)`, `Heaviside(x)`, `Abs(x)`, `Max(a, b)`, `Piecewise(...)`, `I`, `oo`. A program
# name spelled the same would print as `sign*sign(x)`, text no reader can parse back, so such a
# name is refused (with a rename hint) rather than printed ambiguously.
PRINTER_NAMES = frozenset({"sign", "Heaviside", "Abs", "Max", "Min", "Piecewise", "DiracDelta",
                           "I", "oo", "zoo", "nan", "True", "False"})


def refuse_printer_names(graph: Graph) -> None:
    for name, index in graph.names.items():
        if name in PRINTER_NAMES:
            span = graph.nodes[index].span
            for statement_name, _, statement_span in graph.statements:  # an assigned name: point at it
                start = graph.source.find(name, statement_span.start)
                if statement_name == name and start >= 0:
                    span = Span(start, start + len(name))
                    break
            raise BackpropError(
                f"the name '{name}' is reserved: the exact results would print it as SymPy's '{name}'",
                span, hint=f"rename it, e.g. {name}_ or my_{name}", source=graph.source, origin="program")


def resolve(graph: Graph, from_program: list[BindingText], from_command_line: list[BindingText]) -> dict[str, sp.Expr]:
    """The bound inputs: the program's `# at:` lines, overridden name by name by --at.
    (A program name that SymPy's printed text uses for itself is refused first.)"""
    refuse_printer_names(graph)
    inputs = [graph.nodes[i].name for i in graph.inputs]
    input_set = set(inputs)
    values: dict[str, sp.Expr] = {}
    for layer in (from_program, from_command_line):
        seen: set[str] = set()
        for binding in layer:
            for name, text, origin in parse_bindings(binding):
                if name in seen:
                    raise BackpropError(f"'{name}' is bound twice ({origin})", hint="give each input one value")
                seen.add(name)
                if name not in input_set:
                    raise _not_an_input(graph, name, inputs)
                values[name] = constant_value(text, origin)
    return values


def _not_an_input(graph: Graph, name: str, inputs: list[str]) -> BackpropError:
    listing = ", ".join(inputs) if inputs else "none"
    if name in graph.names and graph.nodes[graph.names[name]].kind is not NodeKind.INPUT:
        message = f"'{name}' is assigned in the program, so it cannot be bound; the inputs are: {listing}"
    else:
        guess = suggest(name, inputs)
        message = (f"'{name}' is not an input of the program" + (f" (did you mean '{guess}'?)" if guess else "")
                   + f"; the inputs are: {listing}")
    return BackpropError(message)
