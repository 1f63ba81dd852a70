"""The graph as a picture in the terminal: layers of boxes from the inputs down to the output.

Each box shows a node's value and gradient (with the sum where several paths
meet); under it, its outgoing edges with the local derivative and the product.
"""

from __future__ import annotations

from rich import box
from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from backprop_cli.i18n import Messages
from backprop_cli.trace import Trace
from backprop_cli.render.picture import EdgeCard, NodeCard, cards, layers
from backprop_cli.render.wrap import wrap_prose

BOX_WIDTH = 32  # three boxes side by side in 100 columns


def _panel(card: NodeCard, out_edges: list[EdgeCard], labels: dict[int, str], messages: Messages) -> Panel:
    body = Text()
    if not card.is_input:
        body.append(card.operation + "\n", style="dim")
    if card.value:
        body.append("= " + card.value + "\n", style="green")
    if card.gradient:
        body.append(card.gradient, style="bold magenta" if card.fan_out > 1 else "magenta")
    local, kink = messages("graph.local"), messages("graph.kink_edge")
    for i, edge in enumerate(out_edges):
        last = i == len(out_edges) - 1
        gutter = "   " if last else "│  "  # on every line of the edge's text, wrapped ones too
        body.append(f"\n{'└' if last else '├'}▶ {labels[edge.consumer]}", style="cyan")
        body.append(_under(gutter, f"{local} {edge.local}"), style="dim")
        if edge.kink:
            body.append(_under(gutter, kink), style="bold red")
        body.append(_under(gutter, edge.contribution), style="yellow")
    kind = messages("graph.input") if card.is_input else (messages("graph.output") if card.is_output else "")
    title = Text(card.title, style="bold")
    if kind:
        title.append(f" ({kind})", style="dim")
    if card.kink:
        title.append(" " + messages("graph.kink_node"), style="bold red")
    return Panel(body, title=title, title_align="left", box=box.DOUBLE if card.is_output else box.ROUNDED,
                 expand=False, padding=(0, 1), width=BOX_WIDTH, border_style="red" if card.kink else "none")


def _under(gutter: str, text: str) -> str:
    """Lines of an edge's text in its box, each after the tree's gutter (`│  `)."""
    width = BOX_WIDTH - 4 - len(gutter)  # the box's borders and padding, then the gutter
    return "".join(f"\n{gutter}{line}" for line in wrap_prose(text, width))


def render_graph_text(trace: Trace, messages: Messages | None = None) -> RenderableType:
    messages = messages or Messages()
    if trace.tensor:  # shapes, nested lists and rules: render/tensor_graph_text.py
        from backprop_cli.render.tensor_graph_text import render_tensor_graph_text

        return render_tensor_graph_text(trace, messages)
    nodes, edges = cards(trace, messages, width=20, digits=4)
    labels = {card.index: card.title for card in nodes}
    outgoing: dict[int, list[EdgeCard]] = {}
    for edge in edges:
        outgoing.setdefault(edge.source, []).append(edge)
    rows: list[RenderableType] = []
    grouped = layers(trace, nodes)
    for depth, layer in enumerate(grouped):
        panels = [_panel(card, outgoing.get(card.index, []), labels, messages) for card in layer]
        rows.append(Columns(panels, padding=(0, 1)))
        if depth < len(grouped) - 1:
            rows.append(Text("   ▼", style="dim"))
    if any(card.kink for card in nodes):
        rows.append(Text(messages("graph.kink_legend"), style="dim"))
    return Group(*rows)
