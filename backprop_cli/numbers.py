"""The kinds of number the engine runs on, as domains the same loops are handed.

A pass never asks which kind of number it has: it asks its `Domain` to evaluate a derived
template, to add, to multiply, and whether a switch sits at a kink. Three domains:

- `Tracked` — the exact mode: a `Value` holds an exact SymPy number (a rational, a small
  exact form such as tanh(2), or a formula in unbound inputs) with a DECIMAL_DIGITS-digit
  decimal beside it; the exact part is kept while it stays small (`keep`), else dropped.
- `Decimal(digits)` — mpmath numbers at a chosen precision (the finite-difference check).
- `Float` — Python floats (the numeric mode).

Templates (an op's value and its partials, SymPy expressions over placeholders) are compiled
once per domain into closures; SymPy functions are found by their class name in the domain's
library (`math`, `mpmath`), so a new primitive needs no entry here. Nothing the user typed is
ever turned into code: templates come from the primitives table.
"""

from __future__ import annotations

import math
import operator
from contextlib import nullcontext
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache, reduce
from typing import Callable

import mpmath

from backprop_cli import deadline, limits, settings
from backprop_cli.errors import BackpropError
from backprop_cli.lazy import sp
from backprop_cli.primitives import NamedConstant
from backprop_cli.templates import constant_float, constant_mpf, has_variables, is_finite_constant


@dataclass(slots=True)  # not frozen: a frozen dataclass sets each field through object.__setattr__
class Value:
    """A number as views see it: exact (or None once too big) and a decimal (None while symbolic)."""

    exact: sp.Expr | None
    approx: mpmath.mpf | float | None

    def float(self) -> float | None:
        if self.approx is None:
            return None
        try:
            return float(self.approx)
        except OverflowError:  # pragma: no cover - magnitudes are limited before this
            return math.copysign(math.inf, float(mpmath.sign(self.approx)))


# ---------------------------------------------------------------- domain errors

def describe(node) -> str:
    text = node.text if len(node.text) <= 40 else node.text[:39] + "…"
    return f"{node.name} = {text}" if node.name else f"'{text}'"


def domain_error(node, detail: str) -> BackpropError:
    return BackpropError(f"{describe(node)} is undefined at this point: {detail}", node.span,
                         hint="check the bindings (--at) against the domain of each function")


def infinite_derivative(node) -> BackpropError:
    return domain_error(node, "its derivative is infinite or undefined here")


# ---------------------------------------------------------------- exact numbers

def as_sympy(x):
    """An exact number as SymPy's: a Fraction or int as a Rational, pi and E as SymPy's own; a
    SymPy expression as it is. (The front end and numeric mode hold Python's own numbers.)"""
    if isinstance(x, Fraction):
        return sp.Rational(x.numerator, x.denominator)
    if type(x) is int:
        return sp.Integer(x)
    if isinstance(x, NamedConstant):
        return x.sympy()
    return x


def as_fraction(x) -> Fraction | None:
    """An exact rational, Python's (Fraction, int) or SymPy's, as a Fraction; None for anything
    else. (Asks a SymPy number without importing SymPy for anything that is not one.)"""
    if type(x) is Fraction:
        return x
    if type(x) is int:
        return Fraction(x)
    if getattr(x, "is_Rational", False) is True:
        return Fraction(int(x.p), int(x.q))
    return None


def to_mpf(expr) -> mpmath.mpf:
    """A constant exact number (Fraction, pi, E or SymPy's) as an mpmath number at the current precision."""
    fraction = as_fraction(expr)
    if fraction is not None:
        return mpmath.mpf(fraction.numerator) / fraction.denominator
    if isinstance(expr, NamedConstant):
        return +mpmath.pi if expr.name == "pi" else mpmath.e + 0
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


def exact_is_small(expr) -> bool:
    """Whether a constant exact value stays readable (see limits)."""
    if type(expr) is Fraction:
        return max(len(str(abs(expr.numerator))), len(str(expr.denominator))) <= limits.MAX_EXACT_DIGITS
    if isinstance(expr, sp.Rational):
        return rational_digits(expr) <= limits.MAX_EXACT_DIGITS
    if expression_size(expr, settings.MAX_EXACT_EXPRESSION_NODES) > settings.MAX_EXACT_EXPRESSION_NODES:
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


