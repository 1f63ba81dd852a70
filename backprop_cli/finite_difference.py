"""Cross-check of every reported gradient by central finite differences.

The difference quotient is taken in FD_DIGITS-digit arithmetic with a step of
10**FD_STEP_EXPONENT, so truncation (~h²) and rounding (~10**-FD_DIGITS / h)
errors are both far below FD_TOLERANCE on smooth points. At a kink the
one-sided convention of the analytic gradient and the two-sided difference
may legitimately disagree: that is reported as a kink, not as a failure.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import Enum

import mpmath

from backprop_cli import deadline, settings
from backprop_cli.errors import BackpropError
from backprop_cli.forward import forward_values, plan
from backprop_cli.graph import NodeKind
from backprop_cli.lazy import sp
from backprop_cli.numbers import Decimal, Value, to_mpf
from backprop_cli.trace import Trace
METHOD = ("central difference in {digits}-digit arithmetic, "
          f"step 1e{settings.FD_STEP_EXPONENT}·max(1, |input|) (smaller where that would leave a domain), tolerance {settings.FD_TOLERANCE:g} "
          f"relative to max(1, |gradient|)")
FAST_METHOD = ("directional: ∇f·v against a central difference along {n} random ±1 direction(s) v over all "
               f"reported inputs, in {{digits}}-digit arithmetic, step 1e{settings.FAST_CHECK_STEP_EXPONENT}, "
               f"tolerance {settings.FD_TOLERANCE:g} relative to max(1, Σ|gradient|)")
FAST_METHOD_DOUBLE_DOUBLE = FAST_METHOD.replace("in {digits}-digit arithmetic",
                                               "in double-double arithmetic (about 32 significant digits)")
FAST_METHOD_KINKS = ("; the inputs whose gradients pass through a kink (or a switch within 1e-8 of 0 in floats) "
                     "along directions of their own")
BEND_PROBE = 1000  # a failing difference is taken again at a step this many times smaller
METHOD_FINER = (f"; where a difference failed, it was taken again at a step {BEND_PROBE} times smaller, "
                "which agreed with the gradient (the first step was too coarse for the output's curvature)")
METHOD_BENDS = (f"; where a difference failed at both steps, the one-sided slopes stayed apart at a step {BEND_PROBE} "
                "times smaller too: a kink at the point that the float pass does not see, not a wrong gradient")
SKIPPED_METHOD = "none (--check none)"


class CheckKind(str, Enum):
    AUTO = "auto"
    FULL = "full"
    FAST = "fast"
    NONE = "none"


class CheckStatus(str, Enum):
    OK = "ok"
    MISMATCH = "mismatch"
    KINK = "kink"
    SKIPPED = "skipped"


@dataclass(slots=True)  # not frozen: 50,000 of them, and a frozen one sets each field the slow way
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


def choose_check(kind: CheckKind, trace: Trace, nodes: list[int]) -> CheckKind:
    """auto: a central difference per gradient for a few inputs, the directional check beyond."""
    if kind is not CheckKind.AUTO:
        return kind
    inputs = sum(1 for i in nodes if trace.node(i).kind is NodeKind.INPUT)
    return CheckKind.FULL if inputs <= settings.FULL_CHECK_MAX_INPUTS else CheckKind.FAST


def run_check(kind: CheckKind, trace: Trace, nodes: list[int]) -> tuple[list[GradientCheck], str]:
    """The checks and a description of the method used."""
    if trace.forward.tensor:
        return run_tensor_check(kind, trace, nodes)
    kind = choose_check(kind, trace, nodes)
    if kind is CheckKind.NONE:
        return [GradientCheck(i, trace.gradients.get(i), None, None, CheckStatus.SKIPPED) for i in nodes], SKIPPED_METHOD
    if kind is CheckKind.FAST:
        return directional_check(trace, nodes)
    checks, bent, finer = _check_each(trace, nodes)
    return checks, (METHOD.format(digits=_full_check_digits(trace)) + (METHOD_FINER if finer else "")
                    + (METHOD_BENDS if bent else ""))


def _leaves(trace: Trace, needed: list[bool]) -> dict[int, mpmath.mpf]:
    """Inputs and literal constants as decimals at the caller's precision, computed once for
    many passes (constant-only arithmetic is recomputed at that precision by each pass)."""
    leaves: dict[int, mpmath.mpf] = {}
    for node in trace.graph.nodes:
        if needed[node.index] and node.kind is not NodeKind.OPERATION:
            value = trace.value_of(node.index)  # not trace.values: a Value for every node of a big graph
            exact = value.exact
            if exact is not None:
                leaves[node.index] = to_mpf(exact)
            else:
                leaves[node.index] = mpmath.mpf(value.approx)
    return leaves


def _output_at(trace: Trace, domain: Decimal, leaves: dict, overrides: dict[int, mpmath.mpf]) -> mpmath.mpf:
    """The output as a decimal with some nodes' values replaced: the forward loop at `domain`'s
    precision, over the nodes the output depends on (the plan is built once per run)."""
    forward = trace.forward
    key = (domain.key, trace.output)
    steps = forward.plans.get(key)
    if steps is None:
        steps = forward.plans[key] = plan(forward.graph, forward.templates, domain, {}, trace.output)
    return forward_values(steps, domain, {**leaves, **overrides}, trace.output + 1)[trace.output]


def _symbolic(trace: Trace, needed: list[bool]) -> bool:
    """The numeric check needs a number for every input the output depends on (the numeric mode
    has one for every input: it runs only when each is bound, engine.choose_numeric)."""
    return not trace.numeric and any(needed[i] and trace.value_of(i).approx is None for i in trace.graph.inputs)


def directional_check(trace: Trace, nodes: list[int]) -> tuple[list[GradientCheck], str]:
    """Compare ∇f·v with (f(x + hv) − f(x − hv))/2h along random ±1 directions v.

    Two high-precision passes per direction instead of two per input: what makes
    the check affordable for 50,000 inputs. Intermediate names in --wrt are
    checked one by one (perturbing one would cut the paths of the others).
    Where the point has kinks, the inputs whose gradients pass through one are
    checked along directions of their own: one relu at exactly 0 in a network
    leaves the other inputs' verdict ok or mismatch, not all of them "kink". A
    failing difference gets a second look at a smaller step (_second_look); a
    bend found there splits the inputs the same way by the switches near 0.
    """
    graph = trace.graph
    needed = graph.ancestors_of(trace.output)
    inputs = [i for i in nodes if graph.nodes[i].kind is NodeKind.INPUT]
    others = [i for i in nodes if graph.nodes[i].kind is not NodeKind.INPUT]
    count = 2 if len(graph.nodes) <= settings.FAST_CHECK_TWO_DIRECTIONS_MAX_NODES else 1
    method = FAST_METHOD.format(n=count, digits=settings.FAST_CHECK_DIGITS)
    if _symbolic(trace, needed) or not inputs:
        skipped = [GradientCheck(i, trace.gradient_of(i), None, None, CheckStatus.SKIPPED) for i in inputs]
        return skipped + check_gradients(trace, others), method
    rng = random.Random(len(graph.nodes) * 7919 + len(inputs))
    digits = working_digits(trace, needed, settings.FAST_CHECK_DIGITS, settings.FAST_CHECK_STEP_EXPONENT)
    kinks = list(trace.kinks)
    while True:
        groups = [(inputs, False)]
        if kinks:
            reaches_kink = _upstream_of(graph, kinks)
            groups = [(group, near) for group, near in (([i for i in inputs if not reaches_kink[i]], False),
                                                        ([i for i in inputs if reaches_kink[i]], True)) if group]
        checks: list[GradientCheck] = []
        arithmetics, finer, bent = set(), False, False
        for group, near_kink in groups:
            values = [trace.gradient_of(i) for i in group]  # one Value each, for the checks too
            found, arithmetic = _directional_worst(trace, group, values, rng, count, digits, needed, not near_kink)
            if found is None:  # no step stayed inside the domain: the check could not be made
                checks += [GradientCheck(i, value, None, None, CheckStatus.SKIPPED) for i, value in zip(group, values)]
                continue
            worst, settled, bends = found
            arithmetics.add(arithmetic)
            finer |= settled
            bent |= bends
            status = _verdict(worst, near_kink or bends)
            checks += [GradientCheck(i, value, None, worst, status) for i, value in zip(group, values)]
        # A bend the float pass saw no kink for: a switch within NEAR_KINK of 0 in floats is one
        # (0.1 + 0.2 - 0.3 = 5.6e-17); the inputs it reaches are checked apart, once more.
        near = [i for i in _near_kinks(trace) if i not in kinks] if bent and trace.numeric else []
        if not near:
            break
        kinks += near
    order = {index: k for k, index in enumerate(inputs)}
    checks.sort(key=lambda check: order[check.node])  # (the groups in the reported order again)
    method = FAST_METHOD_DOUBLE_DOUBLE.format(n=count) if arithmetics == {"double-double"} else \
        FAST_METHOD.format(n=count, digits=digits)
    other_checks, other_bent, other_finer = _check_each(trace, others)
    method += ((FAST_METHOD_KINKS if len(groups) > 1 else "") + (METHOD_FINER if finer or other_finer else "")
               + (METHOD_BENDS if bent or other_bent else ""))
    return checks + other_checks, method


def _directional_worst(trace: Trace, inputs: list[int], values: list[Value], rng: random.Random, count: int,
                       digits: int, needed: list[bool], probe: bool = True
                       ) -> tuple[tuple[float, bool, bool] | None, str]:
    """The largest error of ∇f·v along `count` random directions over `inputs` (with `probe`, a
    failing difference taken again at a smaller step: _second_look), whether a smaller step
    settled one and whether the output bends there; None where no step stayed inside the domain.
    And the arithmetic it was found in ("double-double" or "decimal")."""
    domain = Decimal(digits)
    with domain.precision():
        h = mpmath.mpf(10) ** settings.FAST_CHECK_STEP_EXPONENT
        gradients = [value.approx for value in values]
        scale = max(mpmath.mpf(1), _sum(abs(g) for g in gradients))
        directions = [[rng.choice((1, -1)) for _ in inputs] for _ in range(count)]
        analytic = [_sum(g if sign > 0 else -g for g, sign in zip(gradients, signs)) for signs in directions]
        # over columns the passes run in double-double (about 32 digits), trusted while the precision
        # the check needs stays at its own FAST_CHECK_DIGITS
        if trace.forward.flat is not None and digits == settings.FAST_CHECK_DIGITS:
            found = _double_double_worst(trace, inputs, directions, analytic, scale, h, probe)
            if found is not None:
                return found, "double-double"
        return _decimal_worst(trace, domain, needed, inputs, directions, analytic, scale, h, probe), "decimal"


def _decimal_worst(trace: Trace, domain: Decimal, needed, inputs, directions, analytic, scale, h, probe: bool = True
                   ) -> tuple[float, bool, bool] | None:
    """The largest error over the directions, each pass a forward loop in `domain`, as
    _worst_along finds it; None where no step stayed inside the functions' domains."""
    leaves = _leaves(trace, needed)
    # an input the output does not use has no leaf: moving it would change nothing
    moved = [(k, i) for k, i in enumerate(inputs) if needed[i]]
    points = {i: leaves[i] for _, i in moved}
    smallest = min((abs(x) for x in points.values() if x != 0), default=mpmath.mpf(0))

    def outputs(signs, step):
        return (_output_at(trace, domain, leaves, {i: points[i] + signs[k] * step for k, i in moved}),
                _output_at(trace, domain, leaves, {i: points[i] - signs[k] * step for k, i in moved}))

    differences = []
    for signs, along in zip(directions, analytic):
        for step in _steps(h, smallest):  # smaller steps where x ± h leaves a function's domain
            try:
                differences.append((signs, along, step, *outputs(signs, step)))
            except BackpropError:
                deadline.check()  # the time limit is not a step outside the domain: never swallowed
                continue
            break
        else:
            return None
    return _worst_along(differences, outputs, lambda: _output_at(trace, domain, leaves, {}), scale, probe)


