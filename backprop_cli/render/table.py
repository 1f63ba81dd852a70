"""`backprop grad`: the gradients alone, as a table or CSV."""

from __future__ import annotations

import csv
import io
import itertools
import re
from fractions import Fraction
from typing import Iterable, Iterator

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from backprop_cli.finite_difference import CheckStatus
from backprop_cli.graph import NodeKind
from backprop_cli.engine import OmittedEntries, Report
from backprop_cli.i18n import Messages
from backprop_cli.numbers import format_decimal
from backprop_cli.notation import LABEL_WIDTH, grouped, shorten
from backprop_cli.render.common import TABLE_ENTRIES_PER_TENSOR, gradient_text, exact_string, exact_text, node_label, value_text


def derivative_of(out, label: str) -> str:
    """∂L/∂w, ∂L/∂W1[0,1]: a derivative by an input's (or an entry's) label."""
    entry = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(\[[0-9,]+\])", label)  # W1[0,1] reads as it is
    return f"∂{grouped(node_label(out, 24))}/∂{label if entry else grouped(shorten(label, 32))}"
from backprop_cli.render.notes import Notes
from backprop_cli.render.tensor_text import float_array
from backprop_cli.render.wrap import formula_lines, wrap_prose


def check_mark(status: CheckStatus, messages: Messages) -> Text:
    styles = {CheckStatus.OK: "bold green", CheckStatus.MISMATCH: "bold red",
              CheckStatus.KINK: "yellow", CheckStatus.SKIPPED: "dim"}
    return Text(messages(f"check.{status.value}"), style=styles[status])


# An exact gradient longer than this (a rational of 800 digits) is left to its decimal: `≈`.
MAX_TABLE_EXACT = 200


def _exact_column(gradient) -> str:
    """The exact column: the exact form where it is readable, `≈` where only the decimal is."""
    if gradient.exact is None:
        return "≈"
    text = exact_text(gradient.exact)
    return text if len(text) <= MAX_TABLE_EXACT else "≈"