def _undefined(expr: sp.Expr) -> bool:
    return expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo)


# ---------------------------------------------------------------- compiling templates

class NotCompilable(Exception):
    pass


_COMPARE = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le,
            "eq": operator.eq, "ne": operator.ne}


def _sign(z):
    return (z > 0) - (z < 0)


class Library:
    """A domain's functions, looked up by SymPy class name; `aliases` for the few that differ.
    `constant` turns an expression tree without variables (templates.py) into a getter."""

    def __init__(self, module, aliases: dict[str, Callable], constant: Callable, power: Callable,
                 vectorised: bool = False, integer_power: Callable | None = None):
        self.module, self.aliases, self.constant, self.power = module, aliases, constant, power
        self.vectorised = vectorised  # numpy: branches and Max/Min entry by entry (tensors.py)
        self.integer_power = integer_power  # x^n for an integer n > 0 (None: the built-in x ** n)

    def function(self, name: str) -> Callable:
        found = self.aliases.get(name) or getattr(self.module, name, None)
        if found is None:
            raise NotCompilable(f"{self.module.__name__} has no function {name}")
        return found


def _heaviside(zero, half, one):
    return lambda z, h0=half: zero if z < 0 else (h0 if z == 0 else one)


def float_pow(base, exponent):
    result = base ** exponent
    if isinstance(result, complex):
        raise ValueError("a negative number to a fractional power")
    return result


def _float_constant(form: tuple):
    value = constant_float(form)
    return lambda: value


def _mpmath_constant(form: tuple):
    if form[0] == "number":
        p, q = form[1], form[2]
        return lambda: mpmath.mpf(p) / q
    cache: dict[int, mpmath.mpf] = {}

    def constant():  # pi, log(10), ...: at the caller's precision, once per precision
        if mpmath.mp.prec not in cache:
            with mpmath.workdps(mpmath.mp.dps + 10):
                exact = constant_mpf(form)
            cache[mpmath.mp.prec] = +exact
        return cache[mpmath.mp.prec]
    return constant


# The functions of the primitives' definitions that a library takes by SymPy class name from its
# module (math, mpmath): the columns (vectorised.py) and double-double (double_double.py) compute
# each of them entry by entry as math or mpmath does. tests/test_double_double.py proves every
# primitive's value compiles in every library.
MODULE_FUNCTIONS = ("exp", "log", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
                    "asinh", "acosh", "atanh", "erf", "sqrt")

FLOAT_LIBRARY = Library(math, {"Abs": abs, "sign": _sign, "Heaviside": _heaviside(0.0, 0.5, 1.0)},
                        _float_constant, float_pow)
MPMATH_LIBRARY = Library(mpmath, {"Abs": abs, "sign": _sign,
                                  "Heaviside": _heaviside(mpmath.mpf(0), mpmath.mpf(0.5), mpmath.mpf(1))},
                         _mpmath_constant, operator.pow)

_HALF = ("number", 1, 2)