def _double_double_worst(trace: Trace, inputs, directions, analytic, scale, h, probe: bool = True
                         ) -> tuple[float, bool, bool] | None:
    """The same passes over the groups of the numeric mode in double-double (vectorised.py); None
    when a value is not finite there (the decimal passes then decide, step by step, as before)."""
    import numpy as np

    from backprop_cli.vectorised import DoubleDoublePasses

    forward = trace.forward
    needed = forward.graph.ancestors_of(trace.output)
    leaves = {i: forward.bindings[forward.graph.nodes[i].name] for i in forward.graph.inputs if needed[i]}
    leaves.update({i: v.exact for i, v in forward.constants.items() if needed[i]})
    if any(v is None for v in leaves.values()):
        return None
    try:
        passes = DoubleDoublePasses(forward.flat, leaves, inputs, trace.output, needed)
    except (OverflowError, ValueError):  # a leaf past float's range: the decimal passes take it
        return None

    def outputs(signs, step):
        up, down = passes.output_along(signs, step), passes.output_along(signs, -step)
        if up is None or down is None:
            raise BackpropError("a value is not finite")  # (no difference: see _second_look)
        return up, down

    differences = []
    for signs, along in zip(directions, analytic):
        signs = np.asarray(signs, dtype=np.int64)
        try:
            differences.append((signs, along, h, *outputs(signs, h)))
        except BackpropError:
            return None
    center = lambda: outputs(differences[0][0], 0 * h)[0]  # noqa: E731 - f(x), the one point of no step
    return _worst_along(differences, outputs, center, scale, probe)


