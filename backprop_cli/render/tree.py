"""The walkthrough in the terminal: forward values, the reverse-pass tree, the table.

Built from the report alone. The tree starts at the output and descends
along the reverse pass; a node reached by several paths is expanded once, at
the path that completes its sum, and the other paths point there.
"""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from backprop_cli.finite_difference import CheckStatus
from backprop_cli.engine import Report
from backprop_cli.graph import NodeKind
from backprop_cli.i18n import Messages
from backprop_cli.render.common import (
    gradient_text,
    assign_text,
    derivative,
    exact_text,
    local_formula_text,
    node_label,
    number_text,
    operand,
    path_terms,
    shorten,
    value_text,
)
from backprop_cli.render.notes import notes_lines
from backprop_cli.render.table import check_mark, gradient_table

MAX_TREE_LINES = 2_000
SUMMARY_NODES = 2_000  # explain prints a summary beyond this many graph nodes (--full for everything)
SUMMARY_ROWS = 10


def render_summary(report: Report, messages: Messages) -> RenderableType:
    """A big graph: the output, the largest and smallest gradients, --wrt ones, the check."""
    from rich import box
    trace = report.trace
    graph = trace.graph
    out = graph.nodes[trace.output]
    checks = {c.node: c for c in report.checks}
    reached = graph.ancestors_of(trace.output)
    numeric = [i for i in graph.inputs if reached[i] and trace.gradients.get(i) is not None
               and trace.gradients[i].approx is not None]
    by_size = sorted(numeric, key=lambda i: abs(trace.gradients[i].approx))
    parts: list[RenderableType] = [
        Text(messages("summary.heading", nodes=f"{len(graph.nodes):,}",
                      inputs=messages("summary.one_input") if len(graph.inputs) == 1 else
                      messages("summary.inputs", n=f"{len(graph.inputs):,}"), steps=f"{len(trace.steps):,}"),
             style="bold"),
        Text(f"{node_label(out)} {assign_text(trace.values[trace.output])}", style="green"),
    ]

    def table(title: str, indices: list[int]) -> Table:
        result = Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD)
        for key in ("input", "value"):
            result.add_column(messages(f"column.{key}"))
        result.add_column(messages("column.gradient", out=node_label(out)), justify="right")
        result.add_column(messages("column.check"), justify="center")
        for i in indices:
            check = checks.get(i)
            result.add_row(node_label(graph.nodes[i]), value_text(trace.values[i]),
                           number_text(trace.gradients[i]), messages(f"check.{check.status.value}") if check else "")
        return result

    explicit = [i for i in report.wrt if graph.nodes[i].kind is not NodeKind.INPUT]
    if explicit:
        parts.append(table(messages("summary.asked"), explicit))
    if len(by_size) <= 2 * SUMMARY_ROWS:  # few inputs: one table of them all, not largest and smallest
        parts.append(table(messages("summary.every"), by_size[::-1]))
    else:
        parts.append(table(messages("summary.largest", n=SUMMARY_ROWS), by_size[::-1][:SUMMARY_ROWS]))
        parts.append(table(messages("summary.smallest", n=SUMMARY_ROWS), by_size[:SUMMARY_ROWS]))
    errors = [c for c in report.checks if c.error is not None]
    if errors:  # the method is worded once, in the notes below
        worst = max(errors, key=lambda c: c.error)
        if len(errors) > 1 and len({c.error for c in errors}) == 1:  # the directional check: one shared error
            verdict = "summary.check_ok_shared" if report.ok else "summary.check_failed_shared"
        else:
            verdict = "summary.check_ok" if report.ok else "summary.check_failed"
        parts.append(Text(messages(verdict, error=f"{worst.error:.1e}", name=node_label(graph.nodes[worst.node])),
                          style="green" if report.ok else "red"))
    parts.append(Text(messages("summary.more"), style="dim"))
    notes = notes_section(report, messages)
    if notes is not None:
        parts += [Text(""), notes]
    return Group(*parts)


