"""The notes every view shows: exactness, symbolic mode, kinks, abbreviations, check method."""

from __future__ import annotations

import math
import re

from typing import TYPE_CHECKING

from backprop_cli import limits, settings
from backprop_cli.engine import Report
from backprop_cli.finite_difference import (FAST_METHOD, FAST_METHOD_DOUBLE_DOUBLE, FAST_METHOD_KINKS, METHOD_BENDS,
                                           METHOD_FINER, SKIPPED_METHOD)
from backprop_cli.i18n import Messages
from backprop_cli.render.common import TABLE_ENTRIES_PER_TENSOR, node_label
from backprop_cli.render.tensor_text import float_array
from backprop_cli.render.wrap import formula_lines, wrap_prose


def check_description(report: Report, messages: Messages) -> str:
    """The check that actually ran, in the reader's language: the full per-input central
    difference, the directional (fast) one, or none, and what it found on its way (kinks checked
    apart, a second look at a smaller step). The big-graph summary and the notes both word it from
    here, so they cannot disagree."""
    method, added = report.method, []
    for suffix, key in ((METHOD_BENDS, "note.check_bends"), (METHOD_FINER, "note.check_finer"),
                        (FAST_METHOD_KINKS, "note.check_fast_kinks")):
        if method.endswith(suffix):  # (appended in this order's reverse: finite_difference)
            method = method.removesuffix(suffix)
            added.insert(0, messages(key))
    text = _check_text(method, messages)
    for sentence in added:  # (Chinese sentences follow one another without a blank)
        text += ("" if text.endswith("。") else " ") + sentence
    return text


def _check_text(method: str, messages: Messages) -> str:
    if method == SKIPPED_METHOD:
        return messages("note.check_none")
    if method.startswith("each formula evaluated at"):
        return messages("note.check_tensor_formulas", n=method.split(" at ", 1)[1].split()[0],
                        tol=f"{settings.SYMBOLIC_TENSOR_TOLERANCE:g}")
    if method.startswith("per tensor"):
        return messages("note.check_tensor_fast", samples=settings.TENSOR_CHECK_SAMPLES,
                        tol=f"{settings.FD_TOLERANCE:g}", arithmetic=method.split(" in ", 1)[1].split(";")[0])
    if method.startswith("central difference per entry"):
        return messages("note.check_tensor", digits=settings.FD_DIGITS, exponent=settings.FD_STEP_EXPONENT,
                        tol=f"{settings.FD_TOLERANCE:g}")
    # the working precision the method names: more digits where values are huge (finite_difference)
    digits = int(re.search(r"in (\d+)-digit arithmetic", method).group(1)) if "-digit" in method else None
    for n in (1, 2):
        if method in (FAST_METHOD.format(n=n, digits=digits), FAST_METHOD_DOUBLE_DOUBLE.format(n=n)):
            arithmetic = (messages("note.double_double") if digits is None
                          else messages("note.digits", digits=digits))
            return messages("note.check_fast", n=n, arithmetic=arithmetic,
                            exponent=settings.FAST_CHECK_STEP_EXPONENT, tol=f"{settings.FD_TOLERANCE:g}")
    return messages("note.check_method", digits=digits or settings.FD_DIGITS, exponent=settings.FD_STEP_EXPONENT,
                    tol=f"{settings.FD_TOLERANCE:g}")