def _worst_along(differences: list, outputs, center, scale, probe: bool) -> tuple[float, bool, bool]:
    """(the largest error, whether a smaller step settled a difference, whether the output bends) over the
    directions' (signs, ∇f·v, step, f(x + step·v), f(x − step·v)); each failing difference is taken
    again at a smaller step (_second_look) where `probe`."""
    worst, settled, bends = 0.0, False, False
    for signs, along, step, up, down in differences:
        error = float(abs(along - (up - down) / (2 * step)) / scale)
        if error > settings.FD_TOLERANCE and probe:
            finer, _, bent = _second_look(along, step, up, down, lambda h, signs=signs: outputs(signs, h), center,
                                          scale)
            bends = bends or bent
            if finer is not None and finer <= settings.FD_TOLERANCE:  # the first step was too coarse
                error, settled = finer, True
        worst = max(worst, error)
    return worst, settled, bends


def _second_look(along, step, up, down, outputs, center, scale) -> tuple[float | None, object, bool]:
    """A failing difference taken again at a step BEND_PROBE times smaller: (its error, whether the
    output bends at the point). A smaller step that agrees with the gradient settles it: the first
    was too coarse for the output's curvature (1/x at 1e-6). One that fails too is a wrong gradient,
    unless the one-sided slopes stay apart by the same amount at both steps — a kink at the point
    (a relu's input 0 in exact numbers but 5.6e-17 in floats, which the float pass saw as no kink),
    where a smooth output's gap shrinks with the step a thousandfold. (`outputs(step)` gives
    f(x ± step·v), `center()` f(x).) Returned: the smaller step's error and difference, None where
    it left a function's domain, and whether the output bends."""
    small = step / BEND_PROBE
    try:
        up_small, down_small = outputs(small)
    except BackpropError:
        deadline.check()
        return None, None, False
    estimate = (up_small - down_small) / (2 * small)
    finer = float(abs(along - estimate) / scale)
    if finer <= settings.FD_TOLERANCE:
        return finer, estimate, False
    try:
        middle = center()
    except BackpropError:
        deadline.check()
        return finer, estimate, False
    gap, gap_small = abs(up + down - 2 * middle) / step, abs(up_small + down_small - 2 * middle) / small
    return finer, estimate, bool(gap / scale > settings.FD_TOLERANCE and gap_small > gap / 10)


def _full_check_digits(trace: Trace) -> int:
    needed = trace.graph.ancestors_of(trace.output)
    if _symbolic(trace, needed):
        return settings.FD_DIGITS
    return working_digits(trace, needed, settings.FD_DIGITS, settings.FD_STEP_EXPONENT)


