"""Derived templates turned into plain Python functions, without exec or lambdify.

Each SymPy template (an op's value or a local derivative, over placeholder
arguments) is compiled once into a tree of closures that evaluates it on one
number type: Python floats (the numeric mode, fast) or mpmath numbers (the
decimals of the exact mode and the high-precision checks). Nothing the user
typed is ever turned into code: templates come from the primitives table, and
constants in them are evaluated as numbers.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from functools import lru_cache, reduce
from typing import Callable

import mpmath
import sympy as sp

Function = Callable[[tuple], object]


def _heaviside(zero, half, one):
    def heaviside(z, h0=half):
        return zero if z < 0 else (h0 if z == 0 else one)
    return heaviside


def _sign(z):
    return (z > 0) - (z < 0)


def _float_pow(base, exponent):
    result = base ** exponent
    if isinstance(result, complex):
        raise ValueError("a negative number to a fractional power")
    return result


@dataclass(frozen=True)
class Backend:
    name: str
    functions: dict[str, Callable]
    constant: Callable[[sp.Expr], Callable[[], object]]  # a constant, possibly precision-dependent
    power: Callable


def _float_constant(expr: sp.Expr):
    value = float(expr)
    return lambda: value


def _mpmath_constant(expr: sp.Expr):
    if isinstance(expr, sp.Integer):
        value = int(expr)
        return lambda: mpmath.mpf(value)
    if isinstance(expr, sp.Rational):
        p, q = int(expr.p), int(expr.q)
        return lambda: mpmath.mpf(p) / q
    cache: dict[int, object] = {}

    def constant():  # pi, log(10), ...: evaluated at the caller's precision, once per precision
        precision = mpmath.mp.prec
        if precision not in cache:
            cache[precision] = mpmath.mpf(sp.Float(sp.N(expr, mpmath.mp.dps + 10), mpmath.mp.dps + 10)._mpf_)
        return cache[precision]
    return constant


FLOAT = Backend("float", {
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos, "atan": math.atan,
    "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh, "exp": math.exp, "log": math.log,
    "sqrt": math.sqrt, "Abs": abs, "sign": _sign, "Heaviside": _heaviside(0.0, 0.5, 1.0),
}, _float_constant, _float_pow)

MPMATH = Backend("mpmath", {
    "sin": mpmath.sin, "cos": mpmath.cos, "tan": mpmath.tan, "asin": mpmath.asin, "acos": mpmath.acos,
    "atan": mpmath.atan, "sinh": mpmath.sinh, "cosh": mpmath.cosh, "tanh": mpmath.tanh, "exp": mpmath.exp,
    "log": mpmath.log, "sqrt": mpmath.sqrt, "Abs": abs, "sign": _sign,
    "Heaviside": _heaviside(mpmath.mpf(0), mpmath.mpf(0.5), mpmath.mpf(1)),
}, _mpmath_constant, lambda base, exponent: base ** exponent)

_COMPARE = {
    sp.StrictGreaterThan: lambda a, b: a > b, sp.GreaterThan: lambda a, b: a >= b,
    sp.StrictLessThan: lambda a, b: a < b, sp.LessThan: lambda a, b: a <= b,
    sp.Equality: lambda a, b: a == b, sp.Unequality: lambda a, b: a != b,
}


class NotCompilable(Exception):
    pass


def _build(expr, index: dict, backend: Backend) -> Function:
    if expr in index:
        i = index[expr]
        return lambda args: args[i]
    if not expr.free_symbols:
        if expr.has(sp.zoo, sp.nan, sp.oo):
            raise ZeroDivisionError("undefined constant")
        return _const(backend.constant(expr))
    if isinstance(expr, sp.Add):
        parts = [_build(a, index, backend) for a in expr.args]
        return lambda args: reduce(lambda acc, f: acc + f(args), parts[1:], parts[0](args))
    if isinstance(expr, sp.Mul):
        parts = [_build(a, index, backend) for a in expr.args]
        return lambda args: reduce(lambda acc, f: acc * f(args), parts[1:], parts[0](args))
    if isinstance(expr, sp.Pow):
        base = _build(expr.base, index, backend)
        exponent = expr.exp
        if exponent == -1:
            return lambda args: 1 / base(args)
        if exponent == sp.Rational(1, 2):
            root = backend.functions["sqrt"]
            return lambda args: root(base(args))
        if isinstance(exponent, sp.Integer):
            n = int(exponent)
            if n > 0:
                return lambda args: base(args) ** n
            return lambda args: 1 / base(args) ** -n
        power = backend.power
        exp_function = _build(exponent, index, backend)
        return lambda args: power(base(args), exp_function(args))
    if isinstance(expr, sp.Piecewise):
        branches = [(_build(value, index, backend), _condition(condition, index, backend))
                    for value, condition in expr.args]

        def piecewise(args):
            for value, condition in branches:
                if condition(args):
                    return value(args)
            raise ValueError("no branch applies")
        return piecewise
    if isinstance(expr, (sp.Max, sp.Min)):
        parts = [_build(a, index, backend) for a in expr.args]
        pick = max if isinstance(expr, sp.Max) else min
        return lambda args: pick(f(args) for f in parts)
    name = type(expr).__name__
    if name in backend.functions:
        function = backend.functions[name]
        parts = [_build(a, index, backend) for a in expr.args]
        if len(parts) == 1:
            only = parts[0]
            return lambda args: function(only(args))
        return lambda args: function(*(f(args) for f in parts))
    raise NotCompilable(f"cannot compile {name}")


def _const(getter):
    return lambda args: getter()


def _condition(condition, index, backend) -> Callable[[tuple], bool]:
    if condition == sp.true:
        return lambda args: True
    if condition == sp.false:
        return lambda args: False
    compare = _COMPARE.get(type(condition))
    if compare is None:
        raise NotCompilable(f"cannot compile the condition {condition}")
    left, right = _build(condition.lhs, index, backend), _build(condition.rhs, index, backend)
    return lambda args: compare(left(args), right(args))


def _direct(expr: sp.Expr, variables: tuple[sp.Symbol, ...]) -> Callable[..., object] | None:
    """A built-in function for the shapes most graphs are made of (a*b, a + b, a - b, and a
    partial that is one of the operands): one C call per node instead of a tree of closures."""
    if len(variables) == 2:
        a, b = variables
        pair = set(expr.args)
        if isinstance(expr, sp.Mul) and pair == {a, b}:
            return operator.mul
        if isinstance(expr, sp.Add) and pair == {a, b}:
            return operator.add
        if isinstance(expr, sp.Add) and pair == {a, -b}:
            return operator.sub
        if expr == a:
            return lambda a, b: a
        if expr == b:
            return lambda a, b: b
    return None


@lru_cache(maxsize=16384)
def compile_template(expr: sp.Expr, variables: tuple[sp.Symbol, ...], backend: str) -> Callable[..., object]:
    """A function of the variables' values (floats or mpmath numbers) computing `expr`."""
    direct = _direct(expr, variables)
    if direct is not None:
        return direct
    chosen = FLOAT if backend == "float" else MPMATH
    function = _build(expr, {v: i for i, v in enumerate(variables)}, chosen)
    return lambda *args: function(args)


def template_function(tmpl, which: str | int, backend: str) -> Callable[..., object]:
    """The compiled value (`which="value"`) or partial `which` of a template, compiled once."""
    key = (which, backend)
    function = tmpl.compiled.get(key)
    if function is None:
        expr = tmpl.value if which == "value" else tmpl.partials[which]
        function = tmpl.compiled[key] = compile_template(expr, tmpl.variables, backend)
    return function
