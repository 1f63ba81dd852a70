"""Random programs over every primitive, against independent oracles.

Each program is generated twice at once: as text for the tool, and as a SymPy
expression built directly (never by parsing the text). The tool's gradients
must equal SymPy's `diff` of that whole flattened expression, and the
finite-difference check must agree to 1e-9.
"""

import re

import mpmath
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from backprop_cli.finite_difference import CheckStatus
from backprop_cli.engine import Request, run
from backprop_cli.errors import BackpropError
from backprop_cli.source import BindingText, from_text

INPUTS = ["x", "y", "z"]

UNARY = {
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "asin": sp.asin, "acos": sp.acos, "atan": sp.atan,
    "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh, "exp": sp.exp, "log": sp.log, "ln": sp.log,
    "sqrt": sp.sqrt, "abs": sp.Abs, "sigmoid": lambda a: 1 / (1 + sp.exp(-a)),
    "relu": lambda a: sp.Piecewise((a, a > 0), (0, True)),
    "softplus": lambda a: sp.log(1 + sp.exp(a)),
    "leaky_relu": lambda a: sp.Piecewise((a, a > 0), (a / 100, True)),
    "erf": sp.erf, "gelu": lambda a: a * (1 + sp.erf(a / sp.sqrt(2))) / 2, "silu": lambda a: a / (1 + sp.exp(-a)),
    "elu": lambda a: sp.Piecewise((a, a > 0), (sp.exp(a) - 1, True)),
    "asinh": sp.asinh, "acosh": sp.acosh, "atanh": sp.atanh,
}
BINARY = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
    "max": sp.Max, "min": sp.Min, "pow": lambda a, b: a**b,
}
# functions with a constant second argument: log(·, base), leaky_relu(·, slope)
WITH_PARAMETER = {
    "log": (sp.Integer(2), lambda a, base: sp.log(a) / sp.log(base)),
    "leaky_relu": (sp.Rational(1, 5), lambda a, slope: sp.Piecewise((a, a > 0), (slope * a, True))),
}


def build(function, *args):
    try:
        return function(*args)
    except (ValueError, TypeError, RecursionError):
        # SymPy cannot order a complex constant such as acos(2), and its assumption system can
        # recurse past Python's limit deciding whether a nested Max of acos(...) is real: the
        # oracle cannot be built, so the example is dropped.
        assume(False)