class GradientTable:
    """The gradient table, laid out for the width it is drawn at (SPEC §6, issue 12 item 10).

    No number is ever cut: the number columns do not wrap, and the table is built to fit. An exact
    form too long for its column moves below the table as `∂L/∂w = …`, wrapped at its operators;
    where even the numbers do not fit side by side, each input gets a few lines of its own."""

    def __init__(self, report: Report, messages: Messages):
        self.report = report
        self.messages = messages
        trace = report.trace
        self.out = trace.graph.nodes[trace.output]
        self.rows = []
        for entry in report.entries(most=TABLE_ENTRIES_PER_TENSOR):
            if isinstance(entry, OmittedEntries):  # the rest of a big tensor: its count, where to see it
                self.rows.append((messages("table.omitted", n=f"{entry.count:,}", name=entry.label),
                                  "", "", "", "", "", None))
                continue
            gradient = entry.gradient
            self.rows.append((
                entry.label,
                value_text(entry.value),
                gradient_text(trace, entry.node) if trace.named is not None else _exact_column(gradient),
                format_decimal(gradient.approx),
                format_decimal(entry.estimate),
                f"{entry.error:.1e}" if entry.error is not None else "",
                entry.status,
            ))

    def _headers(self) -> list[str]:
        messages = self.messages
        out_label = node_label(self.out)
        return [messages("column.input"), messages("column.value"), messages("column.gradient", out=out_label),
                messages("column.decimal"), messages("column.fd"), messages("column.error"), messages("column.check")]

    def _cells(self, row, exact_width: int | None) -> list:
        label, value, exact, decimal, estimate, error, status = row
        if exact_width is not None and cell_len(exact) > exact_width:
            exact = self.messages("table.below")
        mark = check_mark(status, self.messages) if status is not None else ""
        return [label if status is None else shorten(label, LABEL_WIDTH), value, exact, decimal, estimate, error, mark]

    def _table(self, exact_width: int | None, header_widths: list[int] | None = None,
               value_width: int | None = None) -> Table:
        """The table; exact forms longer than `exact_width` (None: any length) are marked ↓, headers
        wrapped between words to `header_widths`, the value column at least `value_width` wide."""
        table = Table(title=self.messages("heading.gradients", out=node_label(self.out)), title_justify="left",
                      title_style="bold", box=box.SIMPLE_HEAD)
        for i, header in enumerate(self._headers()):
            if header_widths is not None:
                header = "\n".join(wrap_prose(header, header_widths[i]))
            # Only the value column wraps (between words: `-1/4 =` over `-0.25`); numbers never do.
            table.add_column(header, justify="right" if 3 <= i <= 5 else ("center" if i == 6 else "left"),
                             no_wrap=i != 1, min_width=value_width if i == 1 else None)
        for row in self.rows:
            table.add_row(*self._cells(row, exact_width))
        return table

    def _below(self, exact_width: int, width: int) -> list[Text]:
        """`∂L/∂w = …` for each exact form that left the table, wrapped at its operators."""
        lines: list[Text] = []
        for label, _, exact, *_ in self.rows:
            if cell_len(exact) > exact_width:
                lines.extend(Text(line) for line in formula_lines(derivative_of(self.out, label), exact, width))
        return lines

    def _records(self, width: int) -> list[RenderableType]:
        """Narrower than any table: a few lines per input, a number never split from its label."""
        messages = self.messages
        parts: list[RenderableType] = [Text(messages("heading.gradients", out=node_label(self.out)), style="bold")]
        for label, value, exact, decimal, estimate, error, status in self.rows:
            parts.append(Text(""))
            if status is None:  # the entries of a big tensor the table leaves out
                parts.extend(Text(line) for line in wrap_prose(label, width, "    "))
                continue
            parts.extend(Text(line) for line in wrap_prose(f"{shorten(label, LABEL_WIDTH)} = {value}", width, "    "))
            if exact != "≈":
                parts.extend(Text(line) for line in formula_lines(derivative_of(self.out, label), exact, width))
                fields = [f"{messages('column.decimal')} {decimal}"]
            else:  # no exact form (numeric mode): the gradient is named by its decimal
                fields = [f"{derivative_of(self.out, label)} ≈ {decimal}"]
            if estimate:
                fields.append(f"{messages('column.fd')} {estimate}")
            if error:
                fields.append(f"{messages('column.error')} {error}")
            fields.append(messages(f"check.{status.value}"))
            parts.extend(Text(line) for line in join_fields(fields, width, "    "))
        return parts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        headers = self._headers()
        columns = list(zip(*[[c.plain if isinstance(c, Text) else c for c in self._cells(row, None)]
                             for row in self.rows])) or [() for _ in headers]
        overhead = 3 * len(headers) + 1  # a space of padding either side, the separators and edges
        natural = [max([cell_len(h)] + [cell_len(c) for c in col]) for h, col in zip(headers, columns)]
        if sum(natural) + overhead <= width:  # everything on one line each
            yield self._table(None)
            return
        # Headers wrap between words; the value column may wrap between its words; exact forms
        # longer than what is left go below the table.
        marker = cell_len(self.messages("table.below"))
        cells = [max([cell_len(c) for c in col], default=0) for col in columns]
        words = [max((cell_len(w) for w in h.split()), default=0) for h in headers]
        header_widths = [max(c, w) for c, w in zip(cells, words)]
        # a value wraps after its `=` at most: `-1/4 =` over `-0.25`, never `=` on a line of its own
        value_min = max([words[1]] + [cell_len(w) for c in columns[1] for w in c.split()]
                        + [cell_len(c.partition(" = ")[0]) + 2 for c in columns[1] if " = " in c])
        fixed = sum(header_widths[i] for i in (0, 3, 4, 5, 6)) + value_min + overhead
        exact_width = width - fixed
        if exact_width >= max(marker, words[2]):
            header_widths[2] = exact_width
            yield self._table(exact_width, header_widths, value_min)
            yield from self._below(exact_width, width)
            return
        yield from self._records(width)


def join_fields(fields: list[str], width: int, indent: str = "") -> list[str]:
    """Fields two spaces apart, in lines of `width` cells; a field is never split."""
    lines: list[str] = []
    line = ""
    for field in fields:
        if line.strip() and cell_len(line + "  " + field) > width:
            lines.append(line)
            line = indent + field
        else:
            line = f"{line}  {field}" if line else field
    lines.append(line)
    return lines


def gradient_table(report: Report, messages: Messages) -> GradientTable:
    return GradientTable(report, messages)


def render_grad_table(report: Report, messages: Messages, notes: list[str]) -> RenderableType:
    if report.symbolic_tensors:  # symbolic tensors
        from backprop_cli.render.formulas import render_formulas
        return render_formulas(report, messages)
    parts: list[RenderableType] = [gradient_table(report, messages)]
    if notes:
        parts.append(Notes(notes))
    return Group(*parts)


CSV_COLUMNS = ["input", "value", "exact", "float", "fd", "error", "ok", "status"]
CSV_ROWS_PER_PIECE = 10_000