def _build(form: tuple, library: Library) -> Callable[[tuple], object]:
    """An expression tree (templates.py) as a function of the variables' values, a tuple."""
    kind = form[0]
    if kind == "var":
        i = form[1]
        return lambda args: args[i]
    if not has_variables(form):
        if not is_finite_constant(form):
            raise ZeroDivisionError("undefined constant")
        getter = library.constant(form)
        return lambda args: getter()
    if kind in ("add", "mul"):
        combine = operator.add if kind == "add" else operator.mul
        parts = [_build(a, library) for a in form[1:]]
        return lambda args: reduce(lambda acc, f: combine(acc, f(args)), parts[1:], parts[0](args))
    if kind == "pow":
        base, exponent = _build(form[1], library), form[2]
        if exponent == _HALF:
            root = library.function("sqrt")
            return lambda args: root(base(args))
        if exponent[0] == "number" and exponent[2] == 1:
            n, integer_power = exponent[1], library.integer_power
            if integer_power is not None:
                return (lambda args: integer_power(base(args), n)) if n > 0 else (
                    lambda args: 1 / integer_power(base(args), -n))
            return (lambda args: base(args) ** n) if n > 0 else (lambda args: 1 / base(args) ** -n)
        power, exponent_of = library.power, _build(exponent, library)
        return lambda args: power(base(args), exponent_of(args))
    if kind == "piecewise":
        branches = [(_build(value, library), _condition(condition, library)) for value, condition in form[1:]]
        if library.vectorised:
            select = library.function("select")
            return lambda args: select([c(args) for _, c in branches], [v(args) for v, _ in branches])

        def piecewise(args):
            for value, condition in branches:
                if condition(args):
                    return value(args)
            raise ValueError("no branch applies")
        return piecewise
    if kind in ("max", "min"):
        parts = [_build(a, library) for a in form[1:]]
        if library.vectorised:
            pair = library.function("maximum" if kind == "max" else "minimum")
            return lambda args: reduce(pair, (f(args) for f in parts))
        pick = max if kind == "max" else min
        return lambda args: pick(f(args) for f in parts)
    if kind != "call":
        raise NotCompilable(f"cannot compile {form!r}")
    function = library.function(form[1])
    parts = [_build(a, library) for a in form[2:]]
    if len(parts) == 1:
        only = parts[0]
        return lambda args: function(only(args))
    return lambda args: function(*(f(args) for f in parts))


def _condition(condition: tuple, library) -> Callable[[tuple], bool]:
    if condition[0] in ("true", "false"):
        return lambda args, answer=condition[0] == "true": answer
    compare = _COMPARE.get(condition[0])
    if compare is None:
        raise NotCompilable(f"cannot compile the condition {condition!r}")
    left, right = _build(condition[1], library), _build(condition[2], library)
    return lambda args: compare(left(args), right(args))


_A, _B = ("var", 0), ("var", 1)
_MINUS_B = ("mul", ("number", -1, 1), _B)


def _direct(form: tuple, arity: int) -> Callable[..., object] | None:
    """A built-in for the shapes most graphs are made of (a*b, a + b, a - b, and a partial that
    is one of the operands): one C call per node instead of a tree of closures."""
    if arity == 2:
        if form == ("mul", _A, _B) or form == ("mul", _B, _A):
            return operator.mul
        if form == ("add", _A, _B) or form == ("add", _B, _A):
            return operator.add
        if form == ("add", _A, _MINUS_B) or form == ("add", _MINUS_B, _A):
            return operator.sub
        if form == _A:
            return lambda a, b: a
        if form == _B:
            return lambda a, b: b
    return None


@lru_cache(maxsize=16384)
def compile_form(form: tuple, arity: int, library: str) -> Callable[..., object]:
    """A function of `arity` variables' values (floats, mpmath numbers, arrays) computing `form`."""
    direct = _direct(form, arity)
    if direct is not None:
        return direct
    function = _build(form, LIBRARIES[library])
    return lambda *args: function(args)


def compile_template(expr, variables: tuple, library: str) -> Callable[..., object]:
    """A SymPy expression over `variables`, compiled through its expression tree (for tests that
    hand SymPy's own expressions to the compiler)."""
    from backprop_cli.derive import to_form

    return compile_form(to_form(expr, {v: i for i, v in enumerate(variables)}), len(variables), library)


LIBRARIES = {"float": FLOAT_LIBRARY, "mpmath": MPMATH_LIBRARY}  # tensors.py adds "numpy"


def compile_part(tmpl, which, library: str) -> Callable[..., object]:
    """A template's value or partial `which`, compiled once per template. (Keyed by the template,
    not by its form: a sum of n terms would hash n variables for each of its n partials.)"""
    key = (library, "compiled", which)
    function = tmpl.compiled.get(key)
    if function is None:
        form = _form_of(tmpl, which)
        if not has_variables(form):  # a constant (a sum's ±1): one compiled function for every such part
            constant = compile_form(form, 0, library)
            function = (lambda args: constant()) if is_wide(tmpl) else (lambda *args: constant())
        elif not is_wide(tmpl):  # small templates share compiled code through the cache
            function = compile_form(form, tmpl.arity, library)
        else:  # a function of the argument list itself: unpacking n arguments per partial is n² work
            function = _build(form, LIBRARIES[library])
        tmpl.compiled[key] = function
    return function