def working_digits(trace: Trace, needed: list[bool], digits: int, step_exponent: int) -> int:
    """`digits`, or more where values are huge. A central difference subtracts two outputs of about
    the size of the largest value on the way (10^m), so its rounding is 10^(m - digits) over a step
    of 10^step_exponent; the precision grows until that stays below 10^-12 (x + sinh(488) ≈ 10^211
    at 80 digits would show no difference at all)."""
    if trace.forward.flat is not None:  # over columns every value is a float: all of them at once
        largest = _largest_float(trace, needed)
    else:
        largest = 0.0
        for node, value in zip(trace.graph.nodes, trace.forward.column):
            if needed[node.index] and value is not None:
                approx = value.approx if isinstance(value, Value) else value
                # (a float beyond float range, an unused 10^400 in numeric mode, is no magnitude to match)
                if isinstance(approx, (float, mpmath.mpf)) and abs(approx) > largest and approx - approx == 0:
                    largest = abs(approx)
    if largest <= 1:
        return digits
    magnitude = math.ceil(float(mpmath.log10(largest)) if isinstance(largest, mpmath.mpf) else math.log10(largest))
    return max(digits, magnitude - step_exponent + 12)


def _largest_float(trace: Trace, needed: list[bool]) -> float:
    """working_digits' largest finite magnitude the output depends on, over a numeric run's columns."""
    import numpy as np

    values = np.abs(np.asarray(trace.forward.column, dtype=np.float64))  # (None reads as nan)
    values = values[np.asarray(needed, dtype=bool) & np.isfinite(values)]
    return float(values.max()) if len(values) else 0.0


def _sum(terms) -> mpmath.mpf:
    """A sum without rounding error to speak of: floats (numeric mode) by math.fsum, which rounds
    the exact sum once and is a hundred times faster than converting each to mpmath first."""
    terms = list(terms)
    if all(type(t) is float for t in terms):
        return mpmath.mpf(math.fsum(terms))
    return mpmath.fsum(terms)


def check_gradients(trace: Trace, nodes: list[int]) -> list[GradientCheck]:
    """A central difference for each gradient (two high-precision passes each)."""
    return _check_each(trace, nodes)[0]


def _check_each(trace: Trace, nodes: list[int]) -> tuple[list[GradientCheck], bool, bool]:
    """check_gradients; whether a failing difference was a kink the float pass did not see, and
    whether one agreed at a smaller step."""
    if not nodes:
        return [], False, False
    near_kink = _depends_on_kink(trace)
    needed = trace.graph.ancestors_of(trace.output)
    symbolic = _symbolic(trace, needed)
    checks, bent, settled = [], False, False
    domain = Decimal(_full_check_digits(trace))
    with domain.precision():
        leaves = _leaves(trace, needed) if not symbolic else {}
    for index in nodes:
        gradient = trace.gradients.get(index)
        if gradient is None or gradient.approx is None or symbolic:
            checks.append(GradientCheck(index, gradient, None, None, CheckStatus.SKIPPED))
            continue
        with domain.precision():
            found = _central_difference(trace, domain, index, leaves)
            if found is None:  # every step left the domain: the check could not be made
                checks.append(GradientCheck(index, gradient, None, None, CheckStatus.SKIPPED))
                continue
            estimate, step, up, down = found
            scale = max(mpmath.mpf(1), abs(gradient.approx))
            error = abs(gradient.approx - estimate) / scale
            bends = False
            if error > settings.FD_TOLERANCE and not near_kink[index] and step is not None:
                finer, finer_estimate, bends = _second_look(
                    gradient.approx, step, up, down, _along_input(trace, domain, leaves, index),
                    lambda: _output_at(trace, domain, leaves, {}), scale)
                if finer is not None and finer <= settings.FD_TOLERANCE:  # the first step was too coarse
                    error, estimate, settled = finer, finer_estimate, True
                bent |= bends
        status = _verdict(error, near_kink[index] or bends)
        checks.append(GradientCheck(index, gradient, estimate, float(error), status))
    return checks, bent, settled


def _point(trace: Trace, leaves: dict, index: int) -> mpmath.mpf:
    """An input's or a node's value, where the check's differences are taken."""
    return leaves[index] if index in leaves else mpmath.mpf(trace.values[index].approx)


def _along_input(trace: Trace, domain: Decimal, leaves: dict, index: int):
    """f(x ± step) for one input or node (the `outputs` of _second_look)."""
    x = _point(trace, leaves, index)

    def outputs(step):
        return (_output_at(trace, domain, leaves, {index: x + step}),
                _output_at(trace, domain, leaves, {index: x - step}))
    return outputs


def _central_difference(trace: Trace, domain: Decimal, index: int, leaves: dict) -> tuple | None:
    """(the difference, its step, f(x + step), f(x - step)), at the domain's precision, with
    `leaves` computed at that precision.

    The step is 10**FD_STEP_EXPONENT·max(1, |x|), or, for an x nearer 0 than that, a step relative
    to |x| (so that x ± h stay on one side of 0); where x ± h leaves a function's domain (log(x) at
    x = 1e-30), it shrinks with |x| until both sides are inside, and None says it could not."""
    if not trace.graph.ancestors_of(trace.output)[index]:
        return mpmath.mpf(0), None, None, None  # the output does not depend on it: every difference is 0
    x = _point(trace, leaves, index)
    steps = _steps(mpmath.mpf(10) ** settings.FD_STEP_EXPONENT * max(mpmath.mpf(1), abs(x)), abs(x))
    if 0 < abs(x) <= steps[0]:  # x ± h would straddle 0, and 1/x's pole there (x = 1e-200): steps under |x|
        steps = steps[1:]
    outputs = _along_input(trace, domain, leaves, index)
    for h in steps:
        try:
            up, down = outputs(h)
        except BackpropError:
            deadline.check()
            continue
        return (up - down) / (2 * h), h, up, down
    return None


