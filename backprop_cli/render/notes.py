"""The notes every view shows: exactness, symbolic mode, kinks, abbreviations, check method."""

from __future__ import annotations

from backprop_cli import limits
from backprop_cli.engine import Report
from backprop_cli.i18n import Messages
from backprop_cli.render.common import exact_text, node_label


def notes_lines(report: Report, messages: Messages) -> list[str]:
    """The notes every view shows: exactness, symbolic mode, kinks, check method."""
    trace = report.trace
    graph = trace.graph
    lines: list[str] = []
    if trace.numeric:
        lines.append(messages("note.numeric", nodes=f"{limits.EXACT_MODE_MAX_NODES:,}"))
    elif trace.decimal_nodes or any(g.exact is None and g.approx is not None for g in trace.gradients.values()):
        lines.append(messages("note.decimal", digits=limits.DECIMAL_DIGITS,
                              count=limits.MAX_EXACT_EXPRESSION_NODES, exact_digits=f"{limits.MAX_EXACT_DIGITS:,}"))
    unbound = [graph.nodes[i].name for i in graph.inputs if trace.values[i].approx is None]
    if unbound:
        lines.append(messages("note.symbolic", names=", ".join(unbound)))
    for index in trace.kinks:
        lines.append(messages("note.kink", node=node_label(graph.nodes[index])))
    if trace.named is not None and any(g.exact is None for g in trace.gradients.values()):
        lines.append(messages("note.abbreviation", limit=limits.MAX_SYMBOLIC_EXPRESSION_NODES))
    if not unbound:
        lines.append(messages("note.check_method", digits=limits.FD_DIGITS, exponent=limits.FD_STEP_EXPONENT,
                              tol=f"{limits.FD_TOLERANCE:g}"))
    return lines
