"""SymPy's derivations as plain data (templates.py), and the generator of derived.py.

`python -m backprop_cli.derive` writes derived.py: every primitive of the table with its
variables, and with the constant parameters programs commonly fold in (x^2, x^(1/2), log's
base e, 2 and 10, leaky_relu's slope). tests/test_derived.py regenerates it and fails when the
checked-in file differs. A template outside it is derived here at run time (SymPy imported then).
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

from backprop_cli.lazy import sp
from backprop_cli.primitives import E, PRIMITIVES, VARIADIC, own_value, textbook_partial
from backprop_cli.primitives import template as symbolic_template

# The folded constants written into the table (others are derived when a program needs them).
POWERS = tuple(Fraction(n) for n in range(-4, 9)) + (Fraction(1, 2), Fraction(-1, 2), Fraction(3, 2),
                                                      Fraction(1, 3), Fraction(-3, 2))
FOLDED = {
    "pow": [(None, p) for p in POWERS] + [(None, E)],
    "log": [(None, E), (None, Fraction(2)), (None, Fraction(10))],
    "leaky_relu": [(None, Fraction(1, 100)), (None, Fraction(1, 10)), (None, Fraction(1, 5)),
                   (None, Fraction(1, 50))],
}

_RELATIONS = {"StrictGreaterThan": "gt", "GreaterThan": "ge", "StrictLessThan": "lt", "LessThan": "le",
              "Equality": "eq", "Unequality": "ne"}


def to_form(expr, index: dict) -> tuple:
    """A SymPy expression as an expression tree (templates.py), its variables numbered by `index`."""
    if expr in index:
        return ("var", index[expr])
    if expr.is_Rational:
        return ("number", int(expr.p), int(expr.q))
    if expr is sp.pi:
        return ("pi",)
    if expr is sp.E:
        return ("E",)
    if isinstance(expr, sp.Add):
        return ("add", *(to_form(a, index) for a in expr.args))
    if isinstance(expr, sp.Mul):
        return ("mul", *(to_form(a, index) for a in expr.args))
    if isinstance(expr, sp.Pow):
        if expr.base is sp.E:  # SymPy writes exp(x) as a power of E
            return ("call", "exp", to_form(expr.exp, index))
        return ("pow", to_form(expr.base, index), to_form(expr.exp, index))
    if isinstance(expr, sp.Piecewise):
        return ("piecewise", *((to_form(v, index), _condition(c, index)) for v, c in expr.args))
    if isinstance(expr, sp.Max):
        return ("max", *(to_form(a, index) for a in expr.args))
    if isinstance(expr, sp.Min):
        return ("min", *(to_form(a, index) for a in expr.args))
    if isinstance(expr, sp.Function):
        return ("call", type(expr).__name__, *(to_form(a, index) for a in expr.args))
    raise ValueError(f"no expression tree for {expr!r}")


def _condition(condition, index: dict) -> tuple:
    if condition == sp.true:
        return ("true",)
    if condition == sp.false:
        return ("false",)
    relation = _RELATIONS.get(type(condition).__name__)
    if relation is None:
        raise ValueError(f"no expression tree for the condition {condition}")
    return (relation, to_form(condition.lhs, index), to_form(condition.rhs, index))


_FROM_RELATIONS = {v: k for k, v in _RELATIONS.items()}


def from_form(form: tuple, variables: tuple):
    """An expression tree back as SymPy's expression over `variables` (exact mode's switches)."""
    kind = form[0]
    if kind == "var":
        return variables[form[1]]
    if kind == "number":
        return sp.Rational(form[1], form[2])
    if kind == "pi":
        return sp.pi
    if kind == "E":
        return sp.E
    if kind == "piecewise":
        return sp.Piecewise(*((from_form(v, variables), _from_condition(c, variables)) for v, c in form[1:]))
    if kind == "call":
        return getattr(sp, form[1])(*(from_form(a, variables) for a in form[2:]))
    args = [from_form(a, variables) for a in form[1:]]
    if kind == "add":
        return sp.Add(*args)
    if kind == "mul":
        return sp.Mul(*args)
    if kind == "pow":
        return sp.Pow(*args)
    if kind == "max":
        return sp.Max(*args)
    if kind == "min":
        return sp.Min(*args)
    raise ValueError(f"not an expression tree: {form!r}")


def _from_condition(condition: tuple, variables: tuple):
    if condition[0] in ("true", "false"):
        return sp.true if condition[0] == "true" else sp.false
    relation = getattr(sp, _FROM_RELATIONS[condition[0]])
    return relation(from_form(condition[1], variables), from_form(condition[2], variables))


def _switches(formula, index: dict) -> tuple:
    """Where a partial may jump — arguments of Heaviside, sign and Abs, and Piecewise borders (with
    the branches' values there: a border where they agree is no kink, as elu' at 0)."""
    found = [(to_form(atom.args[0], index), ())
             for atom in sorted(formula.atoms(sp.Heaviside, sp.sign, sp.Abs), key=sp.default_sort_key)]
    for piecewise in sorted(formula.atoms(sp.Piecewise), key=sp.default_sort_key):
        branches = tuple(to_form(value, index) for value, _ in piecewise.args)
        for _, condition in piecewise.args:
            if isinstance(condition, sp.core.relational.Relational):
                found.append((to_form(condition.lhs - condition.rhs, index), branches))
    return tuple(found)


def _parts(formula, variables: tuple) -> tuple:
    from backprop_cli.notation import _constant_text, _formula_parts

    if not formula.free_symbols:
        return (_constant_text(formula),)
    return _formula_parts(formula, variables)


def texts(tmpl) -> tuple[tuple, tuple]:
    """A SymPy template's partials printed once, cut at their operands: (textbook, plain) parts."""
    named = (*tmpl.variables, own_value())
    return (tuple(_parts(textbook_partial(tmpl, k), named) for k in range(len(tmpl.partials))),
            tuple(_parts(p, named) for p in tmpl.partials))


