"""What a graph picture shows for each node and edge, shared by DOT and the terminal view."""

from __future__ import annotations

from dataclasses import dataclass

from backprop_cli.i18n import Messages
from backprop_cli.trace import Trace
from backprop_cli.graph import NodeKind
from backprop_cli.render.common import derivative, local_formula_text, number_text, operand, path_terms, shorten

MAX_OPERATION_TERMS = 5  # a longer sum or product is shown as its first two terms, "…" and its last
_SYMBOLS = {"add": "+", "sub": "−", "mul": "×", "div": "÷", "pow": "^", "neg": "−", "copy": "="}


@dataclass(frozen=True)
class NodeCard:
    index: int
    title: str  # the name, or the operation for an unnamed node
    operation: str  # "× ·" "tanh(·)" "input"; constants shown inline
    value: str
    gradient: str  # "∂L/∂b = 2 + 3 = 5" (the sum where paths meet)
    is_input: bool
    is_output: bool
    fan_out: int
    kink: bool = False  # at a non-differentiable point: its local derivatives are a convention


@dataclass(frozen=True)
class EdgeCard:
    source: int
    consumer: int
    local: str  # "∂c/∂b = 1"
    contribution: str  # "2 × 1 = 2"
    kink: bool = False  # into a node at a non-differentiable point: the local derivative is a convention


def operation_text(trace: Trace, index: int, copy: str) -> str:
    """The operation with constant arguments written in: `(·)^2`, `· ÷ 2`, `tanh(·)`; `copy` is a
    named copy's (`y = x`), in the view's language."""
    graph = trace.graph
    node = graph.nodes[index]
    if node.kind is NodeKind.INPUT:
        return "input"
    parts = []
    for arg in node.args:
        arg_node = graph.nodes[arg]
        parts.append("·" if arg_node.depends_on_input else shorten(arg_node.text, 12))
    if node.op in ("add", "sub", "mul", "div"):
        return f"{parts[0]} {_SYMBOLS[node.op]} {parts[1]}"
    if node.op in ("sum", "product"):  # `a - b + c` is one sum of three signed terms: · − · + ·
        signs = node.signs or (1,) * len(parts)
        symbols = [("+" if sign > 0 else "−") if node.op == "sum" else "×" for sign in signs]
        terms = list(zip(symbols, parts))
        if len(terms) > MAX_OPERATION_TERMS:  # a 96-term sum: its first terms and its last
            terms = terms[:2] + [(terms[2][0], "…"), terms[-1]]
        first_symbol, first = terms[0]
        return ("−" if first_symbol == "−" else "") + first + "".join(f" {symbol} {part}" for symbol, part in terms[1:])
    if node.op == "pow":
        base = parts[0] if parts[0] == "·" else f"({parts[0]})"
        return f"{base}^{parts[1]}"
    if node.op == "neg":
        return "−·"
    if node.op == "copy":
        return copy
    return f"{node.op}({', '.join(parts)})"


def _value(value, node, digits: int, width: int) -> str:
    """The node's value, or "" for an unbound input (its value is its own name)."""
    text = number_text(value, digits)
    return "" if text == node.label else shorten(text, width * 2)


def cards(trace: Trace, messages: Messages, width: int = 28, digits: int = 6) -> tuple[list[NodeCard], list[EdgeCard]]:
    """Node and edge texts; numbers to `digits` significant digits, labels to `width` characters;
    a named copy (`y = x`) and a piecewise local derivative in the language of `messages`."""
    copy = messages("graph.copy")
    graph = trace.graph
    out = graph.nodes[trace.output]
    reached = graph.ancestors_of(trace.output)
    nodes: list[NodeCard] = []
    fan_out: dict[int, int] = {}
    kinked = set(trace.kinks)
    for step in trace.steps:
        fan_out[step.source] = fan_out.get(step.source, 0) + 1
    for node in graph.nodes[: trace.output + 1]:
        if not reached[node.index] or not node.depends_on_input:
            continue
        gradient = trace.gradients.get(node.index)
        paths = trace.paths_into.get(node.index, [])
        gradient_text = ""
        if gradient is not None:
            total = number_text(gradient, digits)
            name = derivative(out, node)  # an unnamed node by its text: ∂L/∂(w*x)
            if len(paths) > 1:
                in_order = sorted(paths, key=lambda i: trace.steps[i].consumer)
                terms = path_terms(trace, in_order, digits)
                gradient_text = f"{name} = {terms} = {total}"
            else:
                gradient_text = f"{name} = {total}"
        nodes.append(NodeCard(
            index=node.index,
            title=shorten(node.name, width) if node.name else shorten(node.text, width),
            operation=operation_text(trace, node.index, copy),
            value=_value(trace.values[node.index], node, digits, width),
            gradient=shorten(gradient_text, width * 3),
            is_input=node.kind is NodeKind.INPUT,
            is_output=node.index == trace.output,
            fan_out=fan_out.get(node.index, 0),
            kink=node.index in kinked,
        ))
    edges = []
    for step in sorted(trace.steps, key=lambda s: (s.source, s.consumer, s.position)):
        formula = local_formula_text(trace, step, messages)
        local = number_text(step.local, digits)
        local_text = shorten(formula, width) + ("" if local == formula else f" = {shorten(local, width)}")
        edges.append(EdgeCard(step.source, step.consumer, local_text,
                              f"{operand(shorten(number_text(step.upstream, digits), 16))} × "
                              f"{operand(shorten(local, 16))} = "
                              f"{shorten(number_text(step.contribution, digits), 16)}",
                              step.consumer in kinked))
    return nodes, edges


def layers(trace: Trace, nodes: list[NodeCard]) -> list[list[NodeCard]]:
    """Nodes grouped by depth from the inputs (longest path), in one pass."""
    graph = trace.graph
    depth: dict[int, int] = {}
    shown = {card.index for card in nodes}
    for node in graph.nodes[: trace.output + 1]:
        if node.index in shown:
            depth[node.index] = max((depth[a] + 1 for a in node.args if a in depth), default=0)
    result: list[list[NodeCard]] = [[] for _ in range(max(depth.values(), default=0) + 1)]
    for card in nodes:
        result[depth[card.index]].append(card)
    return result