def _steps(h: mpmath.mpf, size: mpmath.mpf) -> list[mpmath.mpf]:
    """The step, then ever smaller ones relative to |x| (while the working precision leaves room)."""
    smaller = [size * mpmath.mpf(10) ** -k for k in (10, 20, 30) if size != 0]
    return [h] + [s for s in smaller if s < h]


def _depends_on_kink(trace: Trace) -> list[bool]:
    """Nodes whose gradient passes through a node evaluated at a kink."""
    return _upstream_of(trace.graph, trace.kinks)


def _upstream_of(graph, nodes) -> list[bool]:
    """The nodes themselves and every node they depend on."""
    mark = [False] * len(graph.nodes)
    for index in nodes:
        mark[index] = True
    for node in reversed(graph.nodes):
        if mark[node.index]:
            for arg in node.args:
                mark[arg] = True
    return mark


NEAR_KINK = 1e-8  # a switch this near 0 (relative to its arguments), in floats, is a kink to the check


def _near_kinks(trace: Trace) -> list[int]:
    """A numeric run's operations whose partials may jump within NEAR_KINK of their point: a
    relu whose input is 5.6e-17 in floats and 0 in exact numbers, which the float pass took for
    no kink. (Only looked for once a failing difference bends.)"""
    from backprop_cli.derivatives import switch_functions
    from backprop_cli.numbers import Float

    domain, forward, found = Float(), trace.forward, []
    for node in trace.graph.nodes[: trace.output + 1]:
        tmpl = forward.templates[node.index]
        if tmpl is None or not any(tmpl.switches or ()):
            continue
        args = [forward.column[node.args[p]] for p in tmpl.variable_positions]
        if not all(type(a) is float for a in args):
            continue
        size = max([1.0] + [abs(a) for a in args])
        if any(abs(switch(*args)) <= NEAR_KINK * size for which in range(len(tmpl.partials))
               for switch, _ in switch_functions(tmpl, which, domain)):
            found.append(node.index)
    return found


def along_direction(trace: Trace, direction: dict[int, object], result) -> tuple[mpmath.mpf | None, float | None, str]:
    """The output's central difference along a direction v (input node → exact component),
    compared with the forward-mode result: (estimate, error, status)."""
    needed = trace.graph.ancestors_of(trace.output)
    if _symbolic(trace, needed) or result.approx is None:
        return None, None, CheckStatus.SKIPPED.value
    domain = Decimal(working_digits(trace, needed, settings.FD_DIGITS, settings.FD_STEP_EXPONENT))
    with domain.precision():
        leaves = _leaves(trace, needed)
        components = {i: to_mpf(v) for i, v in direction.items() if needed[i]}
        scale = max([mpmath.mpf(1)] + [abs(leaves[i]) for i in components])
        h = mpmath.mpf(10) ** settings.FD_STEP_EXPONENT * scale
        up = _output_at(trace, domain, leaves, {i: leaves[i] + h * v for i, v in components.items()})
        down = _output_at(trace, domain, leaves, {i: leaves[i] - h * v for i, v in components.items()})
        estimate = (up - down) / (2 * h)
        error = float(abs(mpmath.mpf(result.approx) - estimate) / max(mpmath.mpf(1), abs(mpmath.mpf(result.approx))))
    return estimate, error, _verdict(error, bool(trace.kinks)).value


def _verdict(error: float, near_kink: bool) -> CheckStatus:
    """Within the tolerance: ok; beyond it, a kink where one is on the way, else a mismatch."""
    if error <= settings.FD_TOLERANCE:
        return CheckStatus.OK
    return CheckStatus.KINK if near_kink else CheckStatus.MISMATCH


# ---------------------------------------------------------------- tensors, entry by entry

TENSOR_METHOD = (f"central difference per entry in {settings.FD_DIGITS}-digit arithmetic, "
                 f"step 1e{settings.FD_STEP_EXPONENT}·max(1, |entry|), tolerance {settings.FD_TOLERANCE:g} "
                 "relative to max(1, |gradient|)")
TENSOR_FAST_METHOD = ("per tensor: ∇f·v against a central difference along a random ±1 direction v over its "
                      "entries, and {samples} randomly chosen single entries, in {arithmetic}; tolerance "
                      f"{settings.FD_TOLERANCE:g} relative to max(1, Σ|gradient|)")


@dataclass(frozen=True)
class TensorCheck:
    """A tensor gradient's check: per entry (estimate and error where that entry was checked),
    the largest error and the entry it is at, and one verdict for the whole tensor."""

    node: int
    gradient: object  # tensors.TensorValue
    estimates: object | None  # object array of decimals (None: not checked entry by entry)
    errors: object | None  # object array of floats or None
    error: float | None  # the largest entry error (or the directional error)
    worst: tuple[int, ...] | None  # the entry with the largest error
    status: CheckStatus
    entry_status: object | None = None  # object array of CheckStatus per checked entry

    @property
    def ok(self) -> bool | None:
        return GradientCheck.ok.fget(self)

    @property
    def estimate(self):
        return self.estimates


def _tensor_domain(trace: Trace, digits: int | None):
    """The check's domain: decimals at `digits` over object arrays, or (None) numpy long double."""
    from backprop_cli.tensors import Tensor
    import numpy as np

    if digits is None:
        from backprop_cli.numbers import Float
        return Tensor(Float(), trace.forward.shapes, dtype=np.longdouble)
    return Tensor(Decimal(digits), trace.forward.shapes)


