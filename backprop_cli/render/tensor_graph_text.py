"""A tensor program's graph in the terminal: layers of boxes from the inputs down to the output.

Each box shows a node's shape, operation, and (small tensors) value and gradient as nested
lists; under it, its outgoing edges, each with the rule that carries the gradient back. A
broadcast is drawn on its edge as the copy it makes, with the sum that undoes it. A box is as
wide as its text, at most MAX_BOX_WIDTH columns (a picture fits 80 columns; narrow boxes sit
side by side).
"""

from __future__ import annotations

from rich import box
from rich.cells import cell_len
from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from backprop_cli.i18n import Messages
from backprop_cli.output import visible
from backprop_cli.render.picture import layers
from backprop_cli.render.tensor_picture import TensorCard, TensorEdge, entry_lines, legend, tensor_picture
from backprop_cli.trace import Trace

MAX_BOX_WIDTH = 78  # a box alone on its row of an 80-column terminal, with room to spare
INNER = MAX_BOX_WIDTH - 4  # a box's border and padding take four columns
LABEL_WIDTH = 32  # node titles in boxes and on edges
RULE_WIDTH = 48


def _block(body: Text, prefix: str, tensor, style: str) -> None:
    """`prefix` then the tensor's nested-list lines under one another: on the prefix's line
    where its rows wrap no more there than on a line of their own, else on the lines below it,
    indented by two."""
    lines = entry_lines(tensor, INNER - cell_len(prefix))
    if len(lines) <= len(entry_lines(tensor, INNER - 2)):
        indent = " " * cell_len(prefix)
        body.append("\n" + prefix + lines[0], style=style)
        for line in lines[1:]:
            body.append("\n" + indent + line, style=style)
        return
    body.append("\n" + prefix.rstrip(), style=style)
    for line in entry_lines(tensor, INNER - 2):
        body.append("\n  " + line, style=style)


def _edge_lines(body: Text, edge: TensorEdge, last: bool, depth: int, cards: dict[str, TensorCard],
                outgoing: dict[str, list[TensorEdge]], messages: Messages) -> None:
    lead = "   " * depth
    branch, rest = ("└▶ ", "   ") if last else ("├▶ ", "│  ")
    target = cards[edge.target]
    if target.is_copy:
        body.append(f"\n{lead}{branch}{target.title} {target.shape}", style="cyan")
        body.append(f"\n{lead}{rest}{target.operation}", style="dim")
    else:
        body.append(f"\n{lead}{branch}{visible(target.title)}", style="cyan")
    body.append(f"\n{lead}{rest}{'⚠ ' if edge.kink else ''}← {visible(edge.rule)}",
                style="bold red" if edge.kink else "yellow")
    if edge.note:
        body.append(f"\n{lead}{rest}  {edge.note}", style="dim")
    if target.is_copy:  # the copy goes on to the operation
        onward = outgoing.get(target.key, [])
        for k, next_edge in enumerate(onward):
            _edge_lines(body, next_edge, k == len(onward) - 1, depth + 1, cards, outgoing, messages)


def _panel(card: TensorCard, outgoing: dict[str, list[TensorEdge]], cards: dict[str, TensorCard],
           messages: Messages) -> Panel:
    body = Text()
    if card.operation:
        body.append("\n" + visible(card.operation), style="dim")
    if card.value is not None:
        _block(body, "= ", card.value, "green")
    if card.gradient is not None:
        _block(body, visible(card.gradient_name) + " = ", card.gradient, "bold magenta" if card.paths > 1 else "magenta")
        if card.paths > 1:
            body.append("\n  " + messages("graph.paths", n=card.paths), style="dim magenta")
    edges = outgoing.get(card.key, [])
    for k, edge in enumerate(edges):
        _edge_lines(body, edge, k == len(edges) - 1, 0, cards, outgoing, messages)
    if body.plain.startswith("\n"):
        body = body[1:]
    title = Text(visible(card.title), style="bold")
    kind = messages("graph.input") if card.is_input else (messages("graph.output") if card.is_output else "")
    if kind:
        title.append(f" ({kind})", style="dim")
    title.append(f" {card.shape}", style="dim")
    if card.kink:
        title.append(" ⚠", style="bold red")
    natural = max([cell_len(title.plain) + 6] + [cell_len(line) + 4 for line in body.plain.split("\n")])
    return Panel(body, title=title, title_align="left", box=box.DOUBLE if card.is_output else box.ROUNDED,
                 expand=False, padding=(0, 1), width=min(MAX_BOX_WIDTH, natural),
                 border_style="red" if card.kink else "none")


def render_tensor_graph_text(trace: Trace, messages: Messages) -> RenderableType:
    cards, edges = tensor_picture(trace, messages, label_width=LABEL_WIDTH, rule_width=RULE_WIDTH)
    by_key = {card.key: card for card in cards}
    outgoing: dict[str, list[TensorEdge]] = {}
    for edge in edges:
        outgoing.setdefault(edge.source, []).append(edge)
    nodes = [card for card in cards if not card.is_copy]
    rows: list[RenderableType] = [Text(legend(trace, messages), style="dim")]
    grouped = layers(trace, nodes)
    for depth, layer in enumerate(grouped):
        rows.append(Columns([_panel(card, outgoing, by_key, messages) for card in layer], padding=(0, 1)))
        if depth < len(grouped) - 1:
            rows.append(Text("   ▼", style="dim"))
    if any(card.kink for card in nodes):
        rows.append(Text(messages("graph.kink"), style="dim"))
    return Group(*rows)
