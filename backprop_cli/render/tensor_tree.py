"""The walkthrough of a tensor program: shapes on every node, each edge's rule with its shape
arithmetic and values, fan-out summed as for scalars; then the table entry by entry.

The same lines feed the terminal tree and the Markdown (`walkthrough_lines`); nothing here
computes: rules and shapes are worded from the trace (render/tensor_text.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from backprop_cli.engine import Report
from backprop_cli.finite_difference import CheckStatus
from backprop_cli.i18n import Messages
from backprop_cli.notation import derivative, exact_text, grouped, node_label, shorten
from backprop_cli.render.notes import notes_lines
from backprop_cli.render.table import check_mark, gradient_table
from backprop_cli.render.tensor_text import DELTA, edge_rule, tensor_text
from backprop_cli.render.tree import MAX_TREE_LINES, _walk, forward_frame, notes_section, step_table
from backprop_cli.shapes import shape_text


@dataclass(frozen=True)
class Line:
    text: str
    style: str = ""


def _node_line(trace, index: int) -> str:
    node = trace.graph.nodes[index]
    return f"{node_label(node)}  {shape_text(trace.shape(index))} = {tensor_text(trace.values[index])}"


def step_lines(report: Report, step_index: int, k: int, n: int, summed: list[int] | None,
               messages: Messages) -> list[Line]:
    """One edge: the source with its shape and value; the rule and its formula; the shape
    arithmetic with its check; δ (the upstream) and the result; path k of n and the sum."""
    trace = report.trace
    graph = trace.graph
    step = trace.steps[step_index]
    source, consumer = graph.nodes[step.source], graph.nodes[step.consumer]
    out = graph.nodes[trace.output]
    rule = edge_rule(trace, step)
    gradient = derivative(out, source)
    lines = [Line(_node_line(trace, step.source), "bold cyan")]
    passes_on = rule.name == "entrywise" and rule.formula in (DELTA, "-" + DELTA) and consumer.op == "sum"
    if passes_on and n == 1:  # a term of a sum, same shape: the gradient passes on, in one line
        term = "tensor.minus" if rule.formula.startswith("-") else "tensor.plus"
        shown = messages("tensor.rule_line", rule=messages(term), gradient=gradient,
                         formula=f"{rule.formula} = {tensor_text(step.contribution)}")
        lines.append(Line(shown, "bold magenta" if source.name is not None else "yellow"))
        return lines
    rule_key = ("minus" if rule.formula.startswith("-") else "plus") if passes_on else rule.name
    rule_line = messages("tensor.rule_line", rule=messages(f"tensor.{rule_key}"), gradient=gradient, formula=rule.formula)
    if rule.broadcast_terms:
        rule_line += "   " + messages("tensor.terms", terms=rule.broadcast_terms)
    if rule.name == "matmul" and rule.formula.startswith("outer("):
        a, b = rule.formula[len("outer("):-1].split(", ", 1)
        rule_line += "   " + messages("tensor.i_e", text=f"{a}·{b}ᵀ")
    lines.append(Line(rule_line))
    fit = (messages("tensor.fits", node=node_label(source, 24)) if rule.fits else
           messages("tensor.misfit", node=node_label(source, 24), shape=shape_text(rule.source_shape)))
    lines.append(Line(f"{rule.shapes}, {fit}", "dim"))
    lines.append(Line(messages("tensor.delta", gradient=f"{derivative(out, consumer)}",
                               shape=shape_text(trace.shape(step.consumer))) + " = " + tensor_text(step.upstream),
                      "yellow"))
    contribution = tensor_text(step.contribution)
    if n > 1:
        lines.append(Line(f"= {contribution}   " + messages("tree.path", k=k, n=n), "yellow"))
        if summed is not None:
            terms = " + ".join(tensor_text(trace.steps[i].contribution) for i in summed)
            lines.append(Line(messages("tree.sum", gradient=gradient, terms=terms,
                                       total=tensor_text(trace.gradients[step.source])), "bold magenta"))
    else:
        lines.append(Line(f"= {contribution}" + (f"   →  {gradient}" if source.name is not None else ""),
                          "bold magenta" if source.name is not None else "yellow"))
    complete = n == 1 or summed is not None
    formula = (report.formulas or {}).get(step.source) if complete and source.name is not None else None
    if formula is not None and source.kind.value != "input" and not formula.is_Number:  # δ2 = (1 - y^2)*(y - t), as a course writes it
        text = exact_text(formula)
        if len(text) <= MAX_FORMULA_TEXT:
            lines.append(Line(messages("tensor.named", gradient=gradient, formula=text), "magenta"))
    if step.kink:
        lines.append(Line("⚠ " + messages("check.kink"), "red"))
    return lines


MAX_FORMULA_TEXT = 60  # a node's gradient formula is shown in the walkthrough up to this length


def walkthrough_steps(report: Report, messages: Messages):
    """(depth, lines) for each edge in the order of the reverse pass, as the tree nests them."""
    trace = report.trace
    steps_from: dict[int, list[int]] = {}
    for i, step in enumerate(trace.steps):
        steps_from.setdefault(step.consumer, []).append(i)
    for count, (step_index, parent, k, n, summed) in enumerate(_walk(trace, steps_from), start=1):
        if count > MAX_TREE_LINES:
            return
        yield step_index, parent, k, n, step_lines(report, step_index, k, n, summed, messages)


def forward_table(report: Report, messages: Messages) -> Table:
    trace = report.trace
    graph = trace.graph
    table = forward_frame(messages, shapes=True)
    for index in graph.inputs:
        table.add_row(node_label(graph.nodes[index]), "", shape_text(trace.shape(index)),
                      "= " + tensor_text(trace.values[index]))
    for name, index, _ in graph.statements:
        node = graph.nodes[index]
        table.add_row(name, "= " + shorten(node.text, 60), shape_text(trace.shape(index)),
                      "= " + tensor_text(trace.values[index]))
        if index == trace.output:
            break
    return table


def backward_tree(report: Report, messages: Messages) -> RenderableType:
    trace = report.trace
    out = trace.graph.nodes[trace.output]
    root = Text()
    root.append(node_label(out), style="bold cyan")
    root.append(f" = {tensor_text(trace.values[trace.output])}", style="green")
    root.append(f"    {derivative(out, out)} = 1", style="bold magenta")
    tree = Tree(root, guide_style="dim")
    branches: dict[int | None, Tree] = {None: tree}
    for step_index, parent, k, n, lines in walkthrough_steps(report, messages):
        text = Text()
        for i, line in enumerate(lines):
            text.append(("\n" if i else "") + line.text, style=line.style)
        branch = branches[parent].add(text)
        if k == n:
            branches[step_index] = branch
    intro = Text(messages("heading.backward_intro", out=node_label(out)), style="dim")
    return Group(Text(messages("heading.backward"), style="bold"), intro, tree)


def result_line(report: Report, messages: Messages) -> Text:
    trace = report.trace
    graph = trace.graph
    out = graph.nodes[trace.output]
    text = Text(messages("tree.result") + " ", style="bold")
    for k, check in enumerate(report.checks):
        if k:
            text.append("   ")
        text.append(f"{derivative(out, graph.nodes[check.node])} = {tensor_text(trace.gradients[check.node])}",
                    style="bold magenta")
        if check.status is not CheckStatus.SKIPPED:
            text.append(" ")
            text.append_text(check_mark(check.status, messages))
    return text


def render_tensor_explain(report: Report, messages: Messages) -> RenderableType:
    if report.tangent_passes:  # --forward: the tangents instead of the reverse pass
        from backprop_cli.render.tangents import tangent_section
        notes = notes_section(report, messages)
        return Group(forward_table(report, messages), Text(""), tangent_section(report, messages),
                     *([Text(""), notes] if notes is not None else []))
    if report.entry_chain:  # --entry: one entry's scalar chain in place of the whole tree
        chain = Text()
        chain.append(messages("tensor.entry_heading"), style="bold")
        for line in entry_lines(report, messages):
            chain.append("\n" + line.text, style=line.style)
        middle: RenderableType = chain
    else:
        middle = backward_tree(report, messages)
    parts: list[RenderableType] = [forward_table(report, messages), Text(""), middle,
                                   Text(""), gradient_table(report, messages)]
    if report.updates:
        parts += [Text(""), step_table(report, messages)]
    notes = notes_section(report, messages)
    if notes is not None:
        parts += [Text(""), notes]
    if report.checks:
        parts += [Text(""), result_line(report, messages)]
    return Group(*parts)


def tensor_markdown(report: Report, messages: Messages) -> str:
    """The same walkthrough as Markdown: a list per edge, nested as the tree is."""
    from backprop_cli.render.markdown import _cell, _code, _inline

    trace = report.trace
    graph = trace.graph
    out = graph.nodes[trace.output]
    lines = [f"## {messages('heading.forward')}", ""]
    for index in list(graph.inputs) + [i for _, i, _ in graph.statements[: 1 + [i for _, i, _ in graph.statements].index(trace.output)]]:
        lines.append(f"- {_code(_node_line(trace, index))}")
    if report.tangent_passes:  # --forward: the tangents instead of the reverse pass
        from backprop_cli.render.tangents import tangent_markdown
        lines += [""] + tangent_markdown(report, messages)
        steps = []
    else:
        lines += ["", f"## {messages('heading.backward')}", "",
                  f"- {_code(node_label(out))}: {_inline(derivative(out, out))} = 1"]
        steps = walkthrough_steps(report, messages)
    depth: dict[int | None, int] = {None: 1}
    for step_index, parent, k, n, step in steps:
        depth[step_index] = depth[parent] + 1
        indent = "  " * (depth[step_index] - 1)
        lines.append(f"{indent}- {_code(step[0].text)}")
        lines.extend(f"{indent}  {_code(line.text)}  " for line in step[1:])
    lines += ["", f"## {messages('heading.gradients', out=node_label(out))}", "",
              "| " + " | ".join([messages("column.input"), messages("column.decimal"), messages("column.fd"),
                                 messages("column.error"), messages("column.check")]) + " |",
              "|---|---:|---:|---:|:---:|"]
    from backprop_cli.numbers import format_decimal
    for entry in report.entries():
        lines.append(f"| {_cell(_code(entry.label))} | {format_decimal(entry.gradient.approx)} | "
                     f"{format_decimal(entry.estimate)} | {'' if entry.error is None else f'{entry.error:.1e}'} | "
                     f"{messages('check.' + entry.status.value)} |")
    if report.updates:
        lines += ["", f"## {messages('heading.step', lr=str(report.learning_rate))}", ""]
        for update in report.updates:
            name = node_label(graph.nodes[update.node])
            lines.append(f"- {_code(name + ' = ' + tensor_text(update.old) + ' → ' + tensor_text(update.new))}")
    notes = notes_lines(report, messages)
    if notes:
        lines += ["", f"## {messages('heading.notes')}", ""] + [f"- {_inline(n)}" for n in notes]
    return "\n".join(lines) + "\n"


def entry_lines(report: Report, messages: Messages) -> list[Line]:
    """explain --entry: ∂L/∂W1[0,1] = ∂L/∂(W1 @ x)[0] × x[1] = (-1.46) × 2 = -2.92, then each
    factor's own gradient, up to the output."""
    from backprop_cli.entries import entry_label
    from backprop_cli.render.common import number_text, operand

    trace = report.trace
    graph = trace.graph
    out = graph.nodes[trace.output]
    lines: list[Line] = []
    for link in report.entry_chain:
        node = graph.nodes[link.node]
        name = entry_label(grouped(node_label(node, 32)), link.entry)
        left = f"∂{node_label(out)}/∂{name}"
        if not link.terms:
            lines.append(Line(f"{left} = 1", "bold magenta"))
            continue
        symbols, numbers = [], []
        for term in link.terms:
            consumer = graph.nodes[term.consumer]
            upstream_name = entry_label(grouped(node_label(consumer, 32)), term.entry)
            upstream = trace.gradients[term.consumer].entries[term.entry]
            symbols.append(f"∂{node_label(out)}/∂{upstream_name} × {operand(term.factor_text)}")
            numbers.append(f"{operand(number_text(upstream))} × {operand(number_text(term.factor))}")
        lines.append(Line(f"{left} = " + " + ".join(symbols), "bold cyan"))
        lines.append(Line("    = " + " + ".join(numbers) + f" = {number_text(link.gradient)}", "yellow"))
    return lines
