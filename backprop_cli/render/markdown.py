"""The walkthrough as Markdown, for notes, homework write-ups and issue comments."""

from __future__ import annotations

import re

from backprop_cli.engine import Report
from backprop_cli.i18n import Messages
from backprop_cli.numbers import format_decimal
from backprop_cli.render.common import (
    gradient_text,
    derivative,
    exact_text,
    local_formula_text,
    node_label,
    number_text,
    operand,
    path_terms,
    value_text,
)
from backprop_cli.render.notes import notes_lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """A code span whose fence is longer than any run of backticks in the text, so that user
    text (a comment in a label) cannot close it early and become Markdown or raw HTML."""
    if "`" not in text:
        return f"`{text}`"
    fence = "`" * (max(len(run) for run in re.findall("`+", text)) + 1)
    return f"{fence} {text} {fence}"


def _inline(text: str) -> str:
    """User text outside a code span (the notes): the characters that start HTML, a link or a
    code span are escaped, so a comment cannot become markup."""
    return re.sub(r"([\\`<>&\[\]])", r"\\\1", text)


def render_markdown(report: Report, messages: Messages) -> str:
    if report.symbolic_tensors:
        from backprop_cli.render.formulas import formulas_markdown
        return formulas_markdown(report, messages)
    if report.trace.tensor:
        from backprop_cli.render.tensor_tree import tensor_markdown
        return tensor_markdown(report, messages)
    trace = report.trace
    graph = trace.graph
    out = graph.nodes[trace.output]
    lines: list[str] = [f"## {messages('heading.forward')}", ""]
    for index in graph.inputs:
        if trace.values[index].approx is not None:
            lines.append(f"- {_code(node_label(graph.nodes[index]))} = {_code(value_text(trace.values[index]))}")
    for name, index, _ in graph.statements:
        lines.append(f"- {_code(name + ' = ' + graph.nodes[index].text)} = {_code(value_text(trace.values[index]))}")
        if index == trace.output:
            break
    if report.tangent_passes:  # --forward: the tangents instead of the reverse pass
        from backprop_cli.render.tangents import tangent_markdown
        return "\n".join(lines + [""] + tangent_markdown(report, messages))
    lines += ["", f"## {messages('heading.backward')}", "", messages("heading.backward_intro", out=node_label(out)), ""]
    for step_index, step in enumerate(trace.steps):  # reverse-pass order: a node after its consumers
        node = graph.nodes[step.source]
        consumer = graph.nodes[step.consumer]
        local = local_formula_text(trace, step, messages)
        product = messages("tree.product", upstream=operand(number_text(step.upstream)),
                           local=operand(number_text(step.local)), contribution=number_text(step.contribution))
        lines.append(f"- {_code(derivative(consumer, node) + ' = ' + local)} — {messages.rule(trace.rule_name(step), step.position)}; "
                     f"{_code(product)}")
        paths = trace.paths_into[step.source]
        if len(paths) > 1 and paths[-1] == step_index:
            terms = path_terms(trace, paths)
            lines.append("  - " + _code(messages("tree.sum", gradient=derivative(out, node), terms=terms,
                                                 total=number_text(trace.gradients[step.source]))))
    lines += ["", f"## {messages('heading.gradients', out=node_label(out))}", ""]
    header = [messages("column.input"), messages("column.value"), messages("column.gradient", out=node_label(out)),
              messages("column.decimal"), messages("column.fd"), messages("column.error"), messages("column.check")]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for check in report.checks:
        gradient = trace.gradients[check.node]
        row = [node_label(graph.nodes[check.node]), value_text(trace.values[check.node]),
               gradient_text(trace, check.node) if trace.named is not None
            else (exact_text(gradient.exact) if gradient.exact is not None else "≈"),
               format_decimal(gradient.approx), format_decimal(check.estimate),
               f"{check.error:.1e}" if check.error is not None else "", messages(f"check.{check.status.value}")]
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    if report.updates:
        lines += ["", f"## {messages('heading.step', lr=exact_text(report.learning_rate))}", ""]
        for update in report.updates:
            lines.append(f"- {_code(node_label(graph.nodes[update.node]))}: "
                         f"{_code(value_text(update.old))} → {_code(value_text(update.new))}")
    notes = notes_lines(report, messages)
    if notes:
        lines += ["", f"## {messages('heading.notes')}", ""] + [f"- {_inline(n.strip())}" for n in notes]
    return "\n".join(lines) + "\n"