def _tensor_leaves(trace: Trace, domain, needed: list[bool]) -> dict:
    import numpy as np

    leaves = {}
    for node, value in zip(trace.graph.nodes, trace.values):
        if not needed[node.index] or node.kind is NodeKind.OPERATION:
            continue
        if domain.vectorised and value.array is not None and value._entries is None:  # floats already
            leaves[node.index] = np.asarray(value.array, dtype=np.longdouble)
            continue
        entries = value.entries
        if domain.vectorised:
            leaves[node.index] = np.vectorize(
                lambda v: np.longdouble(str(sp.Float(v.exact, 25))) if v.exact is not None and v.approx is None
                else np.longdouble(v.approx if type(v.approx) is float else str(mpmath.nstr(v.approx, 25))),
                otypes=[np.longdouble])(entries) if entries.shape else np.asarray(np.longdouble(
                    str(mpmath.nstr(mpmath.mpf(entries[()].approx), 25))))
        else:
            array = np.empty(entries.shape, dtype=object)
            for index in np.ndindex(entries.shape):
                v = entries[index]
                array[index] = to_mpf(v.exact) if v.exact is not None else mpmath.mpf(v.approx)
            leaves[node.index] = array
    return leaves


def run_tensor_check(kind: CheckKind, trace: Trace, nodes: list[int]) -> tuple[list, str]:
    """Every entry of every reported tensor at FD_DIGITS digits while the reported inputs have at
    most FULL_CHECK_MAX_INPUTS entries in all; beyond, a random direction per tensor (so a wrong
    bias cannot hide behind a large W) plus TENSOR_CHECK_SAMPLES single entries chosen at random."""
    graph = trace.graph
    needed = graph.ancestors_of(trace.output)
    if kind is CheckKind.NONE or (not trace.numeric and any(
            needed[i] and any(v.approx is None for v in trace.values[i].entries.flat) for i in graph.inputs)):
        skipped = [TensorCheck(i, trace.gradients.get(i), None, None, None, None, CheckStatus.SKIPPED) for i in nodes]
        return skipped, SKIPPED_METHOD
    entries = sum(math.prod(trace.shape(i)) for i in nodes)
    near_kink = _depends_on_kink(trace)
    full = kind is CheckKind.FULL or (kind is CheckKind.AUTO and entries <= settings.FULL_CHECK_MAX_INPUTS)
    unreached = [i for i in nodes if not needed[i] and graph.nodes[i].kind is NodeKind.INPUT]
    if unreached:  # the output does not depend on them: every difference is exactly 0, as the gradient
        checks = {i: _unreached(trace, i) for i in unreached}
        rest, method = run_tensor_check(kind, trace, [i for i in nodes if i not in checks]) if len(checks) < len(
            nodes) else ([], TENSOR_METHOD)
        rest = {c.node: c for c in rest}
        return [checks[i] if i in checks else rest[i] for i in nodes], method
    if full:
        domain = _tensor_domain(trace, settings.FD_DIGITS)
        with domain.precision():
            leaves = _tensor_leaves(trace, domain, needed)
            return [_every_entry(trace, domain, leaves, i, near_kink[i]) for i in nodes], TENSOR_METHOD
    small = trace.forward.shapes.entries <= settings.EXACT_MODE_MAX_NODES
    domain = _tensor_domain(trace, settings.FAST_CHECK_DIGITS if small else None)
    arithmetic = f"{settings.FAST_CHECK_DIGITS}-digit arithmetic" if small else "numpy long double arithmetic"
    rng = random.Random(len(graph.nodes) * 7919 + entries)
    with domain.precision():
        leaves = _tensor_leaves(trace, domain, needed)
        checks = [_sampled(trace, domain, leaves, i, near_kink[i], rng) for i in nodes]
    return checks, TENSOR_FAST_METHOD.format(samples=settings.TENSOR_CHECK_SAMPLES, arithmetic=arithmetic)


def _unreached(trace: Trace, index: int) -> TensorCheck:
    import numpy as np

    gradient = trace.gradients[index]
    estimates = np.empty(gradient.shape, dtype=object)
    errors = np.empty(gradient.shape, dtype=object)
    statuses = np.empty(gradient.shape, dtype=object)
    for entry in np.ndindex(gradient.shape):
        estimates[entry], errors[entry], statuses[entry] = mpmath.mpf(0), 0.0, CheckStatus.OK
    return _summary(index, gradient, estimates, errors, statuses)


def _perturbed(domain, leaves: dict, index: int, entry, step, direction=None):
    import numpy as np

    base = leaves[index]
    up, down = base.copy(), base.copy()
    if direction is None:
        up[entry] = up[entry] + step
        down[entry] = down[entry] - step
    else:
        up = up + step * direction
        down = down - step * direction
    return np.asarray(up), np.asarray(down)


def _difference(trace: Trace, domain, leaves: dict, index: int, entry, h, direction=None):
    """(f(x + h·e) − f(x − h·e)) / 2h for one entry e (or along a direction); None outside the domain."""
    steps = [h, h / 1000, h / 10**6] if domain.vectorised else _steps(h, abs(h))  # long double: a few smaller
    fixed = _unaffected(trace, domain, leaves, index)
    products = _linear_products(trace, domain, fixed, index, entry, direction) if domain.vectorised else {}
    for step in steps:
        up, down = _perturbed(domain, leaves, index, entry, step, direction)
        try:
            f_up = _output_at(trace, domain, fixed, {index: up, **{n: fixed_at + step * change
                                                                  for n, (fixed_at, change) in products.items()}})[()]
            f_down = _output_at(trace, domain, fixed, {index: down, **{n: fixed_at - step * change
                                                                      for n, (fixed_at, change) in products.items()}})[()]
        except BackpropError:
            deadline.check()
            continue
        return (f_up - f_down) / (2 * step)
    return None


