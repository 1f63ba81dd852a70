"""The one table of primitives.

Each entry is a name, the argument counts it accepts, and its SymPy definition
over placeholder arguments. Local derivatives are *derived* from the definition
with `sympy.diff` (once per op kind and constant parameters, then cached); none
is written by hand. Adding a function is one line in `PRIMITIVES` — then
`python -m backprop_cli.derive` regenerates derived.py, the same derivations as
the plain data numeric mode runs on without SymPy (tests/test_derived.py fails
until it is regenerated). This module imports SymPy only when a definition is used.

Non-differentiable points follow from the definitions and match PyTorch:
relu'(0) = 0 and leaky_relu'(0) = slope (Piecewise: the `a > 0` branch is not
taken at 0), abs'(0) = sign(0) = 0, and a tie in max/min splits the gradient
evenly (SymPy's Heaviside(0) = 1/2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Callable

from backprop_cli.lazy import sp

VARIADIC = (-1,)  # the arity of a sum or product: any number of terms, two or more


@lru_cache(maxsize=None)
def placeholders() -> tuple:
    """Placeholder arguments of every definition: a, b (real, so |a|' is sign(a)); a sum or a
    product of many terms continues with a2, a3, ..."""
    return tuple(sp.symbols("a b", real=True))


def __getattr__(name: str):  # PLACEHOLDERS and OWN_VALUE, made when first asked for (SymPy is imported then)
    if name == "PLACEHOLDERS":
        return placeholders()
    if name == "OWN_VALUE":
        return own_value()
    raise AttributeError(name)


@lru_cache(maxsize=None)
def placeholder(position: int):
    first = placeholders()
    return first[position] if position < len(first) else sp.Symbol(f"a{position}", real=True)


@dataclass(frozen=True)
class NamedConstant:
    """pi or E as the program writes it: exact, with no SymPy until an exact run asks for it."""

    name: str  # "pi" or "E"

    def sympy(self):
        return sp.pi if self.name == "pi" else sp.E

    def __float__(self) -> float:
        import math

        return math.pi if self.name == "pi" else math.e

    def __str__(self) -> str:
        return self.name


PI, E = NamedConstant("pi"), NamedConstant("E")


@dataclass(frozen=True)
class Primitive:
    name: str
    arity: tuple[int, ...]  # accepted argument counts
    definition: Callable[..., sp.Expr]
    # Argument positions that, when given a constant, are folded into the
    # template before differentiating: d(a^2)/da = 2*a, not a**b*b/a (which is
    # 0/0 at a = 0); log(a, 10)' = 1/(a*log(10)).
    parameters: tuple[int, ...] = ()
    operator: str | None = None  # "+" for operators; None for functions called by name
    defaults: tuple = ()  # values of trailing optional arguments (exact: Fraction or NamedConstant)


def _sigmoid(a: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-a))


def _relu(a: sp.Expr) -> sp.Expr:
    return sp.Piecewise((a, a > 0), (0, True))


def _leaky_relu(a: sp.Expr, slope: sp.Expr) -> sp.Expr:
    return sp.Piecewise((a, a > 0), (slope * a, True))


def _log(a, base=None):
    return sp.log(a) if base is None else sp.log(a, base)


def _elu(a: sp.Expr) -> sp.Expr:  # α = 1
    return sp.Piecewise((a, a > 0), (sp.exp(a) - 1, True))


_P = Primitive
PRIMITIVES: dict[str, Primitive] = {
    p.name: p
    for p in [
        # operators, in the order a reader meets them; a sum's terms come with their signs
        _P("sum", VARIADIC, lambda *terms: sp.Add(*terms), operator="+"),
        _P("product", VARIADIC, lambda *factors: sp.Mul(*factors), operator="*"),
        _P("div", (2,), lambda a, b: a / b, operator="/"),
        _P("pow", (2,), lambda a, b: a**b, parameters=(1,)),  # also the ^ and ** operators
        _P("neg", (1,), lambda a: -a, operator="unary -"),
        _P("copy", (1,), lambda a: a, operator="="),  # `y = x`: a named copy of x
        # functions
        _P("sin", (1,), lambda a: sp.sin(a)),
        _P("cos", (1,), lambda a: sp.cos(a)),
        _P("tan", (1,), lambda a: sp.tan(a)),
        _P("asin", (1,), lambda a: sp.asin(a)),
        _P("acos", (1,), lambda a: sp.acos(a)),
        _P("atan", (1,), lambda a: sp.atan(a)),
        _P("sinh", (1,), lambda a: sp.sinh(a)),
        _P("cosh", (1,), lambda a: sp.cosh(a)),
        _P("tanh", (1,), lambda a: sp.tanh(a)),
        _P("exp", (1,), lambda a: sp.exp(a)),
        _P("log", (1, 2), _log, parameters=(1,), defaults=(E,)),
        _P("ln", (1,), lambda a: sp.log(a)),
        _P("sqrt", (1,), lambda a: sp.sqrt(a)),
        _P("abs", (1,), lambda a: sp.Abs(a)),
        _P("sigmoid", (1,), _sigmoid),
        _P("relu", (1,), _relu),
        _P("leaky_relu", (1, 2), _leaky_relu, parameters=(1,), defaults=(Fraction(1, 100),)),
        _P("softplus", (1,), lambda a: sp.log(1 + sp.exp(a))),
        _P("erf", (1,), lambda a: sp.erf(a)),
        _P("gelu", (1,), lambda a: a * (1 + sp.erf(a / sp.sqrt(2))) / 2),  # x·Φ(x), the exact form
        _P("silu", (1,), lambda a: a * _sigmoid(a)),
        _P("elu", (1,), _elu),
        _P("asinh", (1,), lambda a: sp.asinh(a)),
        _P("acosh", (1,), lambda a: sp.acosh(a)),
        _P("atanh", (1,), lambda a: sp.atanh(a)),
        _P("max", (2,), lambda a, b: sp.Max(a, b)),
        _P("min", (2,), lambda a, b: sp.Min(a, b)),
    ]
}


@dataclass(frozen=True)
class TensorFunction:
    """A function of whole tensors (SPEC §1b). Not entry-wise, so not a SymPy definition: its
    forward value and its pullbacks are the linear-algebra rules in tensors.py, checked there
    against SymPy's entry-wise derivatives (tests/test_tensors.py)."""

    name: str  # as the program calls it
    op: str  # the graph's op
    arity: tuple[int, ...]
    axis: bool = False  # the second argument, when given, is a constant axis (0, 1 or -1)


TENSOR_FUNCTIONS: dict[str, TensorFunction] = {
    f.name: f
    for f in [
        TensorFunction("sum", "reduce_sum", (1, 2), axis=True),
        TensorFunction("mean", "reduce_mean", (1, 2), axis=True),
        TensorFunction("outer", "outer", (2,)),
        TensorFunction("transpose", "transpose", (1,)),
        TensorFunction("softmax", "softmax", (1,)),
        TensorFunction("log_softmax", "log_softmax", (1,)),
    ]
}
# The graph's tensor ops: the functions above, `A @ B`, `x.T` and a literal `[[1, 0], [0, 1]]`.
TENSOR_OPS: frozenset[str] = frozenset({f.op for f in TENSOR_FUNCTIONS.values()} | {"matmul", "array"})

FUNCTIONS: frozenset[str] = frozenset(n for n, p in PRIMITIVES.items() if p.operator is None) | frozenset(TENSOR_FUNCTIONS)
CONSTANTS: dict[str, NamedConstant] = {"pi": PI, "E": E}
RESERVED: frozenset[str] = FUNCTIONS | frozenset(CONSTANTS)


@dataclass(frozen=True)
class Template:
    """One op with its constant parameters folded in, ready to evaluate.

    `value` and each of `partials` are expressions over `variables`, the
    placeholders of the non-constant arguments, in argument order.
    """

    op: str
    variables: tuple[sp.Symbol, ...]
    variable_positions: tuple[int, ...]
    value: sp.Expr
    partials: tuple[sp.Expr, ...]  # one per variable
    defined: bool  # False when the constant parameters leave no value anywhere: log(x, 1), x^(1/0)
    # Compiled forms, filled on first use (evaluate.template_function): not part of identity.
    compiled: dict = field(default_factory=dict, compare=False, hash=False, repr=False)


def with_defaults(op: str, constants: tuple) -> tuple:
    """Optional trailing arguments left out take their defaults, as constants (log's base e)."""
    primitive = PRIMITIVES[op]
    missing = max(primitive.arity) - len(constants)
    if missing > 0 and primitive.arity != VARIADIC:
        constants = constants + primitive.defaults[len(primitive.defaults) - missing:]
    return constants


@lru_cache(maxsize=None)
def _term_partial(sign: int) -> sp.Expr:
    """∂(sign·a)/∂a, by SymPy: what a sum passes back to one of its terms."""
    a = placeholders()[0]
    return sp.diff(sign * a, a)


@lru_cache(maxsize=4096)
def template(op: str, constants: tuple[sp.Expr | None, ...], signs: tuple[int, ...] | None = None) -> Template:
    """The derived template of `op` whose argument i is `constants[i]` where not None.

    Only the positions listed in `Primitive.parameters` are folded; a constant
    elsewhere (the 3 in 3*x) stays a variable so the cache stays small. A sum's
    terms enter with their signs: `a - b` is the sum of a and -b.
    """
    primitive = PRIMITIVES[op]
    if len(constants) < max(primitive.arity) and primitive.arity != VARIADIC:
        from backprop_cli.numbers import as_sympy

        constants = tuple(None if c is None else as_sympy(c) for c in with_defaults(op, constants))
    args: list[sp.Expr] = []
    variables: list[sp.Symbol] = []
    positions: list[int] = []
    for position, constant in enumerate(constants):
        if constant is not None and position in primitive.parameters:
            args.append(constant)
        else:
            args.append(placeholder(position))
            variables.append(placeholder(position))
            positions.append(position)
    if signs is not None:
        args = [arg if sign > 0 else -arg for arg, sign in zip(args, signs)]
    value = primitive.definition(*args)
    if op == "sum":  # each term's partial is the derivative of that term alone: ±1, derived once per sign
        partials = tuple(_term_partial(sign) for sign in (signs or (1,) * len(args)))
    else:
        partials = tuple(sp.diff(value, v) for v in variables)
    defined = not value.has(sp.zoo, sp.nan, sp.oo, -sp.oo)
    return Template(op, tuple(variables), tuple(positions), value, partials, defined)


@lru_cache(maxsize=None)
def own_value():
    """The node's own value in a local derivative's textbook form: tanh' = 1 - h^2 for h = tanh(z)."""
    return sp.Symbol("own_value", real=True)


def textbook_partial(tmpl: Template, which: int) -> sp.Expr:
    """The partial as a textbook writes it, derived by SymPy once per template: in the node's own
    value where that is all it needs (1 - h^2, p*(1 - p), e), otherwise SymPy's partial with
    powers gathered (n*q^(n - 1), not q^n*n/q). Over the template's variables and OWN_VALUE."""
    key = ("textbook", which)
    found = tmpl.compiled.get(key)
    if found is None:
        found = tmpl.compiled[key] = _textbook(tmpl, which)
    return found


def _textbook(tmpl: Template, which: int) -> sp.Expr:
    if not tmpl.partials[which].free_symbols:  # a constant (a sum's ±1) reads as it is
        return tmpl.partials[which]
    partial = sp.powsimp(tmpl.partials[which])
    if len(tmpl.variables) != 1 or not partial.free_symbols or tmpl.value.has(sp.Piecewise):
        return partial
    value = tmpl.value
    atoms = {value} if isinstance(value, sp.Function) else value.atoms(sp.Function)
    for atom in sorted(atoms, key=sp.default_sort_key):  # sorted: the same form on every run
        if atom == value:
            solutions = [own_value()]
        else:
            try:
                solutions = sp.solve(sp.Eq(value, own_value()), atom)
            except (NotImplementedError, ValueError, TypeError):
                continue
        if len(solutions) != 1:
            continue
        substituted = partial.subs(atom, solutions[0])
        if atom == value and substituted.free_symbols <= {own_value()}:
            return substituted  # tanh, exp: the substitution is the textbook form (1 - h^2, e)
        forms = [form for form in (sp.simplify(substituted), sp.factor(substituted), sp.expand(substituted))
                 if form.free_symbols <= {own_value()}]
        if forms:  # the shortest, and one without a leading minus where lengths tie
            return min(forms, key=lambda form: (len(sp.sstr(form)), sp.sstr(form).startswith("-")))
    return partial
