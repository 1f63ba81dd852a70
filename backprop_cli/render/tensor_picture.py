"""What a picture of a tensor program shows, shared by its DOT and its terminal view.

Each node: its name (or text), its shape, its operation in the program's notation and, for a
small tensor, its value and gradient as nested lists. Each edge: the rule that carries the
gradient back along it, over δ (the gradient of the node the edge enters), as `backprop explain`
writes it (render/tensor_text.py's `edge_rule`). A broadcast operand gets a node of its own
between it and the operation, which the trace does not have: forward it copies the operand
("copy to 3 rows"), backward it sums the copies ("sum(δ, 0)").

Everything here is read from the trace and worded; nothing is computed.
"""

from __future__ import annotations

from dataclasses import dataclass

from backprop_cli.graph import NodeKind
from backprop_cli.i18n import Messages
from backprop_cli.notation import derivative, node_label, shorten
from backprop_cli.render.common import number_text
from backprop_cli.render.tensor_text import edge_rule
from backprop_cli.shapes import shape_text
from backprop_cli.trace import Trace

# A tensor of up to this many entries shows its value and gradient; a bigger one its shape only.
MAX_PICTURE_ENTRIES = 12
DIGITS = 4  # significant digits of a decimal entry, as in the scalar picture
ENTRY_WIDTH = 12  # an entry longer than this (an exact formula) keeps its start and end


@dataclass(frozen=True)
class TensorCard:
    key: str  # the node's id in the picture: n5, or c7 for the copy a broadcast on edge 7 makes
    index: int | None  # the trace's node (None for a broadcast's copy)
    title: str
    shape: str  # "(2, 2)", or "(2,) → (3, 2)" for a broadcast's copy
    operation: str  # "· @ ·", "tanh(·)", "" for an input; a copy's "copy to 3 rows"
    value: object | None  # the value (a TensorValue), for a small tensor; None for a big one
    gradient_name: str  # ∂J/∂W1
    gradient: object | None  # the gradient, for a small tensor the output reaches
    paths: int  # how many paths add into the gradient
    is_input: bool = False
    is_output: bool = False
    is_copy: bool = False
    kink: bool = False


@dataclass(frozen=True)
class TensorEdge:
    source: str  # card keys
    target: str
    rule: str  # the gradient the edge carries back, over δ: outer(δ, h), W2.T @ δ, δ * (1 - h^2)
    note: str  # words where the formula alone hides a change of shape: "sum over axis 0"
    kink: bool = False


def entry_lines(tensor, width: int, digits: int = DIGITS) -> tuple[str, ...]:
    """A tensor as nested lists, a matrix one row per line with its columns lined up (as NumPy
    prints one); a row longer than `width` goes on at its commas under its first entry."""
    shape = tensor.shape
    if not shape:
        return (shorten(number_text(tensor.entries[()], digits), ENTRY_WIDTH),)
    rows = [[shorten(number_text(v, digits), ENTRY_WIDTH) for v in row]
            for row in ([tensor.entries] if len(shape) == 1 else tensor.entries)]
    if len(shape) == 2 and shape[1]:
        columns = [max(len(row[j]) for row in rows) for j in range(shape[1])]
        if 2 + sum(columns) + 2 * len(columns) <= width:  # aligned rows fit: pad each column
            rows = [[item.rjust(columns[j]) for j, item in enumerate(row)] for row in rows]
    lines: list[str] = []
    for k, items in enumerate(rows):
        opening = "[" if len(shape) == 1 else ("[[" if k == 0 else " [")
        closing = "]" if len(shape) == 1 else ("]]" if k == len(rows) - 1 else "],")
        line = opening
        indent = " " * len(opening)
        for i, item in enumerate(items):
            piece = item + (", " if i < len(items) - 1 else closing)
            if line != opening and len(line) + len(piece.rstrip()) > width:
                lines.append(line.rstrip())
                line = indent
            line += piece
        lines.append(line)
    return tuple(lines)


def operation_text(trace: Trace, index: int) -> str:
    """The operation in the program's notation, operands that depend on an input as `·` and
    constants written in: `· @ ·`, `·.T`, `sum(·, 0)`, `· - ·`, `·^2`, `· / 2`, `tanh(·)`."""
    graph = trace.graph
    node = graph.nodes[index]
    if node.kind is NodeKind.INPUT:
        return ""
    parts = [("·" if graph.nodes[a].depends_on_input else shorten(graph.nodes[a].text, 12)) for a in node.args]
    op = node.op
    if op == "matmul":
        return " @ ".join(parts)
    if op == "transpose":
        return "·.T" if node.text.endswith(".T") else f"transpose({parts[0]})"
    if op in ("reduce_sum", "reduce_mean"):
        name = "sum" if op == "reduce_sum" else "mean"
        return f"{name}({', '.join(parts + [str(a) for a in (node.params or ())])})"
    if op == "sum":
        text = ""
        for k, (part, sign) in enumerate(zip(parts, node.signs or (1,) * len(parts))):
            text += ("-" if sign < 0 else "") + part if k == 0 else f" {'-' if sign < 0 else '+'} {part}"
        return text
    if op == "product":
        return " * ".join(parts)
    if op == "div":
        return f"{parts[0]} / {parts[1]}"
    if op == "pow":
        return f"{parts[0] if parts[0] == '·' else '(' + parts[0] + ')'}^{parts[1]}"
    if op == "neg":
        return "-·"
    if op == "array":
        if node.params and len(node.params) == 2:
            m, n = node.params
            return "[" + ", ".join("[" + ", ".join(parts[r * n:(r + 1) * n]) + "]" for r in range(m)) + "]"
        return "[" + ", ".join(parts) + "]"
    return f"{op}({', '.join(parts)})"


