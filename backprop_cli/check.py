"""Cross-check of every reported gradient by central finite differences.

The difference quotient is taken in FD_DIGITS-digit arithmetic with a step of
10**FD_STEP_EXPONENT, so truncation (~h²) and rounding (~10**-FD_DIGITS / h)
errors are both far below FD_TOLERANCE on smooth points. At a kink the
one-sided convention of the analytic gradient and the two-sided difference
may legitimately disagree: that is reported as a kink, not as a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import mpmath

from backprop_cli import limits
from backprop_cli.backward import Trace
from backprop_cli.forward import evaluate_decimals
from backprop_cli.graph import NodeKind
from backprop_cli.numbers import Value, to_mpf

METHOD = (f"central difference in {limits.FD_DIGITS}-digit arithmetic, "
          f"h = 1e{limits.FD_STEP_EXPONENT}·max(1, |x|), tolerance {limits.FD_TOLERANCE:g} "
          f"relative to max(1, |gradient|)")


class CheckStatus(str, Enum):
    OK = "ok"
    MISMATCH = "mismatch"
    KINK = "kink"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class GradientCheck:
    node: int
    gradient: Value
    estimate: mpmath.mpf | None
    error: float | None
    status: CheckStatus

    @property
    def ok(self) -> bool | None:
        if self.status is CheckStatus.OK:
            return True
        if self.status is CheckStatus.MISMATCH:
            return False
        return None


def check_gradients(trace: Trace, nodes: list[int]) -> list[GradientCheck]:
    near_kink = _depends_on_kink(trace)
    graph = trace.forward.graph
    needed = graph.ancestors_of(trace.output)
    # The numeric check needs a number for every input the output depends on.
    symbolic = any(needed[i] and trace.forward.values[i].approx is None for i in graph.inputs)
    checks = []
    for index in nodes:
        gradient = trace.gradients.get(index)
        if gradient is None or gradient.approx is None or symbolic:
            checks.append(GradientCheck(index, gradient, None, None, CheckStatus.SKIPPED))
            continue
        estimate = _central_difference(trace, index, needed)
        error = abs(gradient.approx - estimate) / max(mpmath.mpf(1), abs(gradient.approx))
        if error <= limits.FD_TOLERANCE:
            status = CheckStatus.OK
        elif near_kink[index]:
            status = CheckStatus.KINK
        else:
            status = CheckStatus.MISMATCH
        checks.append(GradientCheck(index, gradient, estimate, float(error), status))
    return checks


def _central_difference(trace: Trace, index: int, needed: list[bool]) -> mpmath.mpf:
    forward = trace.forward
    node = forward.graph.nodes[index]
    with mpmath.workdps(limits.FD_DIGITS):
        value = forward.values[index]
        if node.kind is NodeKind.INPUT and value.exact is not None:
            x = to_mpf(value.exact)
        else:
            x = mpmath.mpf(value.approx)
        h = mpmath.mpf(10) ** limits.FD_STEP_EXPONENT * max(mpmath.mpf(1), abs(x))
        up = evaluate_decimals(forward, {index: x + h}, trace.output, needed)
        down = evaluate_decimals(forward, {index: x - h}, trace.output, needed)
        return (up - down) / (2 * h)


def _depends_on_kink(trace: Trace) -> list[bool]:
    """Nodes whose gradient passes through a node evaluated at a kink."""
    graph = trace.forward.graph
    mark = [False] * len(graph.nodes)
    for index in trace.kinks:
        mark[index] = True
    for node in reversed(graph.nodes):
        if mark[node.index]:
            for arg in node.args:
                mark[arg] = True
    return mark
