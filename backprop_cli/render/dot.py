"""The graph in Graphviz's DOT language, and its rendering to SVG or PNG by `dot`."""

from __future__ import annotations

import shutil
import subprocess

from backprop_cli.i18n import Messages
from backprop_cli.trace import Trace
from backprop_cli.errors import BackpropError
from backprop_cli.output import visible
from backprop_cli.render.picture import cards

GRAPHVIZ_TIMEOUT_SECONDS = 60
INSTALL_HINT = ("install Graphviz: 'sudo apt-get install graphviz' (Debian/Ubuntu), 'brew install graphviz' "
                "(macOS); or use --format dot or --format text, which need nothing installed")


KINK_COLOR = "#cf222e"


def _html(text: str) -> str:
    """Escape user text for a Graphviz HTML-like label (control characters made visible: Graphviz
    rejects them, and SVG cannot hold them)."""
    return (visible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("]", "&#93;").replace("[", "&#91;"))


def render_dot(trace: Trace, messages: Messages | None = None) -> str:
    messages = messages or Messages()
    if trace.tensor:  # shapes, nested lists and rules: render/tensor_dot.py
        from backprop_cli.render.tensor_dot import render_tensor_dot

        return render_tensor_dot(trace, messages)
    nodes, edges = cards(trace, messages, width=18, digits=4)
    lines = [
        "digraph backprop {",
        '  graph [rankdir=TB, fontname="Helvetica", nodesep=0.25, ranksep=0.45];',
        '  node [shape=box, style="rounded,filled", fillcolor="#f7f7f7", fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
    ]
    for card in nodes:
        rows = [f"<B>{_html(card.title)}</B>"]
        if not card.is_input:
            rows.append(f'<FONT POINT-SIZE="9">{_html(card.operation)}</FONT>')
        if card.value:
            rows.append(f'<FONT COLOR="#1a7f37">{_html(messages("graph.value"))} {_html(card.value)}</FONT>')
        if card.gradient:
            rows.append(f'<FONT COLOR="#cf222e">{_html(card.gradient)}</FONT>')
        if card.kink:
            rows.append(f'<FONT COLOR="#9a6700" POINT-SIZE="9">{_html(messages("graph.kink"))}</FONT>')
        attributes = [f"label=<{'<BR/>'.join(rows)}>"]
        if card.kink:
            attributes.append(f'color="{KINK_COLOR}", penwidth=2, fillcolor="#fff1e5"')
        if card.is_input:
            attributes.append('shape=ellipse, fillcolor="#ddf4ff"')
        if card.is_output:
            attributes.append('peripheries=2, fillcolor="#fff8c5"')
        lines.append(f"  n{card.index} [{', '.join(attributes)}];")
    for edge in edges:
        if edge.kink:  # the local derivative at a kink is the one-sided convention
            lines.append(f"  n{edge.source} -> n{edge.consumer} [label=<⚠ {_html(edge.local)}>, "
                         f'style=dashed, color="{KINK_COLOR}", fontcolor="{KINK_COLOR}", penwidth=1.5];')
        else:
            lines.append(f"  n{edge.source} -> n{edge.consumer} [label=<{_html(edge.local)}>];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def run_graphviz(dot_text: str, output_format: str) -> bytes:
    executable = shutil.which("dot")
    if executable is None:
        raise BackpropError(f"--format {output_format} needs Graphviz's 'dot' program, which is not on PATH",
                            hint=INSTALL_HINT)
    try:
        completed = subprocess.run([executable, f"-T{output_format}"], input=dot_text.encode("utf-8"),
                                   capture_output=True, timeout=GRAPHVIZ_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise BackpropError(f"Graphviz took longer than {GRAPHVIZ_TIMEOUT_SECONDS} s to draw the graph",
                            hint="use --format text or dot for very large graphs") from None
    except OSError as exc:
        raise BackpropError(f"could not run Graphviz's 'dot': {exc}", hint=INSTALL_HINT) from None
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BackpropError("Graphviz failed: " + (message[0] if message else f"exit code {completed.returncode}"))
    return completed.stdout
