"""Double-double arithmetic against mpmath at 60 digits, and the directional check in it."""

from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp

from backprop_cli import settings, vectorised
from backprop_cli.double_double import DOUBLE_DOUBLE_LIBRARY, DoubleDouble
from dataclasses import replace

from backprop_cli.engine import NumberMode, Request, run
from backprop_cli.primitives import PRIMITIVES
from backprop_cli.finite_difference import CheckKind, FAST_METHOD_DOUBLE_DOUBLE
from backprop_cli.source import BindingText, from_text

RNG = np.random.default_rng(7)


def _numbers(count: int = 200) -> DoubleDouble:
    """Random double-doubles spread over many magnitudes, with their exact lower halves."""
    hi = RNG.normal(size=count) * 10.0 ** RNG.integers(-8, 8, size=count)
    lo = hi * RNG.uniform(-1, 1, size=count) * 2.0 ** -53
    return DoubleDouble(hi, lo)


def _exact(x: DoubleDouble) -> list:
    return [mpmath.mpf(float(h)) + mpmath.mpf(float(l)) for h, l in zip(x.hi, x.lo)]


def _relative_errors(result: DoubleDouble, expected: list) -> float:
    got = _exact(result)
    return max(abs(g - e) / max(abs(e), mpmath.mpf(10) ** -300) for g, e in zip(got, expected))


@pytest.mark.parametrize("operation", ["add", "sub", "mul", "div"])
def test_arithmetic_is_good_to_30_digits(operation):
    with mpmath.workdps(60):
        a, b = _numbers(), _numbers()
        ea, eb = _exact(a), _exact(b)
        result = {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b}[operation]
        expected = {"add": [x + y for x, y in zip(ea, eb)], "sub": [x - y for x, y in zip(ea, eb)],
                    "mul": [x * y for x, y in zip(ea, eb)], "div": [x / y for x, y in zip(ea, eb)]}[operation]
        if operation in ("add", "sub"):  # relative to the operands: cancellation is exact, not relative
            scale = [max(abs(x), abs(y)) for x, y in zip(ea, eb)]
            errors = [abs(g - e) / s for g, e, s in zip(_exact(result), expected, scale)]
            assert max(errors) < mpmath.mpf(10) ** -31
        else:
            assert _relative_errors(result, expected) < mpmath.mpf(10) ** -30


@pytest.mark.parametrize("n", [2, 3, 5, -1, -2])
def test_integer_powers(n):
    with mpmath.workdps(60):
        a = _numbers(50)
        assert _relative_errors(a ** n, [x ** n for x in _exact(a)]) < mpmath.mpf(10) ** -29


def test_sqrt_and_the_functions_computed_entry_by_entry():
    with mpmath.workdps(60):
        a = DoubleDouble(np.abs(_numbers(100).hi))
        sqrt = DOUBLE_DOUBLE_LIBRARY.function("sqrt")
        assert _relative_errors(sqrt(a), [mpmath.sqrt(x) for x in _exact(a)]) < mpmath.mpf(10) ** -30
        small = DoubleDouble(RNG.uniform(-3, 3, size=50), RNG.uniform(-1, 1, size=50) * 1e-17)
        for name in ("exp", "tanh", "sin", "atan", "erf"):
            function = DOUBLE_DOUBLE_LIBRARY.function(name)
            assert _relative_errors(function(small), [getattr(mpmath, name)(x) for x in _exact(small)]) \
                < mpmath.mpf(10) ** -30
        assert sqrt(DoubleDouble([0.0])).hi.tolist() == [0.0]


@np.errstate(all="ignore")
def test_outside_a_domain_is_not_finite():
    assert not DOUBLE_DOUBLE_LIBRARY.function("log")(DoubleDouble([-1.0, 2.0])).finite()
    assert not DOUBLE_DOUBLE_LIBRARY.function("sqrt")(DoubleDouble([-1.0])).finite()
    assert not (DoubleDouble([1.0]) / DoubleDouble([0.0])).finite()


