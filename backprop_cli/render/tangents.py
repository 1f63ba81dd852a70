"""Forward mode as a student reads it: each node in program order with its value, its tangent
and the rule that produced it (`ċ = ȧ + ḃ = 0 + 1 = 1`). One view model, used by the tree and
Markdown views; the JSON view writes the same passes as data."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.text import Text

from backprop_cli.engine import Report
from backprop_cli.graph import NodeKind
from backprop_cli.i18n import Messages
from backprop_cli.render.notes import Notes
from backprop_cli.render.common import (EdgeFormulas, assign_text, exact_text, grouped, node_label, number_text,
                                        operand, shorten)
from backprop_cli.trace import TangentPass

DOT = "\u0307"  # combining dot above: ẋ, ḣ1


def dotted(label: str) -> str:
    """The tangent of a node, Newton's way: ẋ for x, ḣ1 for h1, (w*x)˙ for an unnamed node."""
    if label.isidentifier():  # precomposed where Unicode has the letter (ċ), combining elsewhere (v̇)
        return unicodedata.normalize("NFC", label[0] + DOT) + label[1:]
    return f"{grouped(label)}˙"


@dataclass(frozen=True)
class TangentRow:
    label: str  # `c = a + b`, or the input's name
    value: str  # `= 3`
    rule: str  # `ȧ + ḃ` (empty for an input: its tangent is the direction's)
    numbers: str  # `0 + 1`
    tangent: str  # `1`
    name: str  # the dotted name: `ċ`


def _shown(value) -> str:
    """A tangent or a result: a number, or a tensor as a nested list."""
    if hasattr(value, "entries"):
        from backprop_cli.render.tensor_text import tensor_text
        return tensor_text(value)
    return number_text(value)


def direction_text(report: Report, tangent_pass: TangentPass) -> str:
    graph = report.trace.graph
    return ", ".join(f"{dotted(node_label(graph.nodes[i]))} = "
                     f"{_shown(v) if hasattr(v, 'entries') else exact_text(v.exact)}"
                     for i, v in tangent_pass.direction.items())


def _push_text(trace, step, source_name: str) -> str:
    """A tensor edge's forward rule in the program's notation: how the argument's tangent moves the node."""
    graph = trace.graph
    consumer = graph.nodes[step.consumer]
    labels = [grouped(node_label(graph.nodes[a], 24)) for a in consumer.args]
    rule = step.local.rule
    dot = source_name
    if rule == "entrywise":
        formula = EdgeFormulas(trace)(step)
        return dot if formula == "1" else ("-" + dot if formula == "-1" else f"{grouped(formula)} * {dot}")
    if rule == "matmul_left":
        return f"{dot} @ {labels[1]}"
    if rule == "matmul_right":
        return f"{labels[0]} @ {dot}"
    if rule == "transpose":
        return f"{dot}.T"
    if rule == "reduce":
        name = "mean" if step.local.mean else "sum"
        return f"{name}({dot}" + (f", {consumer.params[0]})" if consumer.params else ")")
    if rule == "outer_left":
        return f"outer({dot}, {labels[1]})"
    if rule == "outer_right":
        return f"outer({labels[0]}, {dot})"
    own = grouped(node_label(consumer, 24))
    if rule == "softmax":
        return f"{own} * ({dot} - sum({own} * {dot}, -1))"
    if rule == "log_softmax":
        return f"{dot} - sum(softmax({labels[0]}) * {dot}, -1)"
    return f"{dot} at [{step.position}]"


def tangent_rows(report: Report, tangent_pass: TangentPass, messages: Messages | None = None) -> list[TangentRow]:
    trace = report.trace
    graph = trace.graph
    formulas = EdgeFormulas(trace, messages)
    rows = []
    for node in graph.nodes[: trace.output + 1]:
        index = node.index
        if index not in tangent_pass.tangents or not node.depends_on_input:
            continue
        name = dotted(node.label)
        tangent = _shown(tangent_pass.tangents[index])
        if trace.tensor:  # the rule over the arguments' tangents; the numbers are the tensor itself
            from backprop_cli.render.tensor_text import tensor_text
            label = f"{node.name} = {shorten(node.text, 60)}" if node.name and node.kind is not NodeKind.INPUT \
                else node_label(node)
            value = f"{trace.shape(index)} = {tensor_text(trace.values[index])}"
            terms = [_push_text(trace, trace.step(edge), dotted(graph.nodes[trace.step(edge).source].label))
                     for edge in trace.edges_into(index)]
            rows.append(TangentRow(label, value, _join(terms), tangent, tangent, name))
            continue
        if node.kind is NodeKind.INPUT:
            rows.append(TangentRow(node_label(node), assign_text(trace.values[index], node.label), "", "",
                                   tangent, name))
            continue
        rule_terms, number_terms = [], []
        for edge in trace.edges_into(index):
            step = trace.step(edge)
            formula = formulas(step)
            source_tangent = operand(number_text(tangent_pass.tangents[step.source]))
            source_name = dotted(graph.nodes[step.source].label)
            if formula == "1":
                rule_terms.append(source_name)
                number_terms.append(source_tangent)
            elif formula == "-1":
                rule_terms.append("-" + source_name)
                number_terms.append("-" + source_tangent)
            else:
                rule_terms.append(f"{grouped(formula)}·{source_name}")
                number_terms.append(f"{operand(number_text(step.local))}·{source_tangent}")
        label = f"{node.name} = {shorten(node.text, 60)}" if node.name else node_label(node)
        rows.append(TangentRow(label, assign_text(trace.values[index]), _join(rule_terms), _join(number_terms),
                               tangent, name))
    return rows


