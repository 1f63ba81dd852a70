"""Views of answer checking: text lines, JSON, and a JUnit XML report."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

from rich.cells import cell_len, chop_cells
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment

from backprop_cli.cases import CaseResult
from backprop_cli.claims import CheckOutcome, ClaimResult, Diagnosis
from backprop_cli.i18n import Messages, translate_error
from backprop_cli.numbers import format_decimal
from backprop_cli.output import visible
from backprop_cli.render.common import (
    derivative,
    exact_string,
    exact_text,
    grouped,
    local_formula_text,
    node_label,
    number_text,
    operand,
    path_terms,
    value_text,
)


def _gradient_name(result: ClaimResult, report) -> str:
    graph = report.trace.graph
    return derivative(graph.nodes[report.trace.output], graph.nodes[result.node])


def _point_text(point) -> str:
    return ", ".join(f"{k} = {exact_text(v)}" for k, v in point.items())


def diagnosis_text(diagnosis: Diagnosis, result: ClaimResult, report, messages: Messages) -> str:
    """A diagnosis in words: the nodes and the edge it names, as the user wrote them."""
    trace = report.trace
    graph = trace.graph

    def label(index: int) -> str:
        return grouped(node_label(graph.nodes[index], 32))

    fields = dict(used=", ".join(map(label, diagnosis.used)), missing=", ".join(map(label, diagnosis.missing)),
                  at=label(diagnosis.at) if diagnosis.at is not None else "", consumer="", formula="", value="", factor="",
                  digits=diagnosis.digits, name=result.claim.name, out=node_label(graph.nodes[trace.output]),
                  tol=f"{10.0 ** -diagnosis.digits / 2:g}" if diagnosis.digits else "")
    if diagnosis.step is not None:
        step = trace.steps[diagnosis.step]
        formula, value = local_formula_text(trace, step, messages), number_text(step.local)
        fields.update(consumer=label(step.consumer), at=label(step.source), value=value, formula=formula,
                      factor=value if formula == value else f"{formula} = {value}")  # never `1/2 = 1/2`
    return messages(f"diagnosis.{diagnosis.kind}", **fields)


def working_lines(result: ClaimResult, messages: Messages) -> list[str]:
    """The products that give the right answer: each path into the node, then their sum."""
    report = result.working
    trace = report.trace
    graph = trace.graph
    out = graph.nodes[trace.output]
    node = graph.nodes[result.node]
    lines = []
    paths = trace.paths_into.get(result.node, [])
    for index in paths:
        step = trace.steps[index]
        consumer = graph.nodes[step.consumer]
        lines.append(f"{derivative(out, consumer)} × {derivative(consumer, node)} = "
                     f"{operand(number_text(step.upstream))} × {operand(number_text(step.local))} = "
                     f"{number_text(step.contribution)}")
    if len(paths) > 1:
        terms = path_terms(trace, paths)
        lines.append(messages("claim.working_sum", gradient=derivative(out, node), terms=terms,
                              total=number_text(trace.gradients[result.node])))
    return lines


def claim_lines(result: ClaimResult, outcome: CheckOutcome, messages: Messages) -> list[tuple[str, str]]:
    """(style, text) lines for one claim."""
    if outcome.report.trace.tensor:
        return tensor_claim_lines(result, outcome, messages)
    report = outcome.report
    gradient = _gradient_name(result, report)
    if result.ok:
        if result.method == "exact":
            how = messages("claim.method_exact")
        elif result.method == "tolerance":
            how = messages("claim.method_tolerance", tol=f"{result.tolerance:g}")
        else:
            how = messages(f"claim.method_{result.method}", points=result.points_checked)
        return [("green", f"✓ {gradient} = {result.claim.text}   ({how})")]
    lines: list[tuple[str, str]] = []
    if result.counterexample is None:
        difference = format_decimal(result.difference) if result.difference is not None else ""
        lines.append(("red", "✗ " + messages("claim.wrong_value", gradient=gradient, claimed=result.claim.text,
                                              correct=value_text(result.correct), difference=difference)))
    else:
        claimed_value, correct_value = result.counterexample_values
        point = _point_text(result.counterexample)
        if claimed_value is None:
            lines.append(("red", "✗ " + messages("claim.wrong_formula_undefined", gradient=gradient,
                                                  claimed=result.claim.text, point=point)))
        else:
            lines.append(("red", "✗ " + messages("claim.wrong_formula", gradient=gradient, claimed=result.claim.text,
                                                  point=point, claimed_value=value_text(claimed_value),
                                                  correct_value=value_text(correct_value))))
        # in the program's own names where the run is symbolic (issue 12: x*(y - t), not expanded)
        named = outcome.report.trace.formula(result.node)
        if named is not None or result.correct.exact is not None:
            lines.append(("", "    " + messages("claim.correct_formula", gradient=gradient,
                                                 correct=exact_text(named if named is not None
                                                                    else result.correct.exact))))
    working = result.working
    for i, diagnosis in enumerate(result.diagnoses):
        key = "claim.likely" if i == 0 else "claim.also"
        lines.append(("yellow", "    " + messages(key, text=diagnosis_text(diagnosis, result, working, messages))))
    if working is not None and all(d.kind == "rounding" for d in result.diagnoses):
        lines.append(("", "    " + messages("claim.working")))
        lines.extend(("", "      " + line) for line in working_lines(result, messages))
    return lines


# ---------------------------------------------------------------- wrapping

_MARKERS = ("✓ ", "✗ ", "! ", "- ")  # a wrapped line's continuation lines hang under the text after these
_NO_BREAK_BEFORE = set("，。、；：！？）》」』〉”’…")
_NO_BREAK_AFTER = set("（《「『〈“‘")
_RELATIONS = {"=", "≈", "×"}
_OPERATORS = {"+", "-", "−", "*", "/"}


def _atoms(text: str, whole_brackets: bool = True) -> list[tuple[str, str]]:
    """(separator before, atom): the pieces between which a line may break. Breaks fall at
    spaces, and between two Chinese characters (as in Chinese typesetting), but never before
    closing or after opening punctuation, nor inside brackets: a （…） phrase such as
    （相差 -3） or a label such as ∂L/∂((y - t)^2) stays whole (unless `whole_brackets` is off,
    for a bracket longer than a line)."""
    atoms: list[tuple[str, str]] = []
    sep, atom = "", ""
    depth = 0
    previous = ""
    for ch in text:
        if ch == " " and depth == 0:
            if atom:
                atoms.append((sep, atom))
                sep, atom = "", ""
            sep += ch
        else:
            if (atom and depth == 0 and cell_len(ch) == 2 and cell_len(previous) == 2
                    and ch not in _NO_BREAK_BEFORE and previous not in _NO_BREAK_AFTER):
                atoms.append((sep, atom))
                sep, atom = "", ""
            atom += ch
            if whole_brackets:
                depth = depth + 1 if ch in "(（" else max(0, depth - 1) if ch in ")）" else depth
        previous = ch
    if atom or sep:
        atoms.append((sep, atom))
    # A formula breaks at its sums, not around `=` or `×`, and no line ends in an operator:
    # `w = -3/2` and `(-3) × 2` stay whole, `b - t` may break before the `-`.
    glued: list[tuple[str, str]] = []
    for sep, atom in atoms:
        if glued and sep and (atom in _RELATIONS or glued[-1][1].rsplit(" ", 1)[-1] in _RELATIONS | _OPERATORS):
            glued[-1] = (glued[-1][0], glued[-1][1] + sep + atom)
        else:
            glued.append((sep, atom))
    return glued


def wrap_line(line: str, width: int) -> list[str]:
    """One report line cut to `width` cells; the continuation lines keep its indentation
    (and hang under the text after a ✓/✗ mark)."""
    if cell_len(line) <= width:
        return [line]
    body = line.lstrip(" ")
    indent = len(line) - len(body)
    hang = indent + (2 if body.startswith(_MARKERS) else 0)
    if width - hang < 10:  # too narrow to indent: let the terminal fold it
        return [line]
    lines: list[str] = []
    current, lead = "", " " * indent
    atoms = _atoms(body)
    atoms.reverse()  # a stack: a bracket too long for a line goes back on it in pieces
    while atoms:
        sep, atom = atoms.pop()
        room = width - len(lead)
        if cell_len(atom) > width - hang and (pieces := _atoms(atom, whole_brackets=False)) and len(pieces) > 1:
            pieces[0] = (sep, pieces[0][1])
            atoms.extend(reversed(pieces))
            continue
        if not current:
            candidate = atom
        else:
            candidate = current + sep + atom
        if cell_len(candidate) <= room:
            current = candidate
            continue
        if current:
            lines.append(lead + current)
            lead, room = " " * hang, width - hang
        current = atom
        while cell_len(current) > room:  # longer than a whole line: folded
            piece = chop_cells(current, room)[0]
            lines.append(lead + piece)
            lead, room = " " * hang, width - hang
            current = current[len(piece):]
    if current or not lines:
        lines.append(lead + current)
    return lines


class CheckReport:
    """A check report as lines of (style, text); drawn, each line is wrapped to the console's
    width keeping its indentation (what to show is here, how wide is the console's)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str | None, str, bool]] = []

    def add(self, text: str, style: str | None = None, wrap: bool = True) -> None:
        self.lines.append((style or None, text, wrap))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        for style, text, wrap in self.lines:
            rich_style = console.get_style(style) if style else None
            for piece in (wrap_line(text, width) if wrap else [text]):
                yield Segment(piece, rich_style)
                yield Segment.line()


def render_outcome(outcome: CheckOutcome, messages: Messages) -> CheckReport:
    report = CheckReport()
    for result in outcome.results:
        for style, line in claim_lines(result, outcome, messages):
            report.add(line, style)
    passed = sum(r.ok for r in outcome.results)
    report.add(messages("claim.summary", passed=passed, failed=len(outcome.results) - passed))
    return report


def render_cases(results: list[CaseResult], messages: Messages) -> CheckReport:
    report = CheckReport()
    malformed = 0
    for case in results:
        if case.timed_out or case.not_run:  # the run's time limit (--timeout)
            report.add(messages("case.timed_out", name=case.name, message=case.error.message)
                       if case.timed_out else messages("case.not_run", name=case.name), "bold red")
            continue
        if case.error is not None:
            malformed += 1
            report.add(messages("case.malformed", name=case.name, field=case.field, message=case.error.message),
                       "bold red")
            for line in case.error.caret_lines():
                report.add("    " + line, "red", wrap=False)  # a caret points into the line above it
            if case.error.hint:
                report.add("    " + messages("case.hint", text=case.error.hint), "dim")
            continue
        key = "case.passed" if case.ok else "case.failed"
        report.add(messages(key, name=case.name), "green" if case.ok else "bold red")
        if not case.ok:
            for result in case.outcome.results:
                for style, line in claim_lines(result, case.outcome, messages):
                    report.add("    " + line, style)
    if malformed:
        report.add(messages("case.malformed_count", count=malformed), "red")
    passed = sum(c.ok for c in results)
    report.add(messages("claim.summary", passed=passed, failed=len(results) - passed))
    return report


# ---------------------------------------------------------------- machine-readable


def _float(x) -> float | None:
    if x is None:
        return None
    value = float(x)
    return value if math.isfinite(value) else None


def claim_data(result: ClaimResult, outcome: CheckOutcome, messages: Messages) -> dict:
    if outcome.report.trace.tensor:
        return tensor_claim_data(result, outcome, messages)
    working = result.working or outcome.report
    return {
        "name": result.claim.name,
        "claim": result.claim.text,
        "ok": result.ok,
        "method": result.method,
        "correct": {"exact": exact_string(result.correct), "float": result.correct.float()},
        "difference": _float(result.difference),
        "counterexample": ({k: exact_text(v) for k, v in result.counterexample.items()}
                           if result.counterexample else None),
        "diagnoses": [{"kind": d.kind, "text": diagnosis_text(d, result, working, messages)} for d in result.diagnoses],
        "points_checked": result.points_checked,
    }


def outcome_data(outcome: CheckOutcome, messages: Messages) -> dict:
    passed = sum(r.ok for r in outcome.results)
    return {"claims": [claim_data(r, outcome, messages) for r in outcome.results],
            "passed": passed, "failed": len(outcome.results) - passed, "ok": outcome.ok}


def cases_data(results: list[CaseResult], messages: Messages) -> dict:
    cases = []
    for case in results:
        entry = {"name": case.name, "ok": case.ok,
                 "malformed": case.error is not None and not case.timed_out}
        if case.timed_out or case.not_run:
            entry["timed_out"], entry["not_run"] = case.timed_out, case.not_run
            if case.timed_out:
                entry["error"] = {"field": None, "message": case.error.message}
        elif case.error is not None:
            entry["error"] = {"field": case.field, "message": case.error.message}
        else:
            entry["claims"] = [claim_data(r, case.outcome, messages) for r in case.outcome.results]
        cases.append(entry)
    passed = sum(c.ok for c in results)
    return {"cases": cases, "passed": passed, "failed": len(results) - passed,
            "malformed": sum(c.error is not None and not c.timed_out for c in results)}


def render_json(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def junit_xml(results: list[CaseResult], messages: Messages, suite: str = "backprop check") -> str:
    failures = sum(1 for c in results if c.outcome is not None and not c.ok)
    errors = sum(1 for c in results if c.error is not None)
    skipped = sum(c.not_run for c in results)
    root = ET.Element("testsuites", name=suite, tests=str(len(results)), failures=str(failures), errors=str(errors),
                      skipped=str(skipped))
    suite_element = ET.SubElement(root, "testsuite", name=suite, tests=str(len(results)),
                                  failures=str(failures), errors=str(errors), skipped=str(skipped))
    # Every text is made visible: XML 1.0 cannot hold most control characters, U+FFFE or U+FFFF
    # (ElementTree writes them anyway, and the file no longer parses).
    for case in results:
        element = ET.SubElement(suite_element, "testcase", name=visible(case.name), classname="backprop")
        if case.timed_out:
            error = ET.SubElement(element, "error", message=visible(f"ran out of time: {case.error.message}"),
                                  type="timeout")
            error.text = visible(case.error.render())
        elif case.not_run:
            ET.SubElement(element, "skipped", message="not run: the time limit was reached before it")
        elif case.error is not None:
            error = ET.SubElement(element, "error", message=visible(f"field '{case.field}': {case.error.message}"),
                                  type="malformed")
            error.text = case.error.render()
        elif not case.ok:
            lines = [visible(line) for result in case.outcome.results
                     for _, line in claim_lines(result, case.outcome, messages) if not result.ok]
            failure = ET.SubElement(element, "failure", message=lines[0] if lines else "wrong claim", type="wrong")
            failure.text = "\n".join(lines)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


__all__ = ["CheckReport", "wrap_line", "render_outcome", "render_cases", "outcome_data", "cases_data", "render_json", "junit_xml"]


# ---------------------------------------------------------------- tensor claims


def _tensor_diagnosis_text(diagnosis, result, report, messages: Messages) -> str:
    """A tensor mistake in words, naming the edge, the nodes and the rule as the program writes them."""
    from backprop_cli.render.tensor_text import edge_rule

    trace = report.trace
    graph = trace.graph
    out = graph.nodes[trace.output]

    def label(index: int) -> str:
        return grouped(node_label(graph.nodes[index], 32))

    fields = dict(out=node_label(out), name=result.claim.name, gradient=derivative(out, graph.nodes[result.node]),
                  shape=str(tuple(result.correct.shape)), n="", consumer="", source="", formula="", weight="",
                  rule="", other="", input="")
    if diagnosis.edge is not None:
        step = trace.step(diagnosis.edge)
        consumer = graph.nodes[step.consumer]
        fields.update(consumer=label(step.consumer), source=label(step.source), weight=label(consumer.args[0]))
        if step.local.rule == "entrywise":
            fields["formula"] = local_formula_text(trace, step)
        if step.local.rule in ("matmul_left", "matmul_right"):
            fields["rule"] = edge_rule(trace, step).formula
            if step.local.rule == "matmul_left":  # the weight itself, or (a missed transpose) the other operand
                fields["weight"] = label(step.source) if diagnosis.kind == "weight_for_input" else label(consumer.args[1])
        if diagnosis.kind in ("missing_sum", "mean_not_sum", "wrong_axis"):
            import numpy as np
            fields["n"] = int(np.prod(trace.shape(step.consumer))) // max(1, int(np.prod(trace.shape(step.source))))
    if diagnosis.node is not None:
        fields["other"] = (label(diagnosis.node) if diagnosis.kind == "wrong_input"
                           else derivative(out, graph.nodes[diagnosis.node]))
    if diagnosis.kind == "wrong_input":
        fields["input"] = label(graph.nodes[trace.step(diagnosis.edge).consumer].args[1])
    kind = diagnosis.kind
    if kind == "factor":
        kind = "factor_larger" if diagnosis.factor > 0 else "factor_smaller"
        fields["n"] = abs(diagnosis.factor)
    return messages(f"tensor_diagnosis.{kind}", **fields)


def tensor_claim_lines(result, outcome: CheckOutcome, messages: Messages) -> list[tuple[str, str]]:
    from backprop_cli.render.tensor_text import tensor_text

    report = outcome.report
    gradient = _gradient_name(result, report)
    claimed_text = result.claim.text
    if result.ok:
        if result.method == "tolerance":
            how = messages("claim.method_tolerance", tol=f"{result.tolerance:g}")
        elif result.method in ("points", "symbolic"):
            how = messages(f"claim.method_{result.method}", points=result.points_checked)
        else:
            how = messages("claim.method_exact")
        return [("green", f"✓ {gradient} = {claimed_text}   ({how})")]
    lines: list[tuple[str, str]] = []
    if result.counterexample is not None:
        lines.append(("red", "✗ " + messages("tensor_claim.wrong_at", gradient=gradient, claimed=claimed_text,
                                              point=", ".join(f"{k} = {tensor_text(_as_shown(v))}"
                                                              for k, v in result.counterexample.items()))))
    elif result.shapes_do_not_fit is not None:
        lines.append(("red", "✗ " + messages("tensor_claim.shapes_do_not_fit", gradient=gradient, claimed=claimed_text,
                                              reason=translate_error(result.shapes_do_not_fit,
                                                                     language=messages.language))))
    elif not result.shape_ok:
        lines.append(("red", "✗ " + messages("tensor_claim.wrong_shape", gradient=gradient, claimed=claimed_text,
                                              claimed_shape=str(tuple(result.claimed.shape)),
                                              shape=str(tuple(result.correct.shape)))))
    else:
        total = len(result.correct.entries.flat)
        lines.append(("red", "✗ " + messages("tensor_claim.wrong_entries", gradient=gradient, claimed=claimed_text,
                                              n=len(result.wrong_entries), total=total)))
    if result.shape_ok and result.wrong_entries:
        label = report.trace.graph.nodes[result.node].label
        shown = [f"{label}[{','.join(map(str, e))}]: {number_text(c)} ≠ {number_text(r)}"
                 for e, c, r in result.wrong_entries[:6]]
        more = len(result.wrong_entries) - len(shown)
        lines.append(("", "    " + messages("tensor_claim.entries", entries="; ".join(shown))
                      + (f" (+{more})" if more > 0 else "")))
    lines.append(("", "    " + messages("tensor_claim.right", gradient=gradient, value=tensor_text(result.correct))))
    if result.formula is not None:
        lines.append(("", "    " + messages("tensor_claim.formula", gradient=gradient,
                                             formula=exact_text(result.formula))))
    working = report
    for i, diagnosis in enumerate(result.diagnoses):
        key = "claim.likely" if i == 0 else "claim.also"
        lines.append(("yellow", "    " + messages(key, text=_tensor_diagnosis_text(diagnosis, result, working,
                                                                                     messages))))
    return lines


def _as_shown(value):
    from backprop_cli.tensor_claims import as_tensor

    return as_tensor(value)


def tensor_claim_data(result, outcome: CheckOutcome, messages: Messages) -> dict:
    from backprop_cli.render.tensor_text import json_entries

    return {
        "name": result.claim.name,
        "claim": result.claim.text,
        "ok": result.ok,
        "method": result.method,
        "shape": list(result.correct.shape),
        "claimed_shape": list(result.claimed.shape) if result.claimed is not None else None,
        "shape_error": result.shapes_do_not_fit,
        "correct": {"shape": list(result.correct.shape), "exact": json_entries(result.correct, "exact"),
                    "float": json_entries(result.correct, "float")},
        "formula": exact_text(result.formula) if result.formula is not None else None,
        "wrong_entries": [list(e) for e, _, _ in result.wrong_entries],
        "counterexample": ({k: json_entries(_as_shown(v), "exact") for k, v in result.counterexample.items()}
                           if result.counterexample else None),
        "diagnoses": [{"kind": d.kind, "text": _tensor_diagnosis_text(d, result, outcome.report, messages)}
                      for d in result.diagnoses],
        "points_checked": result.points_checked,
    }
