"""Derived templates as numeric mode runs them: plain data, no SymPy.

A template is one op with its constant parameters folded in (`x^2`, `log(x, 10)`, a sum's signs):
its value and each partial as an expression tree, where each partial may jump (its switches), and
each partial's textbook text cut at its operands. SymPy derives them from the primitives table
(derive.py); `python -m backprop_cli.derive` writes the ones most programs meet into derived.py,
which is checked in (tests/test_derived.py fails when it is stale). A sum or a product of any
number of terms is built here directly; any other template (x^11, log(x, 3)) is derived by SymPy
on first use, so SymPy is imported only by a program that needs it.

The expression trees are nested tuples, read by numbers.compile_form for every kind of number:

    ("var", i)                     the template's i-th variable
    ("number", p, q)               the rational p/q
    ("pi",) ("E",)
    ("add", x, y, ...)             added left to right;  ("mul", x, y, ...) likewise
    ("pow", base, exponent)
    ("call", name, x, ...)         a function by SymPy's class name: exp, log, tanh, Abs, Heaviside...
    ("max", x, y) ("min", x, y)
    ("piecewise", (value, condition), ...)   condition: ("true",), ("false",) or (relation, lhs, rhs)
                                   with relation one of gt, ge, lt, le, eq, ne
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property, lru_cache

import mpmath

from backprop_cli.primitives import PRIMITIVES, NamedConstant, with_defaults

Form = tuple  # an expression tree, as above
Parts = tuple  # text, cut at operands: str pieces and (variable, alone in a call) pairs


@dataclass(eq=False)  # one object per template (templates are cached): groups are keyed by identity
class Template:
    op: str
    constants: tuple  # the arguments as given: a folded constant, or None for a variable
    signs: tuple[int, ...] | None  # a sum's terms' signs
    variable_positions: tuple[int, ...]  # argument position of each variable
    value: Form
    partials: tuple[Form, ...]  # one per variable
    switches: tuple[tuple[tuple[Form, tuple[Form, ...]], ...], ...]  # per partial: (switch, branches)
    # Per partial: as a textbook writes it, and SymPy's own form (messages about a partial with no
    # value), operands cut out; None until asked for in a template derived at run time (textbook_of).
    textbook: tuple[Parts, ...] | None
    plain: tuple[Parts, ...] | None
    defined: bool  # False when the constant parameters leave no value anywhere: log(x, 1)
    # Compiled forms, filled on first use per number kind (numbers.compile_part).
    compiled: dict = field(default_factory=dict, repr=False)

    @property
    def arity(self) -> int:
        """How many variables (the arguments that are not folded constants)."""
        return len(self.variable_positions)

    def textbook_of(self, which: int) -> Parts:
        if self.textbook is None:
            self._print()
        return self.textbook[which]

    def plain_of(self, which: int) -> Parts:
        if self.plain is None:
            self._print()
        return self.plain[which]

    def _print(self) -> None:
        from backprop_cli.derive import texts

        self.textbook, self.plain = texts(self.symbolic)

    @cached_property
    def symbolic(self):
        """The SymPy template (primitives.template) for the exact and symbolic modes."""
        from backprop_cli.primitives import template as symbolic_template
        from backprop_cli.numbers import as_sympy

        constants = tuple(None if c is None else as_sympy(c) for c in self.constants)
        return symbolic_template(self.op, constants, self.signs)


def constant_key(constant) -> str | None:
    """A folded constant as the generated table names it: "2", "1/2", "-1", "E"; None if it has no name."""
    if isinstance(constant, Fraction) or type(constant) is int:
        return str(constant)
    if isinstance(constant, NamedConstant):
        return constant.name
    if getattr(constant, "is_Rational", False):  # a SymPy rational (exact mode's constant folding)
        return str(constant)
    if getattr(constant, "is_NumberSymbol", False):
        text = str(constant)  # SymPy's pi and E print as their names
        return text if text in ("pi", "E") else None
    return None


@lru_cache(maxsize=4096)
def template(op: str, constants: tuple, signs: tuple[int, ...] | None = None) -> Template:
    """The template of `op` whose argument i is the constant `constants[i]` where not None (folded
    only at the positions the primitive's parameters list; elsewhere a constant stays a variable)."""
    primitive = PRIMITIVES[op]
    constants = tuple(c if i in primitive.parameters else None for i, c in enumerate(constants))
    constants = with_defaults(op, constants)
    if op == "sum":
        return _sum(constants, signs)
    if op == "product":
        return _product(constants)
    keys = tuple(None if c is None else constant_key(c) for c in constants)
    if None not in [k for c, k in zip(constants, keys) if c is not None]:
        from backprop_cli.derived import TEMPLATES

        found = TEMPLATES.get((op, keys))
        if found is not None:
            return Template(op, constants, signs, *found)
    from backprop_cli.derive import derived_template  # a template not in the table: SymPy derives it

    return Template(op, constants, signs, *derived_template(op, constants, signs))


_ONE, _MINUS_ONE = ("number", 1, 1), ("number", -1, 1)


def _sum(constants: tuple, signs) -> Template:
    """Σ sign_i·a_i, added in argument order; each term's partial is its sign."""
    signs = signs or (1,) * len(constants)
    terms = tuple(("var", i) if s > 0 else ("mul", _MINUS_ONE, ("var", i)) for i, s in enumerate(signs))
    partials = tuple(_ONE if s > 0 else _MINUS_ONE for s in signs)
    texts = tuple(("1",) if s > 0 else ("-1",) for s in signs)
    n = len(constants)
    return Template("sum", constants, signs, tuple(range(n)), ("add", *terms), partials, ((),) * n, texts, texts,
                    True)


def _product(constants: tuple) -> Template:
    """Π a_i in argument order; the partial by a_i is the product of the others, in order."""
    n = len(constants)
    factors = tuple(("var", i) for i in range(n))
    partials, texts = [], []
    for i in range(n):
        others = factors[:i] + factors[i + 1:]
        partials.append(others[0] if len(others) == 1 else ("mul", *others))
        parts: list = []
        for j in range(n):
            if j != i:
                parts += ["*", (j, False)] if parts else [(j, False)]
        texts.append(tuple(parts))
    return Template("product", constants, None, tuple(range(n)), ("mul", *factors), tuple(partials), ((),) * n,
                    tuple(texts), tuple(texts), True)


# ---------------------------------------------------------------- constants of the trees

_MPMATH_NAMES = {"Abs": mpmath.fabs, "log": mpmath.log, "sign": mpmath.sign}


def constant_mpf(form: Form) -> mpmath.mpf:
    """A tree without variables (1/2, pi, log(10), sqrt(2)/2) in mpmath at the current precision."""
    kind = form[0]
    if kind == "number":
        return mpmath.mpf(form[1]) / form[2]
    if kind == "pi":
        return +mpmath.pi
    if kind == "E":
        return mpmath.e + 0
    args = [constant_mpf(a) for a in form[1:]] if kind != "call" else [constant_mpf(a) for a in form[2:]]
    if kind == "add":
        return mpmath.fsum(args)
    if kind == "mul":
        return mpmath.fprod(args)
    if kind == "pow":
        return mpmath.power(args[0], args[1])
    if kind == "max":
        return max(args)
    if kind == "min":
        return min(args)
    if kind == "call":
        name = form[1]
        return (_MPMATH_NAMES.get(name) or getattr(mpmath, name))(*args)
    raise ValueError(f"not a constant: {form!r}")


def constant_float(form: Form) -> float:
    """A constant tree as the float nearest its value (p/q in Python; others via 40 digits)."""
    if form[0] == "number":
        return form[1] / form[2]
    with mpmath.workdps(40):
        return float(constant_mpf(form))


def has_variables(form: Form) -> bool:
    kind = form[0]
    if kind == "var":
        return True
    if kind in ("number", "pi", "E"):
        return False
    if kind == "piecewise":
        return any(has_variables(v) or has_variables(c) for v, c in form[1:])
    if kind in ("true", "false"):
        return False
    return any(has_variables(a) for a in form[(2 if kind == "call" else 1):] if isinstance(a, tuple))


def is_finite_constant(form: Form) -> bool:
    try:
        with mpmath.workdps(30):
            value = constant_mpf(form)
    except (ValueError, ZeroDivisionError, OverflowError):
        return False
    return isinstance(value, mpmath.mpf) and mpmath.isfinite(value)