def is_wide(tmpl) -> bool:
    """A template of many arguments (a long sum or product), evaluated on its argument list."""
    return tmpl.arity > 8


# ---------------------------------------------------------------- the domains

# Binary exponents safely inside 10^±MAX_MAGNITUDE_DIGITS: a value whose exponent lies in this
# range passes without comparing mpmath numbers (the common case, cheaply); others are measured.
_SAFE_BINARY_EXPONENT = int(limits.MAX_MAGNITUDE_DIGITS * math.log2(10)) - 2


def check_decimal(node, result: object) -> mpmath.mpf:
    """An mpmath result as a real decimal within the magnitude limit, or an error naming the node."""
    if type(result) is mpmath.mpf:
        _, mantissa, exponent, bits = result._mpf_
        if not mantissa and not bits:  # zero (nan and inf have bits = -1/-2 and no mantissa)
            return result
        if mantissa and -_SAFE_BINARY_EXPONENT <= exponent + bits <= _SAFE_BINARY_EXPONENT:
            return result
    if isinstance(result, mpmath.mpc):
        if result.imag != 0:
            real, imaginary = mpmath.nstr(result.real, 6), mpmath.nstr(abs(result.imag), 6)
            sign = "+" if result.imag > 0 else "-"
            raise domain_error(node, f"the value would be complex ({real} {sign} {imaginary}i)")
        result = result.real
    if not isinstance(result, mpmath.mpf):
        result = mpmath.mpf(result)
    if mpmath.isnan(result) or mpmath.isinf(result):
        raise domain_error(node, "the value is not a finite number")
    if result != 0:
        magnitude = mpmath.log10(abs(result))
        if abs(magnitude) > limits.MAX_MAGNITUDE_DIGITS:
            shown = f"{int(magnitude):,}" if abs(magnitude) < 10**15 else mpmath.nstr(magnitude, 3)
            raise BackpropError(
                f"{describe(node)} is about 10^{shown}; values are limited to 10^±{limits.MAX_MAGNITUDE_DIGITS:,}",
                node.span)
    return result


def check_float(node, result: object) -> float:
    if isinstance(result, complex):
        raise domain_error(node, "the value would be complex")
    if result != result or result in (math.inf, -math.inf):
        raise domain_error(node, "the value is not a finite number (or beyond the range of floats; try --exact)")
    return result


def _calling(node, function, args, check, overflow: str | None = None):
    """function(*args), its failures worded as a domain error naming the node."""
    try:
        return check(node, function(*args))
    except ZeroDivisionError:
        raise domain_error(node, "division by zero") from None
    except OverflowError as exc:
        raise domain_error(node, overflow or str(exc) or type(exc).__name__) from None
    except (ValueError, TypeError) as exc:
        raise domain_error(node, str(exc) or type(exc).__name__) from None


def _form_of(tmpl, which) -> tuple:
    return tmpl.value if which == "value" else tmpl.partials[which]


class Float:
    """Python floats: the numeric mode."""

    key = "float"
    zero, one = 0.0, 1.0
    numeric = True

    def precision(self):
        return nullcontext()

    def constant(self, exact: sp.Expr) -> float:
        return float(exact)

    def function(self, tmpl, which) -> Callable:
        """The checked evaluation of a template's value or partial `which` at this domain's numbers."""
        key = ("float", which)
        evaluate = tmpl.compiled.get(key)
        if evaluate is None:
            compiled = compile_part(tmpl, which, "float")
            wide = is_wide(tmpl)
            # float(): a partial such as sign(a) gives an int
            evaluate = tmpl.compiled[key] = lambda node, args: float(_calling(
                node, compiled, (args,) if wide else args, check_float,
                "the value is beyond the range of floats (try --exact)"))
        return evaluate

    def switch(self, form, arity: int) -> Callable:
        return compile_form(form, arity, "float")

    def at_kink(self, switch_value) -> bool:
        return switch_value == 0

    @staticmethod
    def add(a: float, b: float) -> float:
        return a + b

    @staticmethod
    def mul(a: float, b: float) -> float:
        return a * b + 0.0  # + 0.0: -0.0 (a negative upstream through a dead relu) reads as a sign

    # A scalar's local derivative is a number: reverse mode pulls an upstream gradient back
    # through it, forward mode pushes a tangent forward, both by multiplying (tensors.py differs).
    pull = push = mul

    def value(self, x: float) -> Value:
        return Value(None, x)

    @staticmethod
    def close(a: float, b: float) -> bool | None:
        return abs(a - b) <= CLOSE_TOLERANCE * max(1.0, abs(a), abs(b))


