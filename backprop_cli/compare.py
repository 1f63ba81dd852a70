"""Are two exact values, or two formulas, equal? Decided without letting SymPy build huge objects.

SymPy's `simplify` expands powers of sums: `(sqrt(2)+sqrt(3)+sqrt(5)-3)^1000 - 6` is a
40-character claim whose expansion has 167 million terms (8 GiB, minutes). So:

1. numbers first: the difference evaluated by SymPy's adaptive `evalf` (strict, up to
   COMPARE_MAX_DIGITS digits). A difference known to COMPARE_DIGITS digits and not zero
   settles it: not equal. Formulas are evaluated so at a few rational points.
2. only when the numbers agree is an exact proof attempted, and only where the
   expansion SymPy would build is small: `expanded_terms` estimates it from the
   tree (a power n of a sum of k terms expands to C(n+k-1, k-1) terms) before any
   expansion happens.

Results: True (proven equal), False (they differ somewhere, or there was no number
to go by and no proof), None (the numbers agree, to COMPARE_MAX_DIGITS digits, at
every point tried, but it is not proven: too large to simplify, or SymPy could not
show the difference is 0).
"""

from __future__ import annotations

import math
import random

from backprop_cli import limits, settings
from backprop_cli.lazy import sp
from backprop_cli.numbers import expression_size

MAX_SIMPLIFY_NODES = 400  # larger expression trees are compared by their numbers only
FORMULA_POINTS = 4
# Where formulas are compared at random points: small rationals n/d, none at 0 or 1 (kinks, log).
POINT_VALUES = [(1, 2), (3, 2), (2, 3), (5, 4), (7, 3), (3, 5), (9, 7), (11, 5), (4, 9), (13, 6)]


def random_rational(rng: random.Random, values: list[tuple[int, int]] = POINT_VALUES):
    """One of `values` as SymPy's rational, drawn by rng (kept as pairs: importing this module
    imports no SymPy)."""
    return sp.Rational(*rng.choice(values))


def expanded_terms(expr: sp.Expr, limit: int = limits.MAX_EXPANDED_TERMS) -> int:
    """An estimate of the terms `expand` would build for expr or any part of it,
    saturating just past `limit`. Walks the tree with a stack, never recursing."""
    cap = limit + 1
    terms: dict[sp.Basic, int] = {}
    stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
    worst = 1
    while stack:
        node, ready = stack.pop()
        if node in terms:
            continue
        if not ready:
            stack.append((node, True))
            stack.extend((arg, False) for arg in node.args if arg not in terms)
            continue
        if node.is_Add:
            count = sum(terms[a] for a in node.args)
        elif node.is_Mul:
            count = 1
            for a in node.args:
                count = min(cap, count * terms[a])
        elif node.is_Pow:
            base, exponent = node.args
            count = _power_terms(terms[base], exponent, cap)
        else:  # atoms, and functions: expand works inside their arguments, counted there
            count = 1
        count = min(cap, count)
        terms[node] = count
        worst = max(worst, count)
        if worst >= cap:
            break
    return worst


def _power_terms(k: int, exponent: sp.Expr, cap: int) -> int:
    """Terms of (a sum of k terms)^exponent once expanded: C(n+k-1, k-1) for the integer part n."""
    if k <= 1 or not exponent.is_Rational:
        return k
    n = abs(int(exponent))  # (a+b)^(5/2) expands to (a+b)^2 * sqrt(a+b)
    if n <= 1:
        return k
    log_terms = math.lgamma(n + k) - math.lgamma(n + 1) - math.lgamma(k)
    return cap if log_terms > math.log(cap) else round(math.exp(log_terms))


def small_enough_to_simplify(expr: sp.Expr) -> bool:
    return (expression_size(expr, MAX_SIMPLIFY_NODES) <= MAX_SIMPLIFY_NODES
            and expanded_terms(expr) <= limits.MAX_EXPANDED_TERMS)


def _numeric_difference(difference: sp.Expr, point: dict | None = None) -> bool | None:
    """True: known to differ from 0; False: 0 to COMPARE_MAX_DIGITS digits; None: not a number here."""
    from sympy.core.evalf import PrecisionExhausted  # here, not at import: claims load this module

    try:
        value = difference.evalf(settings.COMPARE_DIGITS, subs=point or None, maxn=settings.COMPARE_MAX_DIGITS,
                                 strict=True)
    except PrecisionExhausted:
        return False
    except (TypeError, ValueError, ArithmeticError, NotImplementedError, AttributeError, RecursionError):
        return None  # (SymPy's evalf recurses over the tree: a very deep one gives no number)
    if value == 0:
        return False
    if not value.is_number or value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    return True  # strict: known to COMPARE_DIGITS digits, and not 0


def _proven_zero(difference: sp.Expr) -> bool:
    if not small_enough_to_simplify(difference):
        return False
    try:
        return sp.simplify(difference) == 0
    except RecursionError:  # SymPy recurses over the tree
        return False


def same_value(a: sp.Expr, b: sp.Expr) -> bool | None:
    """Two constants: False if their numbers differ, True if SymPy proves them equal, None if
    they agree to COMPARE_MAX_DIGITS digits but proving it would be too big (or SymPy cannot)."""
    if isinstance(a, sp.Rational) and isinstance(b, sp.Rational):
        return a == b
    difference = a - b
    if difference == 0:
        return True
    differs = _numeric_difference(difference)
    if differs is True:
        return False
    if _proven_zero(difference):
        return True
    return None if differs is False else False  # agreeing numbers, or none to go by


def same_formula(a: sp.Expr, b: sp.Expr, seed: int = 0) -> bool | None:
    """Two formulas in the same symbols: False at a point where they differ, True if SymPy
    proves them equal, None if they agree at every point tried but it is not proven."""
    difference = a - b
    if difference == 0:
        return True
    symbols = sorted(difference.free_symbols, key=lambda s: s.name)
    if not symbols:
        return same_value(a, b)
    rng = random.Random(seed)
    agreed = 0
    for _ in range(FORMULA_POINTS):
        point = {s: random_rational(rng) * rng.choice([1, -1]) for s in symbols}
        differs = _numeric_difference(difference, point)
        if differs is True:
            return False
        agreed += differs is False
    if _proven_zero(difference):
        return True
    return None if agreed else False  # agreeing points, or none to go by