def test_comparisons_see_the_lower_half():
    a = DoubleDouble([1.0, 1.0, 1.0], [1e-20, 0.0, -1e-20])
    assert (a > 1).tolist() == [True, False, False]
    assert (a >= 1).tolist() == [True, True, False]
    assert (a < 1).tolist() == [False, False, True]
    assert (a == 1).tolist() == [False, True, False]
    select = DOUBLE_DOUBLE_LIBRARY.function("select")
    assert select([a > 1, True], [a, 0]).hi.tolist() == [1.0, 0.0, 0.0]
    assert DOUBLE_DOUBLE_LIBRARY.function("maximum")(a, 1).lo.tolist() == [1e-20, 0.0, 0.0]
    assert DOUBLE_DOUBLE_LIBRARY.function("Abs")(-a).lo.tolist() == [1e-20, 0.0, -1e-20]


def test_rationals_are_rounded_once():
    numerators, denominators = [1, 2, -7, 689, 10**30 + 1], [3, 7, 10, 1000, 3]
    values = DoubleDouble.rationals(numerators, denominators)
    for p, q, hi, lo in zip(numerators, denominators, values.hi, values.lo):
        error = abs(Fraction(p, q) - Fraction(float(hi)) - Fraction(float(lo)))
        assert error <= abs(Fraction(p, q)) * Fraction(1, 2**104)
    assert float(DoubleDouble.exact(sp.Rational(1, 3)).lo) == values.lo[0]


def _network(width: int = 12, inputs: int = 8, function: str = "tanh") -> tuple[str, str]:
    lines = [f"h{j} = {function}(" + " + ".join(f"w{j}_{i}*x{i}" for i in range(inputs)) + ")" for j in range(width)]
    lines.append("L = (" + " + ".join(f"v{j}*h{j}" for j in range(width)) + " - 1/2)^2")
    values = [f"x{i}={(i % 5 - 2) / 3}" for i in range(inputs)]
    values += [f"w{j}_{i}={((i * 7 + j * 3) % 9 - 4) / 7}" for j in range(width) for i in range(inputs)]
    values += [f"v{j}={(j % 4 - 1.5) / 2}" for j in range(width)]
    return "\n".join(lines), ", ".join(values)


@pytest.mark.parametrize("function", ["tanh", "relu", "sigmoid", "softplus"])
def test_the_directional_check_in_double_double_agrees_with_30_digit_decimals(monkeypatch, function):
    monkeypatch.setattr(vectorised, "MIN_GROUP_SIZE", 1)
    text, at = _network(function=function)
    request = Request(source=from_text(text), at=[BindingText(at, "--at")], check=CheckKind.FAST,
                      mode=NumberMode.NUMERIC)
    monkeypatch.setattr(settings, "VECTORISED_MIN_NODES", 0)
    columns = run(request)
    monkeypatch.setattr(settings, "VECTORISED_MIN_NODES", 10**9)
    decimals = run(replace(request))
    assert columns.method == FAST_METHOD_DOUBLE_DOUBLE.format(n=2)
    assert decimals.method != columns.method
    assert [c.status for c in columns.checks] == [c.status for c in decimals.checks]
    assert all(c.ok for c in columns.checks)
    # both errors are the float64 gradients' own rounding (~1e-16); the passes agree far below it
    assert abs(columns.checks[0].error - decimals.checks[0].error) < 1e-20


