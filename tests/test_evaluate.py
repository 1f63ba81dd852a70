"""Compiled templates (evaluate.py) against SymPy's own evaluation of the same expressions."""

import math
import operator

import mpmath
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.numbers import compile_template
from backprop_cli.primitives import PRIMITIVES, template

# Every op with all arguments variable, plus the folded forms a program meets most.
TEMPLATES = [template(name, (None,) * max(p.arity)) for name, p in PRIMITIVES.items()] + [
    template("pow", (None, sp.Integer(2))),
    template("pow", (None, sp.Rational(1, 2))),
    template("pow", (None, sp.Integer(-3))),
    template("log", (None, sp.Integer(10))),
    template("leaky_relu", (None, sp.Rational(1, 5))),
]
EXPRESSIONS = [(t, expr) for t in TEMPLATES for expr in (t.value, *t.partials)]


def test_the_common_shapes_compile_to_builtins():
    assert compile_template(template("product", (None, None)).value, template("product", (None, None)).variables,
                            "float") is operator.mul
    assert compile_template(template("sum", (None, None)).value, template("sum", (None, None)).variables,
                            "mpmath") is operator.add
    sub = template("sum", (None, None), (1, -1))
    assert compile_template(sub.value, sub.variables, "float") is operator.sub
    mul = template("product", (None, None))
    assert compile_template(mul.partials[0], mul.variables, "float")(2.0, 5.0) == 5.0  # ∂(a*b)/∂a = b
    assert compile_template(mul.partials[1], mul.variables, "float")(2.0, 5.0) == 2.0


def _sympy_value(expr, variables, point):
    """SymPy's value at the point, substituted all at once (log(1)/log(1) is nan, not 0), in
    40 digits; None where it is not a finite real number. The point goes in as 40-digit Floats
    holding the doubles exactly: as rationals with 2^52 denominators SymPy would take the
    exact road (powers, roots) instead of evaluating."""
    value = sp.N(expr.xreplace(dict(zip(variables, [sp.Float(x, 40) for x in point]))), 40)
    if not (value.is_finite and value.is_real):
        return None
    return sp.Float(value, 40)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(EXPRESSIONS),
       st.lists(st.floats(-3, 3, allow_nan=False).filter(lambda x: abs(x) > 1e-3), min_size=2, max_size=2))
def test_compiled_functions_equal_sympy_on_floats_and_mpmath(case, point):
    tmpl, expr = case
    point = point[: len(tmpl.variables)]
    want = _sympy_value(expr, tmpl.variables, point)
    try:
        got_float = compile_template(expr, tmpl.variables, "float")(*point)
    except (ValueError, ZeroDivisionError, OverflowError):
        return  # outside the real domain on the way (log base -1): the forward pass reports it
    if want is None:
        return
    assert math.isclose(got_float, float(want), rel_tol=1e-9, abs_tol=1e-12), (expr, point)
    with mpmath.workdps(40):
        got = compile_template(expr, tmpl.variables, "mpmath")(*[mpmath.mpf(x) for x in point])
        exact = mpmath.mpf(want._mpf_)
        assert abs(got - exact) <= mpmath.mpf(10) ** -30 * max(1, abs(exact)), (expr, point)
