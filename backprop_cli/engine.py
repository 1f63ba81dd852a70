"""The core: one call from a request to a report.

text → parse → graph → forward → backward → check. The CLI builds a
`Request`, calls `run`, and hands the `Report` to a renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Callable

import mpmath
import sympy as sp

from backprop_cli import limits
from backprop_cli.sweeps import run_backward
from backprop_cli.trace import Trace
from backprop_cli.bindings import constant_value, resolve
from backprop_cli.finite_difference import CheckKind, GradientCheck, run_check
from backprop_cli.errors import BackpropError
from backprop_cli.forward import run_forward
from backprop_cli.graph import Graph, NodeKind, build_graph
from backprop_cli.numbers import Value, exact_is_small
from backprop_cli.parse import parse_program, suggest
from backprop_cli.source import BindingText, ProgramSource


class NumberMode(str, Enum):
    AUTO = "auto"
    EXACT = "exact"
    NUMERIC = "numeric"


@dataclass(frozen=True)
class Request:
    source: ProgramSource
    at: list[BindingText] = field(default_factory=list)
    of: str | None = None
    wrt: list[str] | None = None
    lr: str | None = None
    mode: NumberMode = NumberMode.AUTO
    check: CheckKind = CheckKind.AUTO


@dataclass(frozen=True)
class Update:
    node: int
    old: Value
    new: Value


@dataclass
class Report:
    trace: Trace
    wrt: list[int]  # the nodes whose gradients are reported, in order
    checks: list[GradientCheck]
    method: str
    learning_rate: sp.Expr | None = None
    updates: list[Update] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks)


def parse_wrt(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return names or None


Stage = Callable[[str], None]  # told the name of each stage as it starts (progress display)


def _silent(stage: str) -> None:
    pass


def load(request: Request, stage: Stage = _silent) -> tuple[Graph, dict[str, sp.Expr]]:
    """Parse the program, build its graph and resolve the bindings."""
    source = request.source
    stage("parse")
    statements = parse_program(source.text)
    stage("graph")
    graph = build_graph(statements, source.text, of=request.of)
    stage("bindings")
    return graph, resolve(graph, source.bindings, request.at)


def choose_numeric(graph: Graph, bindings: dict[str, sp.Expr], mode: NumberMode) -> bool:
    """Numeric (floats) past EXACT_MODE_MAX_NODES nodes, or when asked; never with unbound inputs."""
    if mode is NumberMode.EXACT:
        return False
    needed = graph.ancestors_of(graph.output)
    unbound = [graph.nodes[i].name for i in graph.inputs if needed[i] and graph.nodes[i].name not in bindings]
    if unbound:
        if mode is NumberMode.NUMERIC:
            raise BackpropError(f"--numeric needs a value for every input; unbound: {', '.join(unbound[:10])}")
        return False
    return mode is NumberMode.NUMERIC or len(graph.nodes) > limits.EXACT_MODE_MAX_NODES


def analyse(graph: Graph, bindings: dict[str, sp.Expr], wrt: list[str] | None = None,
            check: CheckKind = CheckKind.AUTO, mode: NumberMode = NumberMode.AUTO, stage: Stage = _silent) -> Report:
    """Forward, backward and the finite-difference check (CheckKind.NONE skips it)."""
    try:
        stage("forward")
        forward = run_forward(graph, bindings, numeric=choose_numeric(graph, bindings, mode))
        stage("backward")
        trace = run_backward(forward)
        reported = _reported_nodes(trace, wrt)
        stage("check")
        checks, method = run_check(check, trace, reported)
    except BackpropError as error:
        raise error.located(graph.source, "program") if error.span is not None else error
    return Report(trace, reported, checks, method)


def run(request: Request, stage: Stage = _silent) -> Report:
    graph, bindings = load(request, stage)
    report = analyse(graph, bindings, request.wrt, request.check, request.mode, stage)
    stage("output")
    if request.lr is not None:
        _gradient_step(report, request.lr)
    return report


def _reported_nodes(trace: Trace, names: list[str] | None) -> list[int]:
    graph = trace.forward.graph
    if names is None:
        reached = graph.ancestors_of(trace.output)
        return [i for i in graph.inputs if reached[i]]
    result = []
    for name in names:
        if name not in graph.names:
            guess = suggest(name, graph.names)
            raise BackpropError(f"--wrt {name}: the program has no name '{name}'"
                                + (f" (did you mean '{guess}'?)" if guess else ""),
                                hint="names: " + ", ".join(graph.names))
        index = graph.names[name]
        if not graph.nodes[index].depends_on_input:
            raise BackpropError(f"--wrt {name}: '{name}' is a constant; it has no gradient to report")
        if index > trace.output or not graph.ancestors_of(trace.output)[index]:
            trace.gradients.setdefault(index, Value(sp.Integer(0), mpmath.mpf(0)))
        result.append(index)
    return result


def _gradient_step(report: Report, lr_text: str) -> None:
    """One step of gradient descent: new = old − η·∂L/∂p for each reported input."""
    eta = constant_value(lr_text, "--lr")
    report.learning_rate = eta
    values = report.trace.forward.values
    graph = report.trace.forward.graph
    with mpmath.workdps(limits.DECIMAL_DIGITS):
        eta_decimal = mpmath.mpf(sp.Float(sp.N(eta, limits.DECIMAL_DIGITS + 5), limits.DECIMAL_DIGITS + 5)._mpf_)
        for index in report.wrt:
            if graph.nodes[index].kind is not NodeKind.INPUT:
                continue
            old, gradient = values[index], report.trace.gradients[index]
            exact = None
            if old.exact is not None and gradient.exact is not None:
                exact = old.exact - eta * gradient.exact
                if old.approx is not None and not exact_is_small(exact):
                    exact = None
            approx = None
            if old.approx is not None and gradient.approx is not None:
                approx = old.approx - eta_decimal * gradient.approx
            report.updates.append(Update(index, old, Value(exact, approx)))