def _linear_products(trace: Trace, domain, fixed: dict, index: int, entry, direction) -> dict:
    """node → (its value, its change per unit step) for each `A @ W` whose only perturbed operand is
    the perturbed input W itself: A @ (W ± h·D) = A @ W ± h·(A @ D), so the long double passes
    redo no big product (numpy has no BLAS for long double). A single entry's D is a unit
    matrix, and A @ D one column of A; a direction's costs one product for both passes."""
    import numpy as np

    found = {}
    base = trace.forward.plans.get((domain.key, "base", trace.output))
    for node in trace.graph.nodes[: trace.output + 1]:
        if node.op != "matmul" or index not in node.args or node.index in fixed or base is None:
            continue
        left, right = node.args
        other = right if left == index else left
        if left == right or other not in fixed or base[node.index] is None:
            continue
        a, w = np.asarray(fixed[other]), np.asarray(fixed[index])
        if a.ndim != 2 or w.ndim != 2:
            continue  # vectors: their products are cheap anyway
        if direction is not None:
            # A @ D for the ±1 direction D, by float64's BLAS when A holds float64 values (data, weights
            # from a file): the change is scaled by the step, so its rounding (1e-16 relative) reaches
            # the difference quotient as 1e-16 of ∇f·v, not divided by the step as a value's would be
            d = np.asarray(direction, dtype=np.float64)
            exact = np.array_equal(a.astype(np.float64).astype(a.dtype), a)
            operand = a.astype(np.float64) if exact else a
            change = np.asarray(operand @ d if left != index else d @ operand, dtype=a.dtype)
        else:
            change = np.zeros(base[node.index].shape, dtype=a.dtype)
            i, j = entry
            if left != index:  # A @ E_ij: column j is A's column i
                change[:, j] = a[:, i]
            else:  # E_ij @ B: row i is B's row j
                change[i, :] = a[j, :]
        found[node.index] = (np.asarray(base[node.index]), change)
    return found


def _unaffected(trace: Trace, domain, leaves: dict, index: int) -> dict:
    """The leaves, and every operation that does not depend on the perturbed input at its value in
    the check's domain (computed once per run): perturbing b2 does not redo X @ W1."""
    forward = trace.forward
    key = (domain.key, "base", trace.output)
    base = forward.plans.get(key)
    if base is None:
        steps = forward.plans.get((domain.key, trace.output))
        if steps is None:
            steps = forward.plans[(domain.key, trace.output)] = plan(forward.graph, forward.templates, domain, {},
                                                                     trace.output)
        base = forward.plans[key] = forward_values(steps, domain, dict(leaves), trace.output + 1)
    graph = trace.graph
    depends = [False] * (trace.output + 1)
    depends[index] = True
    for node in graph.nodes[: trace.output + 1]:
        if node.args and any(depends[a] for a in node.args):
            depends[node.index] = True
    fixed = dict(leaves)
    for node in graph.nodes[: trace.output + 1]:
        if not depends[node.index] and base[node.index] is not None:
            fixed[node.index] = base[node.index]
    return fixed


def _step_for(domain, x):
    if domain.vectorised:
        import numpy as np
        return np.longdouble(1e-6) * max(1, abs(x))
    exponent = settings.FD_STEP_EXPONENT if domain.entry.digits == settings.FD_DIGITS else settings.FAST_CHECK_STEP_EXPONENT
    return mpmath.mpf(10) ** exponent * max(mpmath.mpf(1), abs(x))


def _every_entry(trace: Trace, domain, leaves: dict, index: int, near_kink: bool) -> TensorCheck:
    import numpy as np

    gradient = trace.gradients[index]
    if index not in leaves:  # an intermediate name in --wrt: not perturbed here
        return TensorCheck(index, gradient, None, None, None, None, CheckStatus.SKIPPED)
    estimates = np.empty(gradient.shape, dtype=object)
    errors = np.empty(gradient.shape, dtype=object)
    statuses = np.empty(gradient.shape, dtype=object)
    for entry in np.ndindex(gradient.shape):
        x = leaves[index][entry]
        estimate = (mpmath.mpf(0) if not trace.graph.ancestors_of(trace.output)[index]
                    else _difference(trace, domain, leaves, index, entry, _step_for(domain, x)))
        analytic = gradient.entries[entry].approx
        estimates[entry] = estimate
        if estimate is None or analytic is None:
            statuses[entry] = CheckStatus.SKIPPED
            continue
        errors[entry] = float(abs(mpmath.mpf(analytic) - estimate) / max(mpmath.mpf(1), abs(mpmath.mpf(analytic))))
        statuses[entry] = _verdict(errors[entry], near_kink)
    return _summary(index, gradient, estimates, errors, statuses)


def _summary(index, gradient, estimates, errors, statuses) -> TensorCheck:
    import numpy as np

    checked = [tuple(int(k) for k in e) for e in np.argwhere(np.not_equal(errors, None))] if errors.shape else (
        [()] if errors[()] is not None else [])
    if not checked:
        return TensorCheck(index, gradient, estimates, errors, None, None, CheckStatus.SKIPPED, statuses)
    worst = max(checked, key=lambda e: errors[e])
    found = {statuses[e] for e in checked}
    status = (CheckStatus.MISMATCH if CheckStatus.MISMATCH in found else
              CheckStatus.KINK if CheckStatus.KINK in found else CheckStatus.OK)
    return TensorCheck(index, gradient, estimates, errors, errors[worst], worst, status, statuses)


