"""Numbers as the tool carries them: exact where exact stays readable, else decimal.

A `Value` has two tracks. `exact` is a SymPy expression — a rational, a small
exact number such as tanh(2), or a formula in the unbound inputs (symbolic
mode) — or None once the exact form would grow past the limits. `approx` is a
DECIMAL_DIGITS-digit mpmath number, or None while the value is symbolic.
Both tracks are computed from the same derived templates, so they agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import sympy as sp

from backprop_cli import limits


@dataclass(slots=True)  # not frozen, as EdgeStep: several per node; never changed once made
class Value:
    exact: sp.Expr | None
    approx: mpmath.mpf | None

    def float(self) -> float | None:
        if self.approx is None:
            return None
        return _to_float(self.approx)


ONE = Value(sp.Integer(1), mpmath.mpf(1))


def _to_float(x: mpmath.mpf) -> float:
    try:
        return float(x)
    except OverflowError:  # pragma: no cover - magnitudes are limited before this
        return math.copysign(math.inf, float(mpmath.sign(x)))


def to_mpf(expr: sp.Expr) -> mpmath.mpf:
    """A constant SymPy number as an mpmath number at the current precision."""
    evaluated = sp.N(expr, mpmath.mp.dps + 5)
    if not evaluated.is_real and evaluated.is_real is not None:
        raise ValueError("not real")
    if isinstance(evaluated, sp.Float) or evaluated.is_Number:
        return mpmath.mpf(sp.Float(evaluated, mpmath.mp.dps + 5)._mpf_)
    raise ValueError(f"cannot evaluate {expr} numerically")


def expression_size(expr: sp.Expr, limit: int) -> int:
    """Nodes in the expression tree, counting no further than limit + 1."""
    count = 0
    stack = [expr]
    while stack:
        e = stack.pop()
        count += 1
        if count > limit:
            return count
        stack.extend(e.args)
    return count


def rational_digits(r: sp.Rational) -> int:
    return max(len(str(abs(r.p))) if abs(r.p) < 10**50 else int(abs(r.p).bit_length() * 0.30103) + 1,
               len(str(r.q)) if r.q < 10**50 else int(r.q.bit_length() * 0.30103) + 1)


def exact_is_small(expr: sp.Expr) -> bool:
    """Whether a constant exact value stays readable (see limits)."""
    if isinstance(expr, sp.Rational):
        return rational_digits(expr) <= limits.MAX_EXACT_DIGITS
    if expression_size(expr, limits.MAX_EXACT_EXPRESSION_NODES) > limits.MAX_EXACT_EXPRESSION_NODES:
        return False
    return all(rational_digits(r) <= 50 for r in expr.atoms(sp.Rational))


def power_is_small(base: sp.Expr, exponent: sp.Expr) -> bool:
    """Whether SymPy may compute base**exponent exactly without a blow-up.

    SymPy expands rational powers eagerly: 9**(9**9) or (13/10)**6472416997
    would never return. Estimate the digits first.
    """
    if isinstance(exponent, sp.Rational) and isinstance(base, sp.Rational) and base != 0:
        size = max(abs(base.p), base.q)
        digits = abs(exponent.p) * math.log10(max(size, 2))
        return digits <= limits.MAX_EXACT_DIGITS
    if isinstance(exponent, sp.Rational):
        return abs(exponent.p) <= 10_000 and exponent.q <= 10_000
    return True


# ---------------------------------------------------------------- decimals

def format_decimal(x: mpmath.mpf | None, digits: int = 10) -> str:
    if x is None:
        return ""
    if x == 0:
        return "0"
    if type(x) is float:
        text = format(x, f".{digits}g")
        return text[:-2] if text.endswith(".0") else text
    text = mpmath.nstr(x, digits, min_fixed=-4, max_fixed=digits)
    return text[:-2] if text.endswith(".0") else text


def format_exact(expr: sp.Expr | None) -> str:
    return "" if expr is None else sp.sstr(expr)