def csv_pieces(report: Report) -> Iterator[str]:
    """The CSV in pieces of CSV_ROWS_PER_PIECE rows, for the output to stream: one row per input,
    a tensor's entry by entry (`W1[0,1]`), in the order of Report.entries()."""
    if report.symbolic_tensors:
        from backprop_cli.render.formulas import formulas_csv
        yield formulas_csv(report)
        return
    rows = itertools.chain([CSV_COLUMNS], _csv_rows(report))
    while batch := list(itertools.islice(rows, CSV_ROWS_PER_PIECE)):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(batch)
        yield buffer.getvalue()


def render_csv(report: Report) -> str:
    """The CSV as one text (csv_pieces joined)."""
    return "".join(csv_pieces(report))


def _csv_rows(report: Report) -> Iterator[tuple]:
    """Report.entries() as CSV rows, a tensor's written a column at a time from the check's arrays
    (and, in numeric mode, from the float64 arrays): not a GradientEntry per entry of a
    100,000-weight layer."""
    if not report.trace.tensor:
        return _scalar_rows(report.trace, report.checks)
    return itertools.chain.from_iterable(_tensor_rows(report.trace, check) for check in report.checks)


def _scalar_rows(trace, checks) -> Iterator[tuple]:
    """A scalar program's rows, one per reported input: 33,250 of them for the 100,000-node MLP,
    so each is written from the check's own gradient and, for an input of a numeric run, its bound
    Fraction; a float by its repr, and the check's error and status (one for all the inputs of a
    directional check) formatted once."""
    nodes, output = trace.graph.nodes, trace.output
    bindings = trace.bindings if trace.numeric else {}
    texts: dict = {}  # (error, status) → their three columns
    for check in checks:
        index = check.node
        # the check's own Value; the output's seed (exactly 1) and a gradient not reached from the trace
        gradient = check.gradient if check.gradient is not None and index != output else trace.gradient_of(index)
        node = nodes[index]
        bound = bindings.get(node.name) if node.kind is NodeKind.INPUT else None
        value = str(bound) if type(bound) is Fraction else exact_string(trace.value_of(index))
        approx = gradient.approx
        if gradient.exact is None and type(approx) is float:
            exact = floating = repr(approx)
        else:
            exact, floating = exact_string(gradient), _float_text(gradient)
        key = (check.error, check.status)
        verdict = texts.get(key)
        if verdict is None:
            verdict = texts[key] = (_error_text(check.error), _OK_TEXT.get(check.status, ""), check.status.value)
        yield (node.label, value, exact, floating, _fd_text(check.estimate), *verdict)


def _tensor_rows(trace, check) -> Iterable[tuple]:
    """One reported tensor's rows, entry by entry, row-major."""
    node = trace.graph.nodes[check.node]
    value, gradient = trace.value_of(check.node), trace.gradient_of(check.node)
    exact = _exact_texts(gradient)
    size = len(exact)
    statuses = [check.status] * size if check.entry_status is None else \
        [check.status if s is None else s for s in check.entry_status.ravel().tolist()]
    return zip(
        _entry_labels(node.label, gradient.shape), _exact_texts(value), exact,
        exact if float_array(gradient) is not None else [_float_text(v) for v in gradient.entries.flat],
        itertools.repeat("", size) if check.estimates is None else map(_fd_text, check.estimates.ravel().tolist()),
        itertools.repeat("", size) if check.errors is None else map(_error_text, check.errors.ravel().tolist()),
        [_OK_TEXT.get(s, "") for s in statuses], [s.value for s in statuses])


_OK_TEXT = {CheckStatus.OK: "true", CheckStatus.MISMATCH: "false"}  # as GradientEntry.ok; else empty


def _float_text(value) -> str:
    number = value.float()
    return repr(number) if number is not None else ""


def _fd_text(estimate) -> str:
    return format_decimal(estimate, 17) if estimate is not None else ""


def _error_text(error) -> str:
    return f"{error:.3e}" if error is not None else ""


def _exact_texts(tensor) -> list[str]:
    """Each entry's `exact` text, row-major: a float64 array's by its repr, at C speed."""
    array = float_array(tensor)
    if array is not None:
        return list(map(float.__repr__, array.ravel().tolist()))
    return [exact_string(v) for v in tensor.entries.flat]


def _entry_labels(label: str, shape: tuple[int, ...]) -> list[str]:
    """W1[0,0], W1[0,1], …: a tensor's entries by name, row-major (the name alone for a 0-d one)."""
    if not shape:
        return [label]
    indices = [""]
    for depth, size in enumerate(shape):
        ks = [str(k) for k in range(size)]
        indices = [f"{index},{k}" if depth else k for index in indices for k in ks]
    return [f"{label}[{index}]" for index in indices]
