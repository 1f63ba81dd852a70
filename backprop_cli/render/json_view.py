"""The report as JSON (SPEC §4). Keys listed there never change; more may be added."""

from __future__ import annotations

import json
import math

from backprop_cli.engine import Report
from backprop_cli.i18n import Messages
from backprop_cli.limits import EXACT_MODE_MAX_NODES as PRETTY_JSON_MAX_NODES
from backprop_cli.numbers import Value
from backprop_cli.render.common import EdgeFormulas, exact_string
from backprop_cli.render.notes import notes_lines


def _number(value: Value | None) -> dict | None:
    if value is None:
        return None
    if value.exact is None and type(value.approx) is float:  # the numeric mode: cheap
        return {"exact": repr(value.approx), "float": value.approx, "is_exact": False}
    number = value.float()
    if number is not None and not math.isfinite(number):
        number = None
    return {"exact": exact_string(value), "float": number, "is_exact": value.exact is not None}


def _finite(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def report_data(report: Report, messages: Messages | None = None) -> dict:
    messages = messages or Messages("en")
    trace = report.trace
    forward = trace.forward
    graph = forward.graph
    out = graph.nodes[trace.output]
    gradients = {}
    for check in report.checks:
        node = graph.nodes[check.node]
        entry = _number(trace.gradients[check.node])
        entry.update({"fd": _finite(check.estimate), "error": check.error, "ok": check.ok,
                      "status": check.status.value})
        gradients[node.label] = entry
    local_formula = EdgeFormulas(trace)
    skipped = all(c.ok is None and c.status.value == "skipped" for c in report.checks)
    data = {
        "of": out.label,
        "value": _number(forward.values[trace.output]),
        "gradients": gradients,
        "check": {"method": report.method, "ok": None if skipped and report.checks else report.ok},
        "inputs": {graph.nodes[i].label: _number(forward.values[i]) for i in graph.inputs},
        "nodes": [
            {
                "id": node.index,
                "name": node.name,
                "label": node.text,
                "kind": node.kind.value,
                "op": node.op,
                "args": list(node.args),
                "value": _number(forward.values[node.index]),
                "gradient": _number(trace.gradients.get(node.index)),
            }
            for node in graph.nodes[: trace.output + 1]
        ],
        "edges": [
            {
                "from": step.source,
                "to": step.consumer,
                "position": step.position,
                "local_formula": local_formula(step),
                "local": _number(step.local),
                "upstream": _number(step.upstream),
                "contribution": _number(step.contribution),
                "kink": step.kink,
            }
            for step in trace.steps
        ],
        "notes": notes_lines(report, messages),
    }
    if report.learning_rate is not None:
        data["step"] = {
            "lr": exact_string(Value(report.learning_rate, None)),
            "updates": {graph.nodes[u.node].label: {"old": _number(u.old), "new": _number(u.new)}
                        for u in report.updates},
        }
    return data


def render_json(report: Report, messages: Messages | None = None) -> str:
    """Indented for reading up to PRETTY_JSON_MAX_NODES nodes; compact beyond, where Python's
    C encoder writes 100,000 nodes in a fraction of the time the indenting one takes."""
    data = report_data(report, messages)
    indent = 2 if len(report.trace.forward.graph.nodes) <= PRETTY_JSON_MAX_NODES else None
    return json.dumps(data, indent=indent, ensure_ascii=False, check_circular=False) + "\n"  # a tree by construction