def from_symbolic(tmpl, with_texts: bool = True) -> tuple:
    """A SymPy template (primitives.Template) as the fields of a templates.Template after its op,
    constants and signs: positions, value, partials, switches, textbook and plain parts, defined.
    Without texts, those two are None (templates.Template derives them when a view asks: the
    textbook form costs SymPy a solve and a simplify, which a run that shows no formula need not pay)."""
    index = {v: i for i, v in enumerate(tmpl.variables)}
    try:
        if tmpl.defined:
            return (tmpl.variable_positions, to_form(tmpl.value, index),
                    tuple(to_form(p, index) for p in tmpl.partials),
                    tuple(_switches(p, index) for p in tmpl.partials),
                    *(texts(tmpl) if with_texts else (None, None)),
                    True)
    except ValueError:  # a constant that is not real (log(x, -1/2) has log(-1/2) = log(1/2) + iπ)
        pass
    nothing = ((),) * len(tmpl.variables)
    return (tmpl.variable_positions, ("number", 0, 1), tuple(("number", 0, 1) for _ in tmpl.variables),
            nothing, nothing, nothing, False)


def _sympy_constant(constant):
    from backprop_cli.numbers import as_sympy

    return None if constant is None else as_sympy(constant)


def derived_template(op: str, constants: tuple, signs) -> tuple:
    """A template's fields, derived by SymPy now (one not in derived.py); its texts when asked for."""
    return from_symbolic(symbolic_template(op, tuple(_sympy_constant(c) for c in constants), signs), with_texts=False)


def table() -> dict:
    """Every template derived.py holds: (op, constant names) → fields."""
    from backprop_cli.templates import constant_key

    entries = {}
    for name, primitive in PRIMITIVES.items():
        if primitive.arity == VARIADIC:
            continue  # sums and products of any length are built directly (templates.py)
        shapes = [(None,) * max(primitive.arity)] + FOLDED.get(name, [])
        for constants in shapes:
            key = (name, tuple(None if c is None else constant_key(c) for c in constants))
            entries[key] = from_symbolic(symbolic_template(name, tuple(_sympy_constant(c) for c in constants), None))
    return entries


HEADER = '''"""GENERATED by `python -m backprop_cli.derive` from primitives.PRIMITIVES — do not edit.

Each op's value, partials, switches and textbook texts, derived by SymPy, as the plain data
numeric mode runs on (templates.py describes the forms). tests/test_derived.py fails when
this file is not what the generator writes.
"""

'''


def source() -> str:
    lines = [HEADER, "TEMPLATES = {\n"]
    for key, fields in table().items():
        lines.append(f"    {key!r}: {fields!r},\n")
    lines.append("}\n")
    return "".join(lines)


TARGET = Path(__file__).with_name("derived.py")


def main() -> int:
    TARGET.write_text(source(), encoding="utf-8")
    print(f"wrote {TARGET}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