def _join(terms: list[str]) -> str:
    text = " + ".join(terms)
    return text.replace("+ -", "- ")


def check_text(report: Report, tangent_pass: TangentPass, messages: Messages) -> list[str]:
    """The result and its two cross-checks, as sentences."""
    graph = report.trace.graph
    out = node_label(graph.nodes[report.trace.output])
    ((first, component),) = list(tangent_pass.direction.items())[:1] or [(None, None)]
    unit_entry = _unit_entry(component) if len(tangent_pass.direction) == 1 else None
    if unit_entry is not None:  # a unit direction: a partial derivative (of one entry, for a tensor)
        wrt = node_label(graph.nodes[first]) + ("[" + ",".join(map(str, unit_entry)) + "]" if unit_entry else "")
        lines = [messages("forward_mode.result_unit", result=_shown(tangent_pass.result),
                          derivative=f"∂{grouped(out)}/∂{wrt}")]
    else:
        lines = [messages("forward_mode.result", out=out, result=_shown(tangent_pass.result))]
    agreement = {True: "forward_mode.reverse_agrees", False: "forward_mode.reverse_differs",
                 None: "forward_mode.reverse_unknown"}[tangent_pass.agrees]
    lines.append(messages(agreement, out=out, reverse=_shown(tangent_pass.reverse)))
    if tangent_pass.estimate is not None:
        lines.append(messages("forward_mode.fd", estimate=number_text_of(tangent_pass.estimate),
                              error=f"{tangent_pass.error:.1e}", mark=messages(f"check.{tangent_pass.status}")))
    return lines


def _unit_entry(component):
    """() for a scalar direction of 1, the entry for a tensor that is 1 there and 0 elsewhere, else None."""
    if not hasattr(component, "entries"):
        return () if component.exact == 1 else None
    ones = [e for e in _entries(component.shape) if component.entries[e].exact != 0]
    if len(ones) == 1 and component.entries[ones[0]].exact == 1:
        return ones[0]
    return None


def _entries(shape):
    indices = [()]
    for n in shape:
        indices = [i + (k,) for i in indices for k in range(n)]
    return indices


def number_text_of(decimal) -> str:
    from backprop_cli.numbers import format_decimal
    return format_decimal(decimal)


def cost_text(report: Report, messages: Messages) -> str:
    key = "forward_mode.cost_tensor" if report.trace.tensor else "forward_mode.cost"
    return messages(key, n=report.passes["forward"])


def rule_text(row: TangentRow) -> str:
    """`ċ = ȧ + ḃ = 0 + 1 = 1`; an input's tangent is the direction's: `ȧ = 0`."""
    if not row.rule:
        return f"{row.name} = {row.tangent}"
    if row.numbers == row.tangent:
        return f"{row.name} = {row.rule} = {row.tangent}"
    return f"{row.name} = {row.rule} = {row.numbers} = {row.tangent}"


def tangent_section(report: Report, messages: Messages) -> RenderableType:
    """Every forward-mode pass of the report, then what each mode costs."""
    parts: list[RenderableType] = []
    for tangent_pass in report.tangent_passes:
        parts += [Notes([messages("forward_mode.heading", direction=direction_text(report, tangent_pass))], "bold"),
                  Notes([messages("forward_mode.intro")])]
        text = Text()
        for k, row in enumerate(tangent_rows(report, tangent_pass, messages)):
            if k:
                text.append("\n")
            text.append(row.label, style="bold cyan")
            text.append(" " + row.value, style="green")
            text.append("\n    " + rule_text(row), style="yellow")
        lines = check_text(report, tangent_pass, messages)
        style = "green" if tangent_pass.ok is not False and tangent_pass.agrees is not False else "red"
        parts += [text, Notes(lines, f"bold {style}"), Text("")]
    parts.append(Notes([cost_text(report, messages)]))
    return Group(*parts)


def tangent_markdown(report: Report, messages: Messages) -> list[str]:
    from backprop_cli.render.markdown import _code
    lines: list[str] = []
    columns = [messages("forward_mode.column_node"), messages("column.value"), messages("forward_mode.column_rule"),
               messages("forward_mode.column_tangent")]
    for tangent_pass in report.tangent_passes:
        heading = messages("forward_mode.heading", direction=direction_text(report, tangent_pass))
        lines += [f"## {heading}", "", messages("forward_mode.intro"), "",
                  "| " + " | ".join(columns) + " |", "|---|---|---|---|"]
        for row in tangent_rows(report, tangent_pass, messages):
            lines.append(f"| {_code(row.label)} | {_code(row.value)} | {_code(rule_text(row))} "
                         f"| {_code(row.tangent)} |")
        lines += [""] + [f"- {line}" for line in check_text(report, tangent_pass, messages)] + [""]
    lines += [cost_text(report, messages), ""]
    return lines
