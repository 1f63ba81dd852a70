"""`backprop grad`: the gradients alone, as a table or CSV."""

from __future__ import annotations

import csv
import io

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from backprop_cli.finite_difference import CheckStatus
from backprop_cli.engine import Report
from backprop_cli.i18n import Messages
from backprop_cli.numbers import format_decimal
from backprop_cli.render.common import gradient_text, exact_string, exact_text, node_label, value_text


def check_mark(status: CheckStatus, messages: Messages) -> Text:
    styles = {CheckStatus.OK: "bold green", CheckStatus.MISMATCH: "bold red",
              CheckStatus.KINK: "yellow", CheckStatus.SKIPPED: "dim"}
    return Text(messages(f"check.{status.value}"), style=styles[status])


def gradient_table(report: Report, messages: Messages) -> Table:
    trace = report.trace
    graph = trace.graph
    out = graph.nodes[trace.output]
    table = Table(title=messages("heading.gradients", out=node_label(out)), title_justify="left",
                  title_style="bold", box=box.SIMPLE_HEAD)
    table.add_column(messages("column.input"))
    table.add_column(messages("column.value"))
    table.add_column(messages("column.gradient", out=node_label(out)), overflow="fold")
    table.add_column(messages("column.decimal"), justify="right")
    table.add_column(messages("column.fd"), justify="right")
    table.add_column(messages("column.error"), justify="right")
    table.add_column(messages("column.check"), justify="center")
    for check in report.checks:
        gradient = trace.gradients[check.node]
        table.add_row(
            node_label(graph.nodes[check.node]),
            value_text(trace.values[check.node]),
            gradient_text(trace, check.node) if trace.named is not None
            else (exact_text(gradient.exact) if gradient.exact is not None else "≈"),
            format_decimal(gradient.approx),
            format_decimal(check.estimate),
            f"{check.error:.1e}" if check.error is not None else "",
            check_mark(check.status, messages),
        )
    return table


def render_grad_table(report: Report, messages: Messages, notes: list[str]) -> RenderableType:
    parts: list[RenderableType] = [gradient_table(report, messages)]
    if notes:
        parts.append(Text("\n".join(notes), style="dim"))
    return Group(*parts)


CSV_COLUMNS = ["input", "value", "exact", "float", "fd", "error", "ok", "status"]


def render_csv(report: Report) -> str:
    trace = report.trace
    graph = trace.graph
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for check in report.checks:
        gradient = trace.gradients[check.node]
        writer.writerow([
            graph.nodes[check.node].label,
            exact_string(trace.values[check.node]),
            exact_string(gradient),
            repr(gradient.float()) if gradient.float() is not None else "",
            format_decimal(check.estimate, 17) if check.estimate is not None else "",
            f"{check.error:.3e}" if check.error is not None else "",
            "" if check.ok is None else str(check.ok).lower(),
            check.status.value,
        ])
    return buffer.getvalue()
