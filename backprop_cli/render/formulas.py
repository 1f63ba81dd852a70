"""Symbolic tensors (--shape, no values): each gradient as a matrix formula in the program's
names, with the shape it has and how its check at random points went."""

from __future__ import annotations

import csv
import io
import json

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from backprop_cli.engine import Report
from backprop_cli.i18n import Messages
from backprop_cli.lazy import sp
from backprop_cli.notation import derivative, exact_text, node_label
from backprop_cli.render.notes import notes_lines
from backprop_cli.render.table import check_mark
from backprop_cli.shapes import shape_text


def formula_rows(report: Report, every_name: bool = False) -> list[tuple[int, str, str, object]]:
    """(node, shape, formula, check or None): the reported inputs, or (explain) every name the
    output depends on, the statements last to first as the reverse pass meets them."""
    trace = report.trace
    graph = trace.graph
    checks = {c.node: c for c in report.checks}
    nodes = list(report.wrt)
    if every_name:
        reached = graph.ancestors_of(trace.output)
        statements = [i for _, i, _ in graph.statements if reached[i] and i != trace.output]
        nodes = statements[::-1] + [i for i in nodes if i not in statements]
    rows = []
    for index in nodes:
        formula = report.formulas.get(index, sp.Integer(0))  # not reached: 0
        # None: the language cannot write it (a (m, 1) operand's gradient keeps its axis)
        rows.append((index, shape_text(trace.shape(index)), exact_text(formula) if formula is not None else "—",
                     checks.get(index)))
    return rows


def render_formulas(report: Report, messages: Messages, every_name: bool = False) -> RenderableType:
    trace = report.trace
    graph = trace.graph
    out = graph.nodes[trace.output]
    table = Table(title=messages("heading.tensor_formulas", out=node_label(out)), title_justify="left",
                  title_style="bold", box=box.SIMPLE_HEAD)
    table.add_column(messages("column.input"), no_wrap=True)
    table.add_column(messages("column.shape"), no_wrap=True)
    table.add_column(messages("column.gradient", out=node_label(out)))
    table.add_column(messages("column.check"), justify="center")
    for index, shape, formula, check in formula_rows(report, every_name):
        table.add_row(node_label(graph.nodes[index]), shape, formula,
                      check_mark(check.status, messages) if check is not None else "")
    parts: list[RenderableType] = [table]
    notes = notes_lines(report, messages)
    if notes:
        text = Text()
        text.append(messages("heading.notes"), style="bold")
        for line in notes:
            text.append("\n" + line, style="dim")
        parts += [Text(""), text]
    return Group(*parts)


def formulas_markdown(report: Report, messages: Messages) -> str:
    from backprop_cli.render.markdown import _cell, _code, _inline

    trace = report.trace
    graph = trace.graph
    out = graph.nodes[trace.output]
    lines = [f"## {messages('heading.tensor_formulas', out=node_label(out))}", "",
             f"| {messages('column.input')} | {messages('column.shape')} | "
             f"{messages('column.gradient', out=node_label(out))} | {messages('column.check')} |", "|---|---|---|:---:|"]
    for index, shape, formula, check in formula_rows(report, every_name=True):
        mark = messages(f"check.{check.status.value}") if check is not None else ""
        lines.append(f"| {_cell(_code(node_label(graph.nodes[index])))} | {shape} | "
                     f"{_cell(_code(derivative(out, graph.nodes[index]) + ' = ' + formula))} | {mark} |")
    notes = notes_lines(report, messages)
    if notes:
        lines += ["", f"## {messages('heading.notes')}", ""] + [f"- {_inline(n)}" for n in notes]
    return "\n".join(lines) + "\n"


def formulas_json(report: Report, messages: Messages) -> str:
    """SPEC §4 in symbolic mode: `exact` and `float` null, `formula` the matrix formula."""
    trace = report.trace
    graph = trace.graph
    gradients = {}
    for index, shape, formula, check in formula_rows(report):
        gradients[graph.nodes[index].label] = {
            "shape": list(trace.shape(index)), "exact": None, "float": None, "formula": formula,
            "fd": None, "error": check.error, "ok": check.ok, "status": check.status.value}
    document = {
        "of": graph.nodes[trace.output].label, "value": None, "gradients": gradients,
        "check": {"method": report.method, "ok": report.ok},
        "inputs": {graph.nodes[i].label: {"shape": list(trace.shape(i)), "exact": None, "float": None}
                   for i in graph.inputs},
        "formulas": {graph.nodes[i].label: f for i, _, f, _ in formula_rows(report, every_name=True)},
        "nodes": [{"id": n.index, "name": n.name, "label": n.text, "kind": n.kind.value, "op": n.op,
                   "args": list(n.args), "shape": list(trace.shape(n.index))}
                  for n in graph.nodes[: trace.output + 1]],
        "notes": notes_lines(report, messages),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def formulas_csv(report: Report) -> str:
    from backprop_cli.render.table import CSV_COLUMNS

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    graph = report.trace.graph
    for index, _, formula, check in formula_rows(report):
        writer.writerow([graph.nodes[index].label, "", formula, "", "",
                         "" if check.error is None else f"{check.error:.3e}",
                         "" if check.ok is None else str(check.ok).lower(), check.status.value])
    return buffer.getvalue()