def render_explain(report: Report, messages: Messages, full: bool = False) -> RenderableType:
    """The whole walkthrough; past SUMMARY_NODES graph nodes a summary unless `full`."""
    if report.symbolic_tensors:  # symbolic tensors
        from backprop_cli.render.formulas import render_formulas
        return render_formulas(report, messages, every_name=True)
    if report.trace.tensor:
        from backprop_cli.render.tensor_tree import render_tensor_explain
        return render_tensor_explain(report, messages)
    if not full and report.trace.graph.size[0] > SUMMARY_NODES:
        return render_summary(report, messages)
    if report.tangent_passes:  # --forward: the tangents instead of the reverse pass
        from backprop_cli.render.tangents import tangent_section
        parts = [forward_section(report, messages), Text(""), tangent_section(report, messages)]
        notes = notes_section(report, messages)
        return Group(*parts, *([Text(""), notes] if notes is not None else []))
    parts: list[RenderableType] = [forward_section(report, messages), Text(""),
                                   backward_section(report, messages), Text(""),
                                   gradient_table(report, messages)]
    if report.updates:
        parts += [Text(""), step_table(report, messages)]
    notes = notes_section(report, messages)
    if notes is not None:
        parts += [Text(""), notes]
    if report.checks:  # a program with no inputs has no gradient to sum up (the notes say so)
        parts += [Text(""), result_line(report, messages)]
    return Group(*parts)


RESULT_ITEMS = 12


def result_line(report: Report, messages: Messages) -> Text:
    """The last line: each reported gradient with its check mark, the answer a student looks for."""
    trace = report.trace
    graph = trace.graph
    out = graph.nodes[trace.output]
    text = Text(messages("tree.result") + " ", style="bold")
    for k, check in enumerate(report.checks[:RESULT_ITEMS]):
        if k:
            text.append("   ")
        text.append(f"{derivative(out, graph.nodes[check.node])} = {gradient_text(trace, check.node)}",
                    style="bold magenta")
        if check.status is not CheckStatus.SKIPPED:
            text.append(" ")
            text.append_text(check_mark(check.status, messages))
    if len(report.checks) > RESULT_ITEMS:
        text.append("   " + messages("tree.result_more", n=len(report.checks) - RESULT_ITEMS), style="dim")
    return text


def forward_frame(messages: Messages, shapes: bool = False) -> Table:
    """The forward pass's table, empty: name, `= text`, (a tensor program's shape,) value."""
    table = Table(box=None, show_header=False, padding=(0, 1), title=messages("heading.forward"),
                  title_justify="left", title_style="bold")
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    if shapes:
        table.add_column(style="dim", no_wrap=True)
    table.add_column(style="green")
    return table


def forward_section(report: Report, messages: Messages) -> RenderableType:
    trace = report.trace
    graph = trace.graph
    table = forward_frame(messages)
    bound = [i for i in graph.inputs if trace.values[i].approx is not None]
    for index in bound:
        table.add_row(node_label(graph.nodes[index]), "", assign_text(trace.values[index]))
    for name, index, _ in graph.statements:
        node = graph.nodes[index]
        table.add_row(name, "= " + shorten(node.text, 60),
                      assign_text(trace.values[index]))
        if index == report.trace.output:
            break
    return table


def _step_text(report: Report, step_index: int, k: int, n: int, summed: list[int] | None,
               messages: Messages) -> Text:
    """One edge of the reverse pass: the node, its local derivative, the product; path k of n into
    its source, and the sum of them all (`summed`, in the order printed) on the last."""
    trace = report.trace
    graph = trace.graph
    # symbolic mode: upstream, local and contribution in the program's own names
    numbers = trace.named or trace
    step = numbers.steps[step_index]
    node = graph.nodes[step.source]
    consumer = graph.nodes[step.consumer]
    out = graph.nodes[trace.output]
    text = Text()
    text.append(node_label(node), style="bold cyan")
    text.append(" " + assign_text(trace.values[step.source], node.label), style="green")
    local_formula = local_formula_text(trace, step, messages)
    local_line = messages("tree.local", derivative=derivative(consumer, node), formula=local_formula)
    local_number = number_text(step.local)
    if local_number != local_formula:
        local_line += f" = {local_number}"
    text.append("\n" + local_line)
    text.append("   " + messages("tree.rule", rule=messages.rule(trace.rule_name(step), step.position)), style="dim")
    product = messages("tree.product", upstream=operand(number_text(step.upstream)),
                       local=operand(local_number), contribution=number_text(step.contribution))
    text.append("\n" + product, style="yellow")
    gradient = numbers.gradients[step.source]
    if n > 1:
        text.append("   " + messages("tree.path", k=k, n=n), style="dim")
        if summed is not None:
            terms = path_terms(numbers, summed)
            text.append("\n" + messages("tree.sum", gradient=derivative(out, node), terms=terms,
                                        total=number_text(gradient)), style="bold magenta")
    elif node.name is not None:
        text.append("   →  " + messages("tree.gradient", gradient=derivative(out, node),
                                        total=number_text(gradient)), style="bold magenta")
    if step.kink:
        text.append("   ⚠ " + messages("check.kink"), style="red")
    return text