def _summed_axes(own: tuple[int, ...], grown: tuple[int, ...]) -> list[int]:
    """The axes of `grown` that a broadcast of `own` copies along (NumPy's rule, read off the shapes)."""
    offset = len(grown) - len(own)
    return [axis for axis in range(len(grown))
            if axis < offset or (own[axis - offset] == 1 and grown[axis] != 1)]


def _copy_words(own, grown, messages: Messages) -> tuple[str, str]:
    """(forward, backward) words for a broadcast: ("copy to 3 rows", "sum over axis 0")."""
    axes = _summed_axes(own, grown)
    if len(axes) == 1 and len(grown) == 2:
        which = "graph.copy_rows" if axes[0] == 0 else "graph.copy_columns"
        return messages(which, n=grown[axes[0]]), messages("graph.sum_axis", axis=axes[0])
    count = 1
    for axis in axes:
        count *= grown[axis]
    return messages("graph.copy_entries", n=count), messages("graph.sum_all")


def _copy_rule(own, grown) -> str:
    """What the copy sends back to the operand, over δ (the copy's gradient): `sum(δ, 0)`;
    `sum(δ)` for a scalar operand."""
    if not own:
        return "sum(δ)"
    text = "δ"
    for axis in sorted(_summed_axes(own, grown), reverse=True):
        text = f"sum({text}, {axis})"
    return text


def _unwrap_sums(formula: str, count: int, scalar: bool) -> str:
    """The rule inside a broadcast's sums: `δ * X` for `sum(δ * X, 0)` (edge_rule wraps the
    entry-wise rule in one sum per summed axis, or in one `sum(...)` for a scalar operand)."""
    if scalar:
        return formula[len("sum("):-1] if formula.startswith("sum(") and formula.endswith(")") else formula
    for _ in range(count):
        if not formula.startswith("sum("):
            break
        formula = formula[len("sum("):formula.rfind(", ")]
    return formula


def tensor_picture(trace: Trace, messages: Messages, label_width: int = 28,
                   rule_width: int = 48) -> tuple[list[TensorCard], list[TensorEdge]]:
    """The cards and edges of a tensor program's picture (labels and rules shortened to the
    widths given; each view lays the values out as `entry_lines` at its own width)."""
    graph = trace.graph
    out = graph.nodes[trace.output]
    reached = graph.ancestors_of(trace.output)
    kinked = set(trace.kinks)
    cards: list[TensorCard] = []
    for node in graph.nodes[: trace.output + 1]:
        if not reached[node.index] or not node.depends_on_input:
            continue
        shape = trace.shape(node.index)
        size = 1
        for n in shape:
            size *= n
        small = size <= MAX_PICTURE_ENTRIES
        gradient = trace.gradients.get(node.index)
        cards.append(TensorCard(
            key=f"n{node.index}", index=node.index,
            title=shorten(node.label, label_width),
            shape=shape_text(shape),
            operation=shorten(operation_text(trace, node.index), label_width),
            value=trace.values[node.index] if small else None,
            gradient_name=derivative(out, node),
            gradient=gradient if small else None,
            paths=len(trace.paths_into.get(node.index, [])),
            is_input=node.kind is NodeKind.INPUT,
            is_output=node.index == trace.output,
            kink=node.index in kinked,
        ))
    edges: list[TensorEdge] = []
    for step in sorted(trace.steps, key=lambda s: (s.source, s.consumer, s.position)):
        rule = edge_rule(trace, step)
        source, target = f"n{step.source}", f"n{step.consumer}"
        if rule.name == "broadcast":
            own, grown = trace.shape(step.source), trace.shape(step.consumer)
            forward, backward = _copy_words(own, grown, messages)
            copy = f"c{step.edge}"
            cards.append(TensorCard(key=copy, index=None, title=messages("graph.broadcast"),
                                    shape=f"{shape_text(own)} → {shape_text(grown)}", operation=forward,
                                    value=None, gradient_name="", gradient=None, paths=1, is_copy=True))
            inner = _unwrap_sums(rule.formula, len(_summed_axes(own, grown)), not own)
            edges.append(TensorEdge(source, copy, _copy_rule(own, grown), backward))
            edges.append(TensorEdge(copy, target, shorten(inner, rule_width), "", step.kink))
            continue
        note = ""
        if rule.name in ("sum", "mean") and trace.shape(step.consumer) != trace.shape(step.source):
            note = messages("graph.copied_back", shape=shape_text(trace.shape(step.source)))
        edges.append(TensorEdge(source, target, shorten(rule.formula, rule_width), note, step.kink))
    return cards, edges


def legend(trace: Trace, messages: Messages) -> str:
    """What an edge's label means, in the program's names: δ is ∂J/∂(the node it enters)."""
    return messages("graph.legend", output=node_label(trace.graph.nodes[trace.output], 24))
