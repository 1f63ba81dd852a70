"""A tensor program's graph in Graphviz's DOT language: boxes with shapes and nested lists,
edges with the rule that carries the gradient back (render/tensor_picture.py)."""

from __future__ import annotations

from backprop_cli.i18n import Messages
from backprop_cli.render.dot import KINK_COLOR, _html
from backprop_cli.render.tensor_picture import TensorCard, TensorEdge, entry_lines, legend, tensor_picture
from backprop_cli.trace import Trace

VALUE_COLOR = "#1a7f37"
GRADIENT_COLOR = "#cf222e"
SHAPE_COLOR = "#57606a"
RULE_COLOR = "#8250df"  # an edge's rule: what the gradient does on its way back
LIST_WIDTH = 48  # characters of a nested list's line
MONOSPACE = "Courier"  # nested lists in a fixed-width face, so a matrix's rows line up


def _lines(lines: tuple[str, ...]) -> str:
    return "<BR/>".join(_html(line) for line in lines)


def _row(name: str, tensor, color: str) -> str:
    lines = entry_lines(tensor, LIST_WIDTH)
    return (f'<TR><TD ALIGN="RIGHT" VALIGN="TOP"><FONT COLOR="{color}">{_html(name)}</FONT></TD>'
            f'<TD ALIGN="LEFT" BALIGN="LEFT"><FONT COLOR="{color}" FACE="{MONOSPACE}">{_lines(lines)}</FONT></TD></TR>')


def _wide(text: str, size: int | None = None, color: str | None = None) -> str:
    """A row across both columns."""
    attributes = (f' POINT-SIZE="{size}"' if size else "") + (f' COLOR="{color}"' if color else "")
    body = f"<FONT{attributes}>{text}</FONT>" if attributes else text
    return f'<TR><TD COLSPAN="2">{body}</TD></TR>'


def _node(card: TensorCard, messages: Messages) -> str:
    if card.is_copy:
        label = (f"<B>{_html(card.title)}</B><BR/>{_html(card.operation)}<BR/>"
                 f'<FONT COLOR="{SHAPE_COLOR}">{_html(card.shape)}</FONT>')
        return (f'  {card.key} [label=<{label}>, style="rounded,dashed,filled", fillcolor="#ffffff", '
                f"fontsize=10];")
    rows = [_wide(f'<B>{_html(card.title)}</B>  <FONT COLOR="{SHAPE_COLOR}">{_html(card.shape)}</FONT>')]
    kind = messages("graph.input") if card.is_input else card.operation
    if kind:
        rows.append(_wide(_html(kind), size=9, color=SHAPE_COLOR))
    if card.value is not None:
        rows.append(_row(messages("graph.value") + " =", card.value, VALUE_COLOR))
    if card.gradient is not None:
        rows.append(_row(card.gradient_name + " =", card.gradient, GRADIENT_COLOR))
    if card.gradient is not None and card.paths > 1:
        rows.append(_wide(_html(messages("graph.paths", n=card.paths)), size=9, color=GRADIENT_COLOR))
    if card.kink:
        rows.append(_wide(_html(messages("graph.kink")), size=9, color="#9a6700"))
    table = f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{"".join(rows)}</TABLE>'
    attributes = [f"label=<{table}>"]
    if card.kink:
        attributes.append(f'color="{KINK_COLOR}", penwidth=2, fillcolor="#fff1e5"')
    elif card.is_input:
        attributes.append('fillcolor="#ddf4ff"')
    if card.is_output:
        attributes.append('peripheries=2, fillcolor="#fff8c5"')
    return f"  {card.key} [{', '.join(attributes)}];"


def _edge(edge: TensorEdge) -> str:
    label = _html(edge.rule)
    if edge.note:
        label += f'<BR/><FONT POINT-SIZE="8" COLOR="{SHAPE_COLOR}">{_html(edge.note)}</FONT>'
    if edge.kink:
        return (f"  {edge.source} -> {edge.target} [label=<⚠ {label}>, style=dashed, color=\"{KINK_COLOR}\", "
                f'fontcolor="{KINK_COLOR}", penwidth=1.5];')
    return f"  {edge.source} -> {edge.target} [label=<{label}>];"


def render_tensor_dot(trace: Trace, messages: Messages) -> str:
    cards, edges = tensor_picture(trace, messages)
    lines = [
        "digraph backprop {",
        f'  graph [rankdir=TB, fontname="Helvetica", nodesep=0.3, ranksep=0.5, fontsize=10, labelloc=b, '
        f"label=<{_html(legend(trace, messages))}>];",
        '  node [shape=box, style="rounded,filled", fillcolor="#f7f7f7", fontname="Helvetica", fontsize=11];',
        f'  edge [fontname="Helvetica", fontsize=10, color="#555555", fontcolor="{RULE_COLOR}"];',
    ]
    lines += [_node(card, messages) for card in cards]
    lines += [_edge(edge) for edge in edges]
    lines.append("}")
    return "\n".join(lines) + "\n"