def _walk(trace, steps_from: dict[int, list[int]]):
    """Depth-first over the reverse pass, without recursion: (step, parent step, k, n, summed).

    A node reached by several paths is summed and expanded under the path printed last, so
    its sum comes after every path it adds up and its own steps after its sum: the order in
    which the reverse pass completes a gradient. `summed` is the paths in the order printed,
    given on that last path only.
    """
    printed: dict[int, list[int]] = {}
    stack: list[tuple[int, int | None]] = [(i, None) for i in reversed(_ordered(steps_from.get(trace.output, []), trace))]
    while stack:
        step_index, parent = stack.pop()
        source = trace.steps[step_index].source
        paths = printed.setdefault(source, [])
        paths.append(step_index)
        n = len(trace.paths_into[source])
        last = len(paths) == n
        yield step_index, parent, len(paths), n, (paths if last and n > 1 else None)
        if last:
            for child in reversed(_ordered(steps_from.get(source, []), trace)):
                stack.append((child, step_index))


def backward_section(report: Report, messages: Messages) -> RenderableType:
    trace = report.trace
    graph = trace.graph
    out = graph.nodes[trace.output]
    root_label = Text()
    root_label.append(node_label(out), style="bold cyan")
    root_label.append(" " + assign_text(trace.values[trace.output]), style="green")
    root_label.append(f"    {derivative(out, out)} = 1", style="bold magenta")
    tree = Tree(root_label, guide_style="dim")
    steps_from: dict[int, list[int]] = {}
    for i, step in enumerate(trace.steps):
        steps_from.setdefault(step.consumer, []).append(i)
    branches: dict[int | None, Tree] = {None: tree}
    for lines, (step_index, parent, k, n, summed) in enumerate(_walk(trace, steps_from), start=1):
        if lines > MAX_TREE_LINES:
            tree.add(Text(messages("tree.truncated", n=len(trace.steps) - MAX_TREE_LINES), style="dim"))
            break
        source = trace.steps[step_index].source
        branch = branches[parent].add(_step_text(report, step_index, k, n, summed, messages))
        if k == n:
            branches[step_index] = branch
        elif steps_from.get(source):
            branch.add(Text(messages("tree.shown_elsewhere", n=n, node=node_label(graph.nodes[source])), style="dim"))
    intro = Text(messages("heading.backward_intro", out=node_label(out)), style="dim")
    return Group(Text(messages("heading.backward"), style="bold"), intro, tree)


def _ordered(step_indices: list[int], trace) -> list[int]:
    """A node's edges in argument order (the reverse pass records them that way)."""
    return sorted(step_indices, key=lambda i: trace.steps[i].position)


def step_table(report: Report, messages: Messages) -> RenderableType:
    graph = report.trace.graph
    out = graph.nodes[report.trace.output]
    table = Table(title=messages("heading.step", lr=exact_text(report.learning_rate)), title_justify="left",
                  title_style="bold", box=box.SIMPLE_HEAD)
    table.add_column(messages("column.input"))
    table.add_column(messages("column.old"))
    table.add_column(messages("column.new", out=node_label(out)))
    shown = value_text
    if report.trace.tensor:
        from backprop_cli.render.tensor_text import tensor_text as shown
    for update in report.updates:
        table.add_row(node_label(graph.nodes[update.node]), shown(update.old), shown(update.new))
    return table


def notes_section(report: Report, messages: Messages) -> RenderableType | None:
    lines = notes_lines(report, messages)
    if not lines:
        return None
    text = Text()
    text.append(messages("heading.notes"), style="bold")
    for line in lines:
        text.append("\n" + line, style="dim")
    return text