# Two results of different sweeps over the same floats or decimals agree within this (relative).
CLOSE_TOLERANCE = 1e-9


class Decimal:
    """mpmath numbers at `digits` significant digits (the finite-difference check)."""

    numeric = False

    def __init__(self, digits: int):
        self.digits = digits
        self.key = f"decimal{digits}"
        self.zero, self.one = mpmath.mpf(0), mpmath.mpf(1)
        self._kink_width = mpmath.mpf(10) ** (-(digits - 5))

    def precision(self):
        return mpmath.workdps(self.digits)

    def constant(self, exact: sp.Expr) -> mpmath.mpf:
        return to_mpf(exact)

    def function(self, tmpl, which) -> Callable:
        evaluate = tmpl.compiled.get(("mpmath", which))
        if evaluate is None:
            compiled = compile_part(tmpl, which, "mpmath")
            wide = is_wide(tmpl)
            evaluate = tmpl.compiled[("mpmath", which)] = lambda node, args: _calling(
                node, compiled, (args,) if wide else args, check_decimal)
        return evaluate

    def switch(self, form, arity: int) -> Callable:
        return compile_form(form, arity, "mpmath")

    def at_kink(self, switch_value) -> bool:
        return abs(switch_value) <= self._kink_width

    add = staticmethod(operator.add)
    mul = staticmethod(operator.mul)
    pull = push = mul

    def value(self, x) -> Value:
        return Value(None, x)

    close = staticmethod(Float.close)


SHADOW = Decimal(settings.DECIMAL_DIGITS)


def _as_exact_says(exact, approx):
    """The decimal beside an exact rational is the rational's own: the two tracks may take
    different branches (at a kink the exact track sees 0.1 + 0.2 - 0.3 = 0 and relu' = 0 by
    convention, while its 50-digit decimals make 6.7e-52 and take relu' = 1), and a rational's
    decimal is exact to the last digit this way."""
    if not isinstance(exact, sp.Rational):
        return approx
    return mpmath.mpf(int(exact.p)) / int(exact.q)