def _sampled(trace: Trace, domain, leaves: dict, index: int, near_kink: bool, rng: random.Random) -> TensorCheck:
    """A random ±1 direction over the tensor's entries, then a few single entries."""
    import numpy as np

    gradient = trace.gradients[index]
    if index not in leaves:
        return TensorCheck(index, gradient, None, None, None, None, CheckStatus.SKIPPED)
    shape = gradient.shape
    if gradient.array is not None and gradient._entries is None:  # numeric mode: float64's, summed by numpy
        analytic = None
        floats = gradient.array
    else:
        analytic = np.vectorize(lambda v: mpmath.mpf(v.approx), otypes=[object])(gradient.entries) if shape else \
            np.asarray(mpmath.mpf(gradient.entries[()].approx), dtype=object)
        floats = None
    estimates = np.empty(shape, dtype=object)
    errors = np.empty(shape, dtype=object)
    statuses = np.empty(shape, dtype=object)
    size = max(1, int(np.prod(shape)))
    # numpy draws the ±1's (a Python draw per entry took longer than the passes), seeded from `rng`
    signs = np.random.default_rng(rng.getrandbits(64)).choice(np.array([1, -1]), size).reshape(shape)
    direction = signs.astype(np.longdouble) if domain.vectorised else signs.astype(object)
    leaf = leaves[index]
    scale = max(1, float(max((abs(x) for x in np.asarray(leaf).reshape(-1)), default=0)) if not domain.vectorised
                else float(np.max(np.abs(leaf))) if leaf.size else 0.0)
    along = _difference(trace, domain, leaves, index, None, _step_for(domain, scale), direction)
    worst_error = None
    if along is not None:
        if floats is not None:  # in long double, exact enough for float64 gradients
            projected = mpmath.mpf(str(np.sum(floats.astype(np.longdouble) * signs)))
            total = max(mpmath.mpf(1), mpmath.mpf(str(np.sum(np.abs(floats.astype(np.longdouble))))))
        else:
            projected = mpmath.fsum(a if s > 0 else -a for a, s in zip(analytic.flat, signs.flat))
            total = max(mpmath.mpf(1), mpmath.fsum(abs(a) for a in analytic.flat))
        worst_error = float(abs(projected - mpmath.mpf(str(along)) if domain.vectorised else projected - along) / total)
    chosen = rng.sample(range(size), min(settings.TENSOR_CHECK_SAMPLES, size))
    for entry in (tuple(int(i) for i in np.unravel_index(k, shape)) for k in chosen):
        estimate = _difference(trace, domain, leaves, index, entry, _step_for(domain, leaves[index][entry]))
        if estimate is None:
            continue
        estimate = mpmath.mpf(str(estimate)) if domain.vectorised else estimate
        estimates[entry] = estimate
        exact_entry = mpmath.mpf(float(floats[entry])) if floats is not None else analytic[entry]
        errors[entry] = float(abs(exact_entry - estimate) / max(mpmath.mpf(1), abs(exact_entry)))
        statuses[entry] = _verdict(errors[entry], near_kink)
    summary = _summary(index, gradient, estimates, errors, statuses)
    if worst_error is None:
        return summary
    direction_status = _verdict(worst_error, near_kink)
    if summary.error is None or worst_error > summary.error:
        status = direction_status if summary.status is not CheckStatus.MISMATCH else summary.status
        return TensorCheck(index, gradient, estimates, errors, worst_error, None,
                           CheckStatus.MISMATCH if CheckStatus.MISMATCH in (status, direction_status) else status,
                           statuses)
    return summary


def tensor_along_direction(trace: Trace, direction: dict, result) -> tuple[mpmath.mpf | None, float | None, str]:
    """The output's central difference along a direction over tensor inputs (input node → its
    component, exact), against the forward-mode result: (estimate, error, status)."""
    import numpy as np

    from backprop_cli.forward import tensor_leaf

    needed = trace.graph.ancestors_of(trace.output)
    value = result.entries[()]
    if value.approx is None:
        return None, None, CheckStatus.SKIPPED.value
    small = trace.forward.shapes.entries <= settings.EXACT_MODE_MAX_NODES
    domain = _tensor_domain(trace, settings.FD_DIGITS if small else None)
    with domain.precision():
        leaves = _tensor_leaves(trace, domain, needed)
        components = {i: tensor_leaf(domain, trace.graph.nodes[i].name, v) for i, v in direction.items() if needed[i]}
        if domain.vectorised:
            components = {i: np.asarray(v, dtype=np.longdouble) for i, v in components.items()}
        scale = max([1.0] + [float(max((abs(x) for x in np.asarray(leaves[i]).reshape(-1)), default=0))
                             for i in components])
        h = _step_for(domain, scale)
        up = _output_at(trace, domain, leaves, {i: np.asarray(leaves[i] + h * v) for i, v in components.items()})[()]
        down = _output_at(trace, domain, leaves, {i: np.asarray(leaves[i] - h * v) for i, v in components.items()})[()]
        estimate = (up - down) / (2 * h)
        estimate = mpmath.mpf(str(estimate)) if domain.vectorised else estimate
        error = float(abs(mpmath.mpf(value.approx) - estimate) / max(mpmath.mpf(1), abs(mpmath.mpf(value.approx))))
    return estimate, error, _verdict(error, bool(trace.kinks)).value
