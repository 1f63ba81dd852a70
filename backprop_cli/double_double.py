"""Double-double numbers over numpy arrays: about 32 significant digits, whole columns at a time.

A number is the unevaluated sum hi + lo of two float64s with |lo| ≤ ulp(hi)/2 (106 bits of
significand). The directional check of the numeric mode (finite_difference.py) runs its two
high-precision passes over the graph's groups (vectorised.py) in this arithmetic instead of one
mpmath number per node. The error-free transformations are the classical ones (Knuth's two-sum,
Dekker's split and product); `+ - * /`, integer powers, sqrt, comparisons, Abs, Max/Min and the
branches of Piecewise are computed in double-double; the other functions of the primitives
(exp, log, tanh, erf, ...) entry by entry in mpmath at 40 digits and rounded back — high
precision only where the arithmetic has no double-double form. A result that is not finite (a
domain left, an overflow) is not vouched for: the check then runs in mpmath, as it always did.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np

from backprop_cli.numbers import LIBRARIES, MODULE_FUNCTIONS, Library, as_fraction
from backprop_cli.templates import constant_mpf

_SPLITTER = 134217729.0  # 2^27 + 1: splits a float64 into two halves of 26 bits
DIGITS = 40  # mpmath's working precision for the functions computed entry by entry, and for constants


def _two_sum(a, b):
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


def _quick_two_sum(a, b):  # |a| ≥ |b|
    s = a + b
    return s, b - (s - a)


def _split(a):
    t = _SPLITTER * a
    high = t - (t - a)
    return high, a - high


def _two_product(a, b):
    p = a * b
    a_high, a_low = _split(a)
    b_high, b_low = _split(b)
    return p, ((a_high * b_high - p) + a_high * b_low + a_low * b_high) + a_low * b_low


class DoubleDouble:
    """Arrays (or 0-d arrays) of double-double numbers."""

    __slots__ = ("hi", "lo")
    __array_priority__ = 1000  # numpy scalars on the left defer to these operators

    def __init__(self, hi, lo=None):
        self.hi = np.asarray(hi, dtype=np.float64)
        self.lo = np.zeros_like(self.hi) if lo is None else np.asarray(lo, dtype=np.float64)

    # ------------------------------------------------------------ building and reading
    @staticmethod
    def of(x) -> "DoubleDouble":
        return x if isinstance(x, DoubleDouble) else DoubleDouble(x)

    @staticmethod
    def exact(value) -> "DoubleDouble":
        """A rational (Fraction, int or SymPy Rational) rounded to double-double."""
        fraction = as_fraction(value)
        return DoubleDouble.rationals([fraction.numerator], [fraction.denominator])[0]

    @staticmethod
    def rationals(numerators: list[int], denominators: list[int]) -> "DoubleDouble":
        """Many rationals p/q at once: hi = p/q rounded, lo = (p − hi·q)/q, in integers (exactly)."""
        his, los = [], []
        for p, q in zip(numerators, denominators):
            hi = p / q
            a, b = hi.as_integer_ratio()  # hi = a/b exactly, b a power of two
            his.append(hi)
            los.append((p * b - a * q) / (q * b))
        return DoubleDouble(his, los)

    @staticmethod
    def from_mpf(values) -> "DoubleDouble":
        his, los = [], []
        for v in values:
            hi = float(v)
            his.append(hi)
            los.append(float(v - hi) if math.isfinite(hi) else 0.0)
        return DoubleDouble(his, los)

    def mpf(self, index=()) -> mpmath.mpf:
        return mpmath.mpf(float(self.hi[index])) + mpmath.mpf(float(self.lo[index]))

    def finite(self) -> bool:
        return bool(np.isfinite(self.hi).all() and np.isfinite(self.lo).all())

    @property
    def shape(self):
        return self.hi.shape

    def __getitem__(self, index) -> "DoubleDouble":
        return DoubleDouble(self.hi[index], self.lo[index])

    def __len__(self) -> int:
        return len(self.hi)

    # ------------------------------------------------------------ arithmetic
    def __neg__(self) -> "DoubleDouble":
        return DoubleDouble(-self.hi, -self.lo)

    def __add__(self, other) -> "DoubleDouble":
        other = DoubleDouble.of(other)
        s, e = _two_sum(self.hi, other.hi)
        t, f = _two_sum(self.lo, other.lo)
        s, e = _quick_two_sum(s, e + t)
        return DoubleDouble(*_quick_two_sum(s, e + f))

    __radd__ = __add__

    def __sub__(self, other) -> "DoubleDouble":
        return self + -DoubleDouble.of(other)

    def __rsub__(self, other) -> "DoubleDouble":
        return DoubleDouble.of(other) + -self

    def __mul__(self, other) -> "DoubleDouble":
        other = DoubleDouble.of(other)
        p, e = _two_product(self.hi, other.hi)
        return DoubleDouble(*_quick_two_sum(p, e + (self.hi * other.lo + self.lo * other.hi)))

    __rmul__ = __mul__

    def __truediv__(self, other) -> "DoubleDouble":
        other = DoubleDouble.of(other)
        first = self.hi / other.hi
        remainder = self - other * first
        second = remainder.hi / other.hi
        remainder = remainder - other * second
        third = remainder.hi / other.hi
        return DoubleDouble(*_quick_two_sum(first, second)) + third

    def __rtruediv__(self, other) -> "DoubleDouble":
        return DoubleDouble.of(other) / self

    def __pow__(self, n: int) -> "DoubleDouble":
        if not isinstance(n, (int, np.integer)):
            raise TypeError("double-double powers are integer powers")  # others: exp(y·log(x))
        if n < 0:
            return 1 / self ** -n
        result, base = DoubleDouble(np.ones_like(self.hi)), self
        while n:
            if n & 1:
                result = result * base
            n >>= 1
            if n:
                base = base * base
        return result

    # ------------------------------------------------------------ comparisons (arrays of bools)
    def _compare(self, other, strict_hi, on_tie):
        other = DoubleDouble.of(other)
        return strict_hi(self.hi, other.hi) | ((self.hi == other.hi) & on_tie(self.lo, other.lo))

    def __gt__(self, other):
        return self._compare(other, np.greater, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater, np.greater_equal)

    def __lt__(self, other):
        return self._compare(other, np.less, np.less)

    def __le__(self, other):
        return self._compare(other, np.less, np.less_equal)

    def __eq__(self, other):
        other = DoubleDouble.of(other)
        return (self.hi == other.hi) & (self.lo == other.lo)

    def __ne__(self, other):
        return ~(self == other)

    __hash__ = None


def _where(condition, a, b) -> DoubleDouble:
    a, b = DoubleDouble.of(a), DoubleDouble.of(b)
    return DoubleDouble(np.where(condition, a.hi, b.hi), np.where(condition, a.lo, b.lo))


def _select(conditions, choices) -> DoubleDouble:
    """Piecewise: the first branch whose condition holds, entry by entry."""
    result = DoubleDouble.of(choices[-1])
    for condition, choice in zip(reversed(conditions[:-1]), reversed(choices[:-1])):
        result = _where(condition, choice, result)
    return result


def _abs(x: DoubleDouble) -> DoubleDouble:
    return _where(x.hi < 0, -x, x)


def _maximum(a, b) -> DoubleDouble:
    return _where(DoubleDouble.of(a) >= b, a, b)


def _minimum(a, b) -> DoubleDouble:
    return _where(DoubleDouble.of(a) <= b, a, b)


def _sqrt(x: DoubleDouble) -> DoubleDouble:
    """One Newton step from the float64 root: q + (x − q²)/(2q); sqrt(0) = 0; a negative x → nan."""
    with np.errstate(all="ignore"):
        q = np.sqrt(x.hi)
        root = DoubleDouble(q)
        correction = (x - root * root).hi / (2 * q)
    return DoubleDouble(*_quick_two_sum(q, np.where(q == 0, 0.0, correction)))


def _entrywise(function):
    """A function of the primitives with no double-double form, entry by entry in mpmath; a
    complex result (outside the function's domain) is nan, which the check does not vouch for."""

    def apply(x: DoubleDouble) -> DoubleDouble:
        x = DoubleDouble.of(x)
        with mpmath.workdps(DIGITS):
            results = []
            for hi, lo in zip(x.hi.ravel().tolist(), x.lo.ravel().tolist()):
                try:
                    value = function(mpmath.mpf(hi) + lo)
                except (ValueError, ZeroDivisionError, OverflowError):
                    value = mpmath.nan
                results.append(value if isinstance(value, mpmath.mpf) else mpmath.nan)
            result = DoubleDouble.from_mpf(results)
        return DoubleDouble(result.hi.reshape(x.shape), result.lo.reshape(x.shape))

    return apply


def _power(base, exponent) -> DoubleDouble:
    """x^y for a y that is not a constant integer, entry by entry in mpmath (nan where it is complex)."""
    base, exponent = DoubleDouble.of(base), DoubleDouble.of(exponent)
    base_hi, exponent_hi = np.broadcast_arrays(base.hi, exponent.hi)
    base_lo, exponent_lo = np.broadcast_arrays(base.lo, exponent.lo)
    with mpmath.workdps(DIGITS):
        results = []
        for bh, bl, eh, el in zip(base_hi.ravel().tolist(), base_lo.ravel().tolist(),
                                  exponent_hi.ravel().tolist(), exponent_lo.ravel().tolist()):
            b, e = mpmath.mpf(bh) + bl, mpmath.mpf(eh) + el
            try:  # a negative base to an integer power is real, to another power complex: nan
                value = mpmath.power(b, e)
            except (ValueError, ZeroDivisionError, OverflowError):
                value = mpmath.nan
            results.append(value if isinstance(value, mpmath.mpf) else mpmath.nan)
        result = DoubleDouble.from_mpf(results)
    return DoubleDouble(result.hi.reshape(base_hi.shape), result.lo.reshape(base_hi.shape))


def _constant(form: tuple):
    """A template's constant (1/2, pi, log(10)) rounded to double-double, once."""
    if form[0] == "number":
        value = DoubleDouble.exact(Fraction(form[1], form[2]))
    else:
        with mpmath.workdps(DIGITS + 10):
            exact = constant_mpf(form)
        with mpmath.workdps(DIGITS):
            value = DoubleDouble.from_mpf([exact])[0]
    return lambda: value


class _Functions:
    """The namespace the library looks functions up in: none beyond the aliases below."""

    __name__ = "double-double"


DOUBLE_DOUBLE_LIBRARY = Library(_Functions, {
    **{name: _entrywise(getattr(mpmath, name)) for name in MODULE_FUNCTIONS if name != "sqrt"},
    "sqrt": _sqrt, "Abs": _abs, "select": _select, "maximum": _maximum, "minimum": _minimum,
}, _constant, _power, vectorised=True)
LIBRARIES["double-double"] = DOUBLE_DOUBLE_LIBRARY