class Tracked:
    """Exact SymPy numbers with a DECIMAL_DIGITS-digit decimal beside (the exact mode); past a
    size, a symbolic formula in the inputs is dropped (numbers.Named writes it in names)."""

    key = "tracked"
    numeric = False

    def __init__(self):
        self.zero, self.one = Value(sp.Integer(0), mpmath.mpf(0)), Value(sp.Integer(1), mpmath.mpf(1))

    def precision(self):
        return SHADOW.precision()

    def constant(self, exact) -> Value:
        exact = as_sympy(exact)
        return Value(exact, to_mpf(exact))

    @staticmethod
    def keep(exact: sp.Expr | None, approx) -> sp.Expr | None:
        """Exact while small: past the limits, a number with a decimal beside goes decimal only."""
        if exact is not None and approx is not None and not exact_is_small(exact):
            return None
        return exact

    def function(self, tmpl, which) -> Callable:
        if which == "value":
            return lambda node, args: self._value(node, tmpl, args)
        return lambda node, args: self._partial(node, tmpl, which, args)

    def _value(self, node, tmpl, args: list[Value]) -> Value:
        approx = None
        if all(a.approx is not None for a in args):
            approx = SHADOW.function(tmpl, "value")(node, [a.approx for a in args])
        exact = None
        if all(a.exact is not None for a in args):
            exact = self.keep(_exact_value(node, tmpl, [a.exact for a in args]), approx)
        if approx is None and exact is not None:
            if not exact.free_symbols:  # a constant the decimal track could not see; keep both honest
                approx = check_decimal(node, to_mpf(exact))
            else:
                exact = self._abbreviate(node, exact)
        return Value(exact, _as_exact_says(exact, approx))

    def _partial(self, node, tmpl, which: int, args: list[Value]) -> Value:
        exact = None
        symbolic = tmpl.symbolic
        formula = symbolic.partials[which]
        if not formula.free_symbols:  # a sum's ±1: nothing to substitute (n substitutions per term)
            exact = formula
        elif all(a.exact is not None for a in args):
            exact = formula.xreplace(dict(zip(symbolic.variables, (a.exact for a in args))))
            if _undefined(exact):
                raise infinite_derivative(node)
        approx = None
        if all(a.approx is not None for a in args):
            try:
                approx = SHADOW.function(tmpl, which)(node, [a.approx for a in args])
            except BackpropError:
                deadline.check()
                raise infinite_derivative(node) from None
            exact = self.keep(exact, approx)
        elif exact is not None and not exact.free_symbols and not isinstance(exact, sp.Rational):
            approx = check_decimal(node, exact.evalf(settings.DECIMAL_DIGITS))
        return Value(exact, _as_exact_says(exact, approx))  # (a rational's decimal: its own)

    def switch(self, form, arity: int) -> Callable:
        from backprop_cli.derive import from_form
        from backprop_cli.primitives import placeholder

        variables = tuple(placeholder(i) for i in range(arity))
        expr = from_form(form, variables)
        decimal = compile_form(form, arity, "mpmath")

        def value(*args: Value) -> Value:
            if any(a.approx is None for a in args):  # symbolic: no point, so no kink
                return Value(None, None)
            exact = None
            if all(a.exact is not None for a in args):
                exact = expr.xreplace(dict(zip(variables, (a.exact for a in args))))
            return Value(exact, decimal(*(a.approx for a in args)))
        return value

    def at_kink(self, switch_value: Value) -> bool:
        """Exactly 0, or 0 to the decimals' precision: x - log(2^x)/log(2) is 0, though SymPy
        does not see it from the form."""
        if switch_value.exact is not None and switch_value.exact == 0:
            return True
        return switch_value.approx is not None and SHADOW.at_kink(switch_value.approx)

    def add(self, a: Value, b: Value) -> Value:
        approx = a.approx + b.approx if a.approx is not None and b.approx is not None else None
        exact = a.exact + b.exact if a.exact is not None and b.exact is not None else None
        return Value(self.keep(exact, approx), approx)

    def mul(self, a: Value, b: Value) -> Value:
        approx = a.approx * b.approx if a.approx is not None and b.approx is not None else None
        exact = a.exact * b.exact if a.exact is not None and b.exact is not None else None
        return Value(self.keep(exact, approx), approx)

    pull = push = mul

    def value(self, x: Value) -> Value:
        return x

    @staticmethod
    def close(a: Value, b: Value) -> bool | None:
        """Equal exactly where both are exact (None when SymPy cannot tell), else within tolerance."""
        if a.exact is not None and b.exact is not None:
            difference = a.exact - b.exact
            if difference == 0:
                return True
            if not difference.free_symbols:  # equal numbers SymPy does not see equal in form:
                if a.approx is not None and b.approx is not None:  # the 50-digit decimals decide
                    return abs(a.approx - b.approx) <= mpmath.mpf(10) ** (5 - settings.DECIMAL_DIGITS) * max(
                        1, abs(a.approx))
                return None
            if expression_size(difference, 200) > 200:
                return None
            return sp.expand(difference) == 0 or sp.simplify(difference) == 0
        if a.approx is not None and b.approx is not None:
            return Float.close(a.approx, b.approx)
        return None

    def _abbreviate(self, node, formula: sp.Expr) -> sp.Expr | None:
        """Past a size, a symbolic formula in the inputs is dropped (None): SymPy's automatic
        evaluation of nested formulas (exp(tanh(exp(...)))) grows without bound. The formula in
        the program's own names (numbers.Named) says it instead."""
        if expression_size(formula, settings.MAX_SYMBOLIC_EXPRESSION_NODES) <= settings.MAX_SYMBOLIC_EXPRESSION_NODES:
            return formula
        return None

    def settle(self, gradient: Value) -> Value:
        """A complete symbolic gradient past the size limit is dropped in its expanded form."""
        if gradient.approx is None and gradient.exact is not None:
            limit = settings.MAX_SYMBOLIC_EXPRESSION_NODES
            if expression_size(gradient.exact, limit) > limit:
                return Value(None, None)
        return gradient