def notes_lines(report: Report, messages: Messages) -> list[str]:
    """The notes every view shows: exactness, symbolic mode, kinks, check method."""
    trace = report.trace
    graph = trace.graph
    lines: list[str] = []
    if trace.numeric:
        key = "note.numeric_tensor" if trace.tensor else "note.numeric"
        lines.append(messages(key, nodes=f"{settings.EXACT_MODE_MAX_NODES:,}"))
    elif trace.decimal_nodes or any(g.exact is None and g.approx is not None for g in scalars(trace.gradients.values())):
        lines.append(messages("note.decimal", digits=settings.DECIMAL_DIGITS,
                              count=settings.MAX_EXACT_EXPRESSION_NODES, exact_digits=f"{limits.MAX_EXACT_DIGITS:,}"))
    if not graph.inputs:
        lines.append(messages("note.no_inputs"))
    unbound = [graph.nodes[i].name for i in graph.inputs if not bound(trace.value_of(i))]  # not every node's Value
    if report.symbolic_tensors:  # symbolic tensors: the trace is at a random point; only the check is said
        return [messages("note.no_inputs")] * (not graph.inputs) + [check_description(report, messages)]
    if unbound:  # the first few of 5,000 unbound names say it as well as all of them
        lines.append(messages("note.symbolic", names=_named_list(unbound, messages)))
    kinks = sorted(trace.kinks)
    if len(kinks) == 1:
        lines.append(messages("note.kink", node=node_label(graph.nodes[kinks[0]])))
    elif kinks:  # one note naming them all, not the convention repeated per node
        names = _named_list([node_label(graph.nodes[i]) for i in kinks], messages)
        lines.append(messages("note.kinks", nodes=names, n=f"{len(kinks):,}"))
    if trace.named is not None and any(g.exact is None for g in scalars(trace.gradients.values())):
        lines.append(messages("note.abbreviation", limit=settings.MAX_SYMBOLIC_EXPRESSION_NODES))
    if trace.tensor:
        lines.extend(tensor_notes(report, messages))
    if not unbound:
        lines.append(check_description(report, messages))
    return lines


def _named_list(names: list[str], messages: Messages) -> str:
    """The first NAMES_SHOWN names, then how many more."""
    shown, more = names[:NAMES_SHOWN], len(names) - NAMES_SHOWN
    return messages("note.list_separator").join(shown) + (messages("note.list_more", n=f"{more:,}") if more > 0 else "")


def bound(value) -> bool:
    """Whether a value has a number (every entry of a tensor): a float64 array has, without a
    `Value` made for each of its entries to ask."""
    if hasattr(value, "shape") and float_array(value) is not None:  # (asking for `entries` would make them)
        return True
    return all(v.approx is not None for v in scalars([value]))


def scalars(values):
    """The numbers among values: a tensor's entries one by one, a scalar as itself."""
    for value in values:
        if hasattr(value, "entries"):
            yield from value.entries.flat
        else:
            yield value


def tensor_notes(report: Report, messages: Messages) -> list[str]:
    """A tensor program's warnings (a broadcast that grows both operands, `.T` of a vector)."""
    trace = report.trace
    lines = [messages("note.tensor_warning", text=text) for _, text in trace.forward.shapes.warnings]
    if any(math.prod(trace.shape(c.node)) > TABLE_ENTRIES_PER_TENSOR for c in report.checks):
        lines.append(messages("note.table_entries", n=TABLE_ENTRIES_PER_TENSOR))
    checked = [c for c in report.checks if getattr(c, "worst", None) is not None and c.error is not None]
    if checked:  # the entry the check found furthest from its finite difference, named
        worst = max(checked, key=lambda c: c.error)
        entry = trace.graph.nodes[worst.node].label + ("[" + ",".join(map(str, worst.worst)) + "]" if worst.worst else "")
        lines.append(messages("note.tensor_worst", entry=entry, error=f"{worst.error:.1e}"))
    return lines


NAMES_SHOWN = 10  # a note names at most this many nodes (kinks, unbound inputs), then says how many more


if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult


class Notes:
    """Note lines wrapped to the width they are drawn at: between words (and between Chinese
    characters, never before closing punctuation), a definition `  name = formula` at its
    operators; a number or a formula is never cut."""

    def __init__(self, lines: list[str], style: str = "dim"):
        self.lines = lines
        self.style = style

    def __rich_console__(self, console: "Console", options: "ConsoleOptions") -> "RenderResult":
        from rich.text import Text  # imported when drawn: JSON and CSV runs never load rich's console

        width = max(options.max_width, 1)
        for line in self.lines:
            if line.startswith("  ") and " = " in line:
                name, _, formula = line.strip().partition(" = ")
                wrapped = ["  " + part for part in formula_lines(name, formula, width - 2)]
            else:
                wrapped = wrap_prose(line, width)
            for part in wrapped:
                yield Text(part, style=self.style, no_wrap=True, overflow="ignore")
