"""Every row of PRIMITIVES through every number domain, deterministically.

For each primitive, at points on both signs (and at its kinks), the value and every partial are
evaluated by each domain's compiled template and compared with SymPy evaluating the definition
at 60 digits; each partial is also compared with a central difference of the decimal domain's
own value (an oracle that does not use sympy.diff). Outside a function's domain, every domain
refuses the point with the same kind of error. A new row in the table is covered here as it is.
"""

from types import SimpleNamespace

import mpmath
import pytest
import sympy as sp

from backprop_cli.errors import BackpropError
from backprop_cli.numbers import Decimal, Float, Tracked, Value, to_mpf
from backprop_cli.derive import from_form
from backprop_cli.primitives import PLACEHOLDERS, PRIMITIVES
from backprop_cli.templates import template

NODE = SimpleNamespace(text="f(a)", name="f", span=None, index=0, op="")
HALF, THIRD = sp.Rational(1, 2), sp.Rational(1, 3)
# Points on both signs, the first argument's kink at 0, and a tie for two-argument rows.
POINTS_1 = [sp.Rational(7, 10), sp.Rational(-7, 10), sp.Rational(13, 5), sp.Rational(-13, 5), sp.Integer(0)]
POINTS_2 = [(sp.Rational(7, 10), sp.Rational(3, 2)), (sp.Rational(-7, 10), sp.Rational(-3, 2)),
            (sp.Rational(5, 2), sp.Rational(-2, 5)), (sp.Rational(-5, 4), sp.Rational(3, 4)), (HALF, HALF)]
DOMAINS = [Float(), Decimal(50), Tracked()]


def _as_domain(domain, x: sp.Rational):
    if isinstance(domain, Float):
        return float(x)
    if isinstance(domain, Decimal):
        with domain.precision():
            return to_mpf(x)
    with domain.precision():
        return Value(x, to_mpf(x))


def _decimal(number) -> mpmath.mpf | None:
    if isinstance(number, Value):
        return number.approx
    return mpmath.mpf(number)


def _oracle(expr: sp.Expr, point) -> sp.Expr | None:
    """SymPy's own value at 60 digits, or None where it is not a finite real number."""
    value = sp.N(expr.subs(dict(zip(PLACEHOLDERS, point))), 60)
    if not value.is_real or not value.is_finite or value.has(sp.nan, sp.zoo):
        return None
    return value


def _cases():
    for name, primitive in PRIMITIVES.items():
        arity = max(primitive.arity)
        for point in (POINTS_1 if arity == 1 else POINTS_2):
            yield pytest.param(name, (point,) if arity == 1 else point, id=f"{name}{point}")


def _tolerance(domain) -> float:
    return 1e-12 if isinstance(domain, Float) else 1e-40


@pytest.mark.parametrize("name,point", list(_cases()))
def test_every_primitive_in_every_domain(name, point):
    with mpmath.workdps(60):
        _check_every_domain(name, point)


def _check_every_domain(name, point):
    tmpl = template(name, (None,) * len(point))
    definition = PRIMITIVES[name].definition(*PLACEHOLDERS[: len(point)])
    expected = _oracle(definition, point)
    for domain in DOMAINS:
        args = [_as_domain(domain, x) for x in point]
        with domain.precision():
            if expected is None:  # outside the domain: every domain refuses, none returns a number
                with pytest.raises(BackpropError, match="undefined at this point"):
                    domain.function(tmpl, "value")(NODE, args)
                continue
            value = _decimal(domain.function(tmpl, "value")(NODE, args))
        assert abs(value - to_mpf(expected)) <= _tolerance(domain) * max(1, abs(value)), (domain.key, value)
        for which, partial in enumerate(tmpl.symbolic.partials):  # SymPy's partials: the oracle
            at_switch = any(_oracle(switch, point) == 0 for switch in _switch_points(tmpl, which))
            want = _oracle(partial, point)
            if want is None:
                continue
            with domain.precision():
                got = _decimal(domain.function(tmpl, which)(NODE, args))
            assert abs(got - to_mpf(want)) <= _tolerance(domain) * max(1, abs(got)), (domain.key, which, got)
            if not at_switch and isinstance(domain, Decimal):
                assert abs(got - _central_difference(domain, tmpl, args, which)) <= 1e-15 * max(1, abs(got))


def _switch_points(tmpl, which):
    """Where the partial may jump, as SymPy expressions over the placeholders."""
    return [from_form(switch, PLACEHOLDERS) for switch, _ in tmpl.switches[which]]


def _central_difference(domain, tmpl, args, which):
    with mpmath.workdps(60):
        h = mpmath.mpf(10) ** -20
        up, down = list(args), list(args)
        up[which] += h
        down[which] -= h
        f = domain.function(tmpl, "value")
        with domain.precision():
            difference = f(NODE, up) - f(NODE, down)
        return difference / (2 * h)


def test_kinks_follow_the_documented_convention_in_every_domain():
    """relu'(0) = 0, abs'(0) = 0, elu'(0) = 1 (the exp side at 0), a tie in max splits evenly."""
    cases = [("relu", (0,), 0, 0), ("abs", (0,), 0, 0), ("elu", (0,), 0, 1), ("max", (1, 1), 0, HALF),
             ("leaky_relu", (0, THIRD), 0, THIRD)]
    for name, point, which, expected in cases:
        tmpl = template(name, (None,) * len(point))
        for domain in DOMAINS:
            args = [_as_domain(domain, sp.Rational(x)) for x in point]
            with domain.precision():
                got = _decimal(domain.function(tmpl, which)(NODE, args))
                switch = domain.switch(tmpl.switches[which][0][0], tmpl.arity)
                assert domain.at_kink(switch(*args)), (name, domain.key)
            assert abs(got - to_mpf(sp.Rational(expected))) < 1e-12, (name, domain.key, got)


def test_the_new_functions_are_one_line_each_and_reach_the_cli(cli):
    code, out, _ = cli("grad", "y = gelu(x)", "--at", "x=0.5", "--format", "json")
    assert code == 0
    import json
    gradient = json.loads(out)["gradients"]["x"]
    import math
    phi, density = (1 + math.erf(0.5 / math.sqrt(2))) / 2, math.exp(-0.125) / math.sqrt(2 * math.pi)
    assert gradient["float"] == pytest.approx(phi + 0.5 * density, abs=1e-15) and gradient["ok"] is True
    for function in ("erf", "silu", "elu", "asinh", "atanh"):
        code, out, err = cli("grad", f"y = {function}(x)", "--at", "x=-0.5")
        assert code == 0 and "✓" in out, (function, out, err)
    code, out, err = cli("grad", "y = acosh(x)", "--at", "x=1/2")
    assert code == 2 and "undefined at this point" in err