def _exact_value(node, tmpl, args: list[sp.Expr]) -> sp.Expr | None:
    if node.op == "pow" and len(args) == 2 and not power_is_small(args[0], args[1]):
        return None
    symbolic = tmpl.symbolic
    if node.op == "pow" and len(args) == 1 and isinstance(symbolic.value, sp.Pow):
        if not power_is_small(args[0], symbolic.value.exp):
            return None
    try:
        result = symbolic.value.xreplace(dict(zip(symbolic.variables, args)))
    except (ValueError, TypeError, ArithmeticError):
        return None  # SymPy could not evaluate it exactly (Max of an incomparable): decimal only
    if _undefined(result):
        raise domain_error(node, "division by zero" if result.has(sp.zoo) else "the value is not finite")
    return result


# ---------------------------------------------------------------- text

def format_decimal(x, digits: int = 10) -> str:
    if x is None:
        return ""
    if x == 0:
        return "0"
    if type(x) is float:
        text = format(x, f".{digits}g")
    else:
        text = mpmath.nstr(x, digits, min_fixed=-4, max_fixed=digits)
    return text[:-2] if text.endswith(".0") else text


def format_exact(expr: sp.Expr | None) -> str:
    return "" if expr is None else sp.sstr(expr)


class Named:
    """Formulas in the program's own names (symbolic mode): a named node is its name, an unnamed
    one its expression in its arguments' names; local derivatives take their textbook form
    (1 - h1^2), so a gradient reads as a textbook writes it: (y - t)*v1*(1 - h1^2)*x1."""

    key = "named"
    numeric = False

    def __init__(self):
        self.zero, self.one = sp.Integer(0), sp.Integer(1)
        self.own: list = []  # each node's formula: set by the forward loop, read by its partials

    def precision(self):
        return nullcontext()

    def constant(self, exact):
        return as_sympy(exact)

    def function(self, tmpl, which) -> Callable:
        symbolic = tmpl.symbolic
        if which == "value":
            return lambda node, args: (sp.Symbol(node.name, real=True) if node.name is not None
                                       else symbolic.value.xreplace(dict(zip(symbolic.variables, args))))
        from backprop_cli.primitives import OWN_VALUE, textbook_partial
        formula = textbook_partial(symbolic, which)
        used = formula.free_symbols
        if not used:  # a sum's ±1: nothing to substitute (n substitutions for each of n terms)
            return lambda node, args: formula
        positions = [(i, v) for i, v in enumerate(symbolic.variables) if v in used]
        own = OWN_VALUE in used
        return lambda node, args: formula.xreplace(
            {**{v: args[i] for i, v in positions}, **({OWN_VALUE: self.own[node.index]} if own else {})})

    def switch(self, form, arity: int) -> Callable:
        return lambda *args: None

    def at_kink(self, switch_value) -> bool:
        return False  # kinks are a property of a point; formulas have none

    # SymPy flattens and sorts a product or sum on every operation: a chain's gradient, a product
    # of n factors built one factor at a time, would cost n² that way. Past a size the new factor
    # or term is attached without re-sorting the rest.
    @staticmethod
    def add(a, b):
        if _small(a) and _small(b):
            return a + b
        return sp.Add(*_terms(a, sp.Add), *_terms(b, sp.Add), evaluate=False)

    @staticmethod
    def mul(a, b):
        if _small(a) and _small(b):
            return a * b
        return sp.Mul(*_terms(a, sp.Mul), *_terms(b, sp.Mul), evaluate=False)

    pull = push = mul

    def value(self, x) -> Value:
        return Value(x, None)

    close = staticmethod(Tracked.close)


def _terms(expr, kind) -> tuple:
    """A flat list of a sum's terms or a product's factors (kept flat: printing recurses on nesting)."""
    return expr.args if isinstance(expr, kind) else (expr,)


def _small(expr) -> bool:
    return expr.is_Number or expression_size(expr, 40) <= 40