def test_a_step_leaving_the_domain_falls_back_to_the_decimal_check(monkeypatch):
    # log(x) at x = 1e-12: x - 1e-10 < 0, so the double-double pass is not finite; the decimal
    # passes try smaller steps, as they always did
    monkeypatch.setattr(vectorised, "MIN_GROUP_SIZE", 1)
    monkeypatch.setattr(settings, "VECTORISED_MIN_NODES", 0)
    text = "\n".join(f"h{k} = log(x{k})" for k in range(10)) + "\nL = " + " + ".join(f"h{k}" for k in range(10))
    at = ", ".join(f"x{k}={'1e-12' if k == 4 else k + 1}" for k in range(10))
    report = run(Request(source=from_text(text), at=[BindingText(at, "--at")], check=CheckKind.FAST,
                         mode=NumberMode.NUMERIC))
    assert report.trace.forward.flat is not None
    assert "30-digit arithmetic" in report.method
    assert all(c.ok for c in report.checks)


@pytest.mark.parametrize("name", sorted(n for n, p in PRIMITIVES.items() if p.arity != (-1,)))
def test_every_primitive_value_in_double_double_is_good_to_28_digits(name):
    """Each row of the table compiled for double-double against mpmath at 60 digits, at points on
    both signs; outside a function's domain the result is not finite (the check then falls back)."""
    from backprop_cli.numbers import compile_part
    from backprop_cli.templates import template

    arity = min(PRIMITIVES[name].arity)
    tmpl = template(name, (None,) * arity, None)
    points = [-2.5, -0.5, 0.0, 0.3, 1.0, 1.5, 3.0]
    grid = np.array(np.meshgrid(*[points] * tmpl.arity)).reshape(tmpl.arity, -1)
    value = compile_part(tmpl, "value", "double-double")
    reference = compile_part(tmpl, "value", "mpmath")
    with np.errstate(all="ignore"):
        got = DoubleDouble.of(value(*[DoubleDouble(row) for row in grid]))
    for k, point in enumerate(grid.T.tolist()):
        with mpmath.workdps(60):
            try:
                expected = reference(*[mpmath.mpf(x) for x in point])
            except (ValueError, ZeroDivisionError, OverflowError, TypeError):
                expected = None
            if not isinstance(expected, mpmath.mpf) or not mpmath.isfinite(expected):
                assert not np.isfinite(np.broadcast_to(got.hi, grid.shape[1:])[k]), (name, point)
                continue
            entry = got[k] if got.shape else got
            error = abs(entry.mpf() - expected) / max(abs(expected), mpmath.mpf(1))
            assert error < mpmath.mpf(10) ** -28, (name, point, error)


def test_values_past_floats_range_that_the_check_does_not_need(monkeypatch, cli):
    """An unused 10^400 (inf as a float) neither crashes the precision's growth nor the
    double-double passes (a reviewer found both tracebacks)."""
    code, out, err = cli("grad", "x1 = x*2; u = 10^400", "--at", "x=1", "--numeric")
    assert code == 0 and "Traceback" not in err
    monkeypatch.setattr(vectorised, "MIN_GROUP_SIZE", 1)
    monkeypatch.setattr(settings, "VECTORISED_MIN_NODES", 0)
    text, at = _network()
    report = run(Request(source=from_text(text + "\nu = 10^400\nL2 = L"), at=[BindingText(at, "--at")],
                         check=CheckKind.FAST, mode=NumberMode.NUMERIC))
    assert report.method == FAST_METHOD_DOUBLE_DOUBLE.format(n=2) and all(c.ok for c in report.checks)


def test_a_branch_not_taken_leaves_the_columns_in_place(monkeypatch):
    """elu(800)'s exp(800) overflows in the branch Piecewise does not take: no fallback."""
    monkeypatch.setattr(vectorised, "MIN_GROUP_SIZE", 1)
    monkeypatch.setattr(settings, "VECTORISED_MIN_NODES", 0)
    text = "\n".join(f"h{k} = elu(x{k} + 800)" for k in range(10)) + "\nL = " + " + ".join(f"h{k}" for k in range(10))
    report = run(Request(source=from_text(text), at=[BindingText(", ".join(f"x{k}={k}" for k in range(10)), "--at")],
                         mode=NumberMode.NUMERIC))
    assert report.trace.forward.flat is not None and all(c.ok for c in report.checks)