@st.composite
def expressions(draw, names, depth):
    """(text, sympy expression) pairs over the given names."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        if draw(st.booleans()) and names:
            name = draw(st.sampled_from(names))
            return name, SYMBOLS[name]
        value = draw(st.sampled_from([sp.Integer(1), sp.Integer(2), sp.Integer(3), sp.Rational(1, 2), sp.Rational(3, 4)]))
        return (str(value) if value.q == 1 else f"({value})"), value
    kind = draw(st.sampled_from(["unary", "binary", "binary", "power", "neg", "parameter"]))
    if kind == "parameter":
        name = draw(st.sampled_from(sorted(WITH_PARAMETER)))
        parameter, function = WITH_PARAMETER[name]
        text, expr = draw(expressions(names, depth - 1))
        return f"{name}({text}, {parameter})", build(function, expr, parameter)
    if kind == "unary":
        name = draw(st.sampled_from(sorted(UNARY)))
        text, expr = draw(expressions(names, depth - 1))
        return f"{name}({text})", build(UNARY[name], expr)
    if kind == "neg":
        text, expr = draw(expressions(names, depth - 1))
        return f"(-{text})", -expr
    if kind == "power":
        text, expr = draw(expressions(names, depth - 1))
        exponent = draw(st.sampled_from([2, 3, -1]))
        return f"({text})^({exponent})", expr ** exponent
    op = draw(st.sampled_from(sorted(BINARY)))
    left_text, left = draw(expressions(names, depth - 1))
    right_text, right = draw(expressions(names, depth - 1))
    if op in ("max", "min", "pow"):
        return f"{op}({left_text}, {right_text})", build(BINARY[op], left, right)
    return f"({left_text} {op} {right_text})", build(BINARY[op], left, right)


SYMBOLS: dict[str, sp.Symbol] = {}


@st.composite
def programs(draw):
    """A few statements reusing inputs and earlier names (shared subexpressions)."""
    SYMBOLS.clear()
    SYMBOLS.update({n: sp.Symbol(n, real=True) for n in INPUTS})
    flattened: dict[str, sp.Expr] = {n: SYMBOLS[n] for n in INPUTS}
    lines = []
    names = list(INPUTS)
    for i in range(draw(st.integers(1, 3))):
        text, expr = draw(expressions(names, 3))
        name = f"h{i}"
        lines.append(f"{name} = {text}")
        flattened[name] = build(expr.xreplace, {SYMBOLS[k]: v for k, v in flattened.items() if k not in INPUTS})
        SYMBOLS[name] = sp.Symbol(name, real=True)
        names.append(name)
    point = {n: draw(st.sampled_from([sp.Rational(1, 3), sp.Rational(-2, 5), sp.Rational(7, 4), sp.Rational(1, 7)]))
             for n in INPUTS}
    return "\n".join(lines), flattened[names[-1]], point


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(programs())
def test_gradients_equal_sympy_diff_of_the_whole_expression(case):
    text, flattened, point = case
    used = [n for n in INPUTS if re.search(rf"\b{n}\b", text)]
    assume(used)
    at = ", ".join(f"{n}={point[n]}" for n in used)
    try:
        report = run(Request(from_text(text), [BindingText(at, "--at")]))
    except BackpropError:
        assume(False)  # outside a domain (log of a negative, 1/0): the oracle says nothing
        return
    graph = report.trace.forward.graph
    substitution = {SYMBOLS[n]: point[n] for n in used}
    # At a kink the convention applies per edge of the graph as written: max(x, max(x, y)) at a
    # tie gives ∂/∂x = 1/2 + 1/4, while SymPy first flattens it to Max(x, y) and gives 1/2.
    assume(not report.trace.kinks)
    for check in report.checks:
        name = graph.nodes[check.node].name
        gradient = report.trace.gradients[check.node]
        expected = sp.diff(flattened, SYMBOLS[name]).subs(substitution)
        expected = sp.N(expected, 60)
        assume(expected.is_real and expected.is_finite)
        with mpmath.workdps(60):
            difference = abs(gradient.approx - mpmath.mpf(sp.Float(expected, 60)._mpf_))
            assert difference <= mpmath.mpf(10) ** -35 * max(1, abs(gradient.approx)), (text, at, name)
        if gradient.exact is not None:
            difference = abs(sp.N(gradient.exact - expected, 60))
            assert difference <= sp.Float("1e-35") * max(1, abs(expected)), (text, at, name)
        if check.status is not CheckStatus.KINK:
            assert check.status is CheckStatus.OK, (text, at, name, check)
            assert check.error <= 1e-9


@settings(max_examples=60, deadline=None)
@given(programs())
def test_symbolic_gradients_equal_sympy_diff(case):
    text, flattened, _ = case
    try:
        report = run(Request(from_text(text), []))
    except BackpropError:
        assume(False)
        return
    graph = report.trace.forward.graph
    for check in report.checks:
        name = graph.nodes[check.node].name
        gradient = report.trace.gradients[check.node].exact
        if gradient is None:
            continue  # a gradient too big to expand into the inputs (its formula is in names), or decimal-only gradients of
            # constant chains too long to keep exact, are checked numerically above
        expected = sp.diff(flattened, SYMBOLS[name])
        # Every input the program names, even one SymPy's flattening cancelled (abs(max(1, min(1, x)))).
        point = {SYMBOLS[n]: v for n, v in zip(INPUTS, [sp.Rational(3, 7), sp.Rational(5, 11), sp.Rational(2, 9)])}
        try:
            # every part must be real there, not only the whole: abs(acosh(3/7)) is real, but the
            # program is not defined at x = 3/7 (acosh of a number below 1 is complex)
            parts = [sp.N(part.subs(point), 30) for part in sp.preorder_traversal(flattened)
                     if isinstance(part, sp.Function) or part is flattened]
            got, want = sp.N(gradient.subs(point), 30), sp.N(expected.subs(point), 30)
        except (TypeError, ValueError):  # SymPy refuses to compare a non-real number: outside the real domain
            continue
        if not all(p.is_real and p.is_finite for p in parts):
            continue  # acos(acos(3/7)) is complex: there |z|' and relu' mean nothing to compare
        if want.is_real and want.is_finite and got.is_real:
            assert abs(got - want) < 1e-20, (text, name)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(programs(), st.lists(st.sampled_from([-2, -1, 0, 1, 3]), min_size=3, max_size=3))
def test_forward_mode_equals_sympy_directional_derivative(case, components):
    """The tangent sweep against SymPy: Σ_i ∂f/∂x_i · v_i of the flattened expression, and against
    the reverse sweep's ∇f·v over the same local derivatives."""
    text, flattened, point = case
    used = [n for n in INPUTS if re.search(rf"\b{n}\b", text)]
    assume(used)
    at = ", ".join(f"{n}={point[n]}" for n in used)
    direction = ", ".join(f"{n}={v}" for n, v in zip(used, components))
    try:
        report = run(Request(from_text(text), [BindingText(at, "--at")], forward_mode=True, tangent=direction))
    except BackpropError:
        assume(False)
        return
    assume(not report.trace.kinks)
    substitution = {SYMBOLS[n]: point[n] for n in used}
    try:
        expected = sp.N(sum(sp.diff(flattened, SYMBOLS[n]) * v for n, v in zip(used, components)).subs(substitution), 60)
    except (TypeError, ValueError):  # the oracle's Piecewise compares a branch that is not real there:
        assume(False)  # leaky_relu(acosh(leaky_relu(x, 1/5)), 1/5) at 7/4 asks whether acosh(7/20) > 0
        return
    assume(expected.is_real and expected.is_finite)
    (tangent_pass,) = report.tangent_passes
    with mpmath.workdps(60):
        got = tangent_pass.result.approx
        assert abs(got - mpmath.mpf(sp.Float(expected, 60)._mpf_)) <= mpmath.mpf(10) ** -35 * max(1, abs(got)), (text, direction)
    assert tangent_pass.agrees is True, (text, direction)
    assert tangent_pass.status == "ok", (text, direction, tangent_pass)
