"""Tensor programs against independent oracles (SPEC §1b).

The oracle is this file's own: a tensor is a shape and a dict from index tuples to entries, every
op is written out entry by entry in plain Python (a matrix product as sums of products, softmax as
exp(z_i)/Σexp(z_j), NumPy's broadcasting rule by hand), and the same oracle code runs over SymPy
expressions in entry symbols (W_0_1, ...) — to be differentiated by `sympy.diff` — and over 50-digit
mpmath numbers, for central differences. Neither numpy nor the engine builds any oracle value.

Each program is checked three ways: the engine's exact gradients against SymPy's derivative of the
whole flattened expression, entry by entry; against high-precision central differences; and the
numeric mode (float64 arrays) against the exact mode. Its own finite-difference check must say ok.
"""

from __future__ import annotations

import itertools
import operator
import os
import random
import re
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp

from backprop_cli.notation import exact_text
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from backprop_cli import tensors
from backprop_cli.engine import NumberMode, analyse, program_shapes
from backprop_cli.errors import BackpropError
from backprop_cli.finite_difference import CheckKind, CheckStatus
from backprop_cli.graph import build_graph
from backprop_cli.numbers import Value
from backprop_cli.parse import parse_program
from backprop_cli.sweeps import tangent_sweep

# ---------------------------------------------------------------- the oracle: tensors as dicts

_LIBRARY = {"mode": "sympy"}  # which numbers the entries are: "sympy" expressions or "mpmath" decimals
_KINKS: list = []  # where relu and max switch, met by the last mpmath evaluation (to stay off them)


def _functions():
    if _LIBRARY["mode"] == "mpmath":
        return {"exp": mpmath.exp, "log": mpmath.log, "tanh": mpmath.tanh,
                "sigmoid": lambda a: 1 / (1 + mpmath.exp(-a)), "relu": _mp_relu}
    return {"exp": sp.exp, "log": sp.log, "tanh": sp.tanh,
            "sigmoid": lambda a: 1 / (1 + sp.exp(-a)), "relu": lambda a: sp.Max(a, 0)}


def _mp_relu(a):
    _KINKS.append(a)
    return a if a > 0 else mpmath.mpf(0)


def indices(shape):
    return itertools.product(*(range(n) for n in shape))


@dataclass
class OT:
    """An oracle tensor: a shape and its entries by index."""

    shape: tuple
    data: dict

    @staticmethod
    def build(shape, entry):
        return OT(tuple(shape), {i: entry(i) for i in indices(shape)})

    def __getitem__(self, index):
        return self.data[index]

    def entrywise(self, f):
        return OT.build(self.shape, lambda i: f(self[i]))

    def _binary(self, other, f):
        return broadcast(self, lift(other), f)

    def __add__(self, other):
        return self._binary(other, operator.add)

    def __radd__(self, other):
        return lift(other)._binary(self, operator.add)

    def __sub__(self, other):
        return self._binary(other, operator.sub)

    def __rsub__(self, other):
        return lift(other)._binary(self, operator.sub)

    def __mul__(self, other):
        return self._binary(other, operator.mul)

    def __rmul__(self, other):
        return lift(other)._binary(self, operator.mul)

    def __truediv__(self, other):
        return self._binary(other, operator.truediv)

    def __rtruediv__(self, other):
        return lift(other)._binary(self, operator.truediv)

    def __pow__(self, other):
        return self._binary(other, operator.pow)

    def __rpow__(self, other):
        return lift(other)._binary(self, operator.pow)

    def __neg__(self):
        return self.entrywise(operator.neg)

    @property
    def T(self):
        return transpose(self)


def lift(x) -> OT:
    return x if isinstance(x, OT) else OT((), {(): x})


def broadcast(a: OT, b: OT, f) -> OT:
    """NumPy's rule, by hand: align the shapes at the right; a size 1 or a missing axis is copied."""
    rank = max(len(a.shape), len(b.shape))
    pa = (1,) * (rank - len(a.shape)) + a.shape
    pb = (1,) * (rank - len(b.shape)) + b.shape
    shape = []
    for m, n in zip(pa, pb):
        assert m == n or 1 in (m, n), (a.shape, b.shape)
        shape.append(max(m, n))

    def pick(t, padded, index):
        full = tuple(0 if size == 1 else i for size, i in zip(padded, index))
        return t[full[rank - len(t.shape):]]

    return OT.build(shape, lambda i: f(pick(a, pa, i), pick(b, pb, i)))


def matmul(a: OT, b: OT) -> OT:
    """The four 1-D/2-D cases of @, written out as sums of products."""
    if len(a.shape) == 2 and len(b.shape) == 1:  # (m, n) @ (n,) → (m,)
        m, n = a.shape
        assert b.shape == (n,)
        return OT.build((m,), lambda i: sum(a[i[0], j] * b[j,] for j in range(n)))
    if len(a.shape) == 1 and len(b.shape) == 1:  # (n,) @ (n,) → ()
        assert a.shape == b.shape
        return OT((), {(): sum(a[j,] * b[j,] for j in range(a.shape[0]))})
    if len(a.shape) == 1 and len(b.shape) == 2:  # (n,) @ (n, k) → (k,)
        n, k = b.shape
        assert a.shape == (n,)
        return OT.build((k,), lambda i: sum(a[j,] * b[j, i[0]] for j in range(n)))
    m, n = a.shape  # (m, n) @ (n, k) → (m, k)
    assert b.shape[0] == n
    return OT.build((m, b.shape[1]), lambda i: sum(a[i[0], j] * b[j, i[1]] for j in range(n)))


def transpose(a: OT) -> OT:
    if len(a.shape) < 2:
        return a
    return OT.build((a.shape[1], a.shape[0]), lambda i: a[i[1], i[0]])


def total(a: OT, axis=None, mean=False) -> OT:
    """sum(a) or sum(a, axis) (mean: divided by the count)."""
    if axis is None:
        count = 1
        for n in a.shape:
            count *= n
        value = sum(a[i] for i in indices(a.shape))
        return OT((), {(): value / count if mean else value})
    axis %= len(a.shape)
    shape = tuple(n for k, n in enumerate(a.shape) if k != axis)

    def entry(i):
        value = sum(a[i[:axis] + (j,) + i[axis:]] for j in range(a.shape[axis]))
        return value / a.shape[axis] if mean else value

    return OT.build(shape, entry)


def average(a: OT, axis=None) -> OT:
    return total(a, axis, mean=True)


def outer(a: OT, b: OT) -> OT:
    return OT.build((a.shape[0], b.shape[0]), lambda i: a[i[0],] * b[i[1],])


def _rows(z: OT, per_row):
    """A function of the last axis, row by row."""
    if len(z.shape) == 1:
        values = per_row([z[j,] for j in range(z.shape[0])])
        return OT.build(z.shape, lambda i: values[i[0]])
    rows = [per_row([z[r, j] for j in range(z.shape[1])]) for r in range(z.shape[0])]
    return OT.build(z.shape, lambda i: rows[i[0]][i[1]])


def softmax(z: OT) -> OT:
    exp = _functions()["exp"]

    def row(values):
        exps = [exp(v) for v in values]
        return [e / sum(exps) for e in exps]

    return _rows(z, row)


def log_softmax(z: OT) -> OT:
    f = _functions()

    def row(values):
        log_total = f["log"](sum(f["exp"](v) for v in values))
        return [v - log_total for v in values]

    return _rows(z, row)


def literal(rows) -> OT:
    """[x, y] or [[a, 1], [0, b]]: entries are oracle scalars or integers."""
    scalar = lambda x: x[()] if isinstance(x, OT) else x  # noqa: E731
    if isinstance(rows[0], list):
        return OT.build((len(rows), len(rows[0])), lambda i: scalar(rows[i[0]][i[1]]))
    return OT.build((len(rows),), lambda i: scalar(rows[i[0]]))


def _function(name):
    return lambda a: lift(a).entrywise(lambda x: _functions()[name](x))


tanh, sigmoid, relu, exp, log = (_function(n) for n in ("tanh", "sigmoid", "relu", "exp", "log"))


def maximum(a, b):
    if _LIBRARY["mode"] == "sympy":
        return broadcast(lift(a), lift(b), sp.Max)

    def mp_max(x, y):
        _KINKS.append(x - y)
        return max(x, y)

    return broadcast(lift(a), lift(b), mp_max)


# ---------------------------------------------------------------- points, bindings, the comparisons

POINT_VALUES = [Fraction(n, d) for n in (-3, -2, -1, 1, 2, 3) for d in (1, 2, 3, 4) if Fraction(n, d) != 0]


def entry_symbol(name, index):
    return sp.Symbol("_".join([name] + [str(i) for i in index]), real=True)


class Env(dict):
    __getattr__ = dict.__getitem__


def symbolic_env(shapes):
    return Env({name: OT.build(shape, lambda i, name=name: entry_symbol(name, i)) for name, shape in shapes.items()})


def numeric_env(point, shapes, bump=None, step=None):
    """The inputs as 50-digit mpmath numbers (one entry moved by ±step for a central difference)."""
    env = Env()
    for name, shape in shapes.items():
        def value(i, name=name):
            q = point[name][i]
            x = mpmath.mpf(q.numerator) / q.denominator
            return x + step if bump == (name, i) else x
        env[name] = OT.build(shape, value)
    return env


def random_point(shapes, rng):
    return {name: {i: rng.choice(POINT_VALUES) for i in indices(shape)} for name, shape in shapes.items()}


def bindings_of(point, shapes, dtype=object):
    result = {}
    for name, shape in shapes.items():
        if shape == ():
            result[name] = sp.Rational(point[name][()].numerator, point[name][()].denominator)
            continue
        array = np.empty(shape, dtype=dtype)
        for i in indices(shape):
            q = point[name][i]
            array[i] = sp.Rational(q.numerator, q.denominator) if dtype is object else q.numerator / q.denominator
        result[name] = array
    return result


def evaluate(oracle, env, mode):
    _LIBRARY["mode"] = mode
    try:
        result = oracle(env)
    finally:
        _LIBRARY["mode"] = "sympy"
    result = lift(result)
    assert result.shape == (), result.shape
    return result[()]


def sympy_gradients(oracle, shapes, point):
    """∂L/∂entry for every entry of every input: sympy.diff of the flattened L, at the point."""
    loss = sp.sympify(evaluate(oracle, symbolic_env(shapes), "sympy"))
    substitution = {entry_symbol(name, i): sp.Rational(q.numerator, q.denominator)
                    for name, entries in point.items() for i, q in entries.items()}
    return {name: {i: sp.diff(loss, entry_symbol(name, i)).xreplace(substitution) for i in indices(shape)}
            for name, shape in shapes.items()}


def near_kink(oracle, shapes, point) -> bool:
    """Whether a relu or a max is evaluated at (or within 1e-10 of) its kink."""
    with mpmath.workdps(50):
        del _KINKS[:]
        evaluate(oracle, numeric_env(point, shapes), "mpmath")
        return any(abs(a) < mpmath.mpf(10) ** -10 for a in _KINKS)


def central_differences(oracle, shapes, point):
    """(L(x + h e) − L(x − h e)) / 2h per entry, in 50-digit arithmetic (h = 1e-15: error ~1e-30)."""
    with mpmath.workdps(50):
        h = mpmath.mpf(10) ** -15
        result = {}
        for name, shape in shapes.items():
            result[name] = {}
            for i in indices(shape):
                up = evaluate(oracle, numeric_env(point, shapes, (name, i), h), "mpmath")
                down = evaluate(oracle, numeric_env(point, shapes, (name, i), -h), "mpmath")
                result[name][i] = (up - down) / (2 * h)
    return result


def run(program, point, shapes, mode=NumberMode.EXACT, check=CheckKind.AUTO, dtype=object):
    graph = build_graph(parse_program(program), program)
    return graph, analyse(graph, bindings_of(point, shapes, dtype), check=check, mode=mode)


def as_mpf(x):
    return mpmath.mpf(sp.Float(x, 60)._mpf_) if not isinstance(x, mpmath.mpf) else x


def assert_close(actual, expected, tolerance, what):
    with mpmath.workdps(60):
        a, e = as_mpf(actual), as_mpf(expected)
        assert abs(a - e) <= tolerance * max(1, abs(e)), f"{what}: engine {mpmath.nstr(a, 30)}, oracle {mpmath.nstr(e, 30)}"


TRANSCENDENTAL = re.compile(r"\b(tanh|sigmoid|exp|log|softmax|log_softmax)\(")


def assert_matches_sympy(program, shapes, oracle, point):
    """The engine's exact gradients equal SymPy's, to 40 digits, and exactly where they are exact: a
    program of rational arithmetic has rational gradients; otherwise the engine keeps small exact
    forms and a 50-digit decimal beside every value (a large form is dropped for its decimal)."""
    rational = not TRANSCENDENTAL.search(program)
    graph, report = run(program, point, shapes)
    expected = sympy_gradients(oracle, shapes, point)
    for name, shape in shapes.items():
        gradient = report.trace.gradients[graph.names[name]]
        assert gradient.shape == shape, (name, gradient.shape, shape)
        for i in indices(shape):
            value, want, what = gradient.entries[i], expected[name][i], f"∂L/∂{name}{list(i)} in {program!r}"
            if want.is_Rational and (value.exact is not None or rational):
                assert value.exact == want, f"{what}: engine {value.exact}, SymPy {want}"
            elif value.exact is not None:
                assert_close(sp.N(value.exact, 60), sp.N(want, 60), 1e-40, what)
            assert_close(value.approx, sp.N(want, 60), 1e-40, what + " (decimal)")
    return graph, report, expected


def assert_tangent_matches(graph, report, expected, shapes, rng):
    """Forward mode (the tangent sweep over the same local derivatives, each rule's `push`) along
    a random direction v equals SymPy's ∇L·v."""
    trace = report.trace
    forward = trace.forward
    direction = {name: {i: rng.choice((-2, -1, 0, 1, 3)) for i in indices(shape)} for name, shape in shapes.items()}
    with forward.domain.precision():
        seeds = {}
        for name, shape in shapes.items():
            array = np.empty(shape, dtype=object)
            for i in indices(shape):
                array[i] = Value(sp.Integer(direction[name][i]), mpmath.mpf(direction[name][i]))
            seeds[graph.names[name]] = array
        tangent = tangent_sweep(forward, trace.output, trace.locals, seeds)[trace.output]
    value = forward.domain.value(tangent).entries[()]
    want = sum(expected[name][i] * direction[name][i] for name, shape in shapes.items() for i in indices(shape))
    if value.exact is not None and sp.sympify(want).is_Rational:
        assert value.exact == want
    assert_close(value.approx, sp.N(want, 60), 1e-40, f"∇L·v by forward mode in {graph.source!r}")


def assert_matches_differences(graph, report, oracle, shapes, point):
    estimates = central_differences(oracle, shapes, point)
    for name, shape in shapes.items():
        gradient = report.trace.gradients[graph.names[name]]
        for i in indices(shape):
            assert_close(gradient.entries[i].approx, estimates[name][i], 1e-20,
                         f"∂L/∂{name}{list(i)} against a central difference")


def assert_numeric_equals_exact(program, shapes, point, exact_graph, exact_report, dtype=object):
    graph, report = run(program, point, shapes, mode=NumberMode.NUMERIC, check=CheckKind.NONE, dtype=dtype)
    assert report.trace.forward.numeric
    for name, shape in shapes.items():
        numeric = report.trace.gradients[graph.names[name]]
        exact = exact_report.trace.gradients[exact_graph.names[name]]
        assert numeric.shape == exact.shape == shape
        for i in indices(shape):
            got, want = numeric.entries[i].approx, float(exact.entries[i].approx)
            assert type(got) is float
            assert abs(got - want) <= 1e-12 * max(1.0, abs(want)), (program, name, i, got, want)


def assert_checks_ok(report):
    """Every reported gradient that the output depends on is checked and ok."""
    assert report.checks, "no checks"
    reached = report.trace.graph.ancestors_of(report.trace.output)
    for c in report.checks:
        if reached[c.node]:
            assert c.status is CheckStatus.OK, (c.node, c.status, c.error, c.worst)


# ---------------------------------------------------------------- 1. each op, by hand, against SymPy

CASES = {
    # @ in its four 1-D / 2-D cases
    "matrix @ vector": ("L = sum(tanh(W @ x))", {"W": (2, 3), "x": (3,)},
                        lambda v: total(tanh(matmul(v.W, v.x)))),
    "vector @ vector": ("L = (x @ y)^2", {"x": (3,), "y": (3,)}, lambda v: matmul(v.x, v.y) ** 2),
    "vector @ matrix": ("L = sum(sigmoid(x @ W))", {"x": (2,), "W": (2, 3)},
                        lambda v: total(sigmoid(matmul(v.x, v.W)))),
    "matrix @ matrix": ("L = sum((A @ B)^2)", {"A": (2, 3), "B": (3, 2)}, lambda v: total(matmul(v.A, v.B) ** 2)),
    "(1, n) @ (n, 1)": ("L = sum(exp(A @ B))", {"A": (1, 3), "B": (3, 1)}, lambda v: total(exp(matmul(v.A, v.B)))),
    # transposes
    ".T of a matrix, then @": ("L = sum((W.T @ x)^2)", {"W": (2, 3), "x": (2,)},
                               lambda v: total(matmul(v.W.T, v.x) ** 2)),
    ".T entry-wise": ("L = sum(A.T * B)", {"A": (2, 3), "B": (3, 2)}, lambda v: total(v.A.T * v.B)),
    "transpose()": ("L = sum(transpose(A) * B^2)", {"A": (2, 3), "B": (3, 2)},
                    lambda v: total(transpose(v.A) * v.B ** 2)),
    "x @ W.T (vector, then matrix)": ("L = sum(tanh(x @ W.T))", {"x": (3,), "W": (2, 3)},
                                      lambda v: total(tanh(matmul(v.x, v.W.T)))),
    # reductions
    "sum all": ("L = sum(A * A * B)", {"A": (2, 3), "B": (2, 3)}, lambda v: total(v.A * v.A * v.B)),
    "sum axis 0": ("s = sum(A, 0); L = sum(s^2 * c)", {"A": (2, 3), "c": (3,)},
                   lambda v: total(total(v.A, 0) ** 2 * v.c)),
    "sum axis 1": ("s = sum(A, 1); L = sum(s^2 * c)", {"A": (2, 3), "c": (2,)},
                   lambda v: total(total(v.A, 1) ** 2 * v.c)),
    "sum axis -1": ("s = sum(A, -1); L = s @ s", {"A": (3, 2)}, lambda v: matmul(total(v.A, -1), total(v.A, -1))),
    "sum of a vector, axes 0 and -1": ("L = sum(x, 0)^2 + sum(x * x, -1)", {"x": (3,)},
                                      lambda v: total(v.x, 0) ** 2 + total(v.x * v.x, -1)),
    "mean all": ("L = mean(A^2) * mean(A)", {"A": (2, 3)}, lambda v: average(v.A ** 2) * average(v.A)),
    "mean axis 0": ("m = mean(A, 0); L = sum(m^2 * c)", {"A": (2, 3), "c": (3,)},
                    lambda v: total(average(v.A, 0) ** 2 * v.c)),
    "mean axis 1": ("m = mean(A, 1); L = sum(tanh(m))", {"A": (2, 3)}, lambda v: total(tanh(average(v.A, 1)))),
    "mean axis -1": ("m = mean(A, -1); L = sum(m * m)", {"A": (3, 2)},
                     lambda v: total(average(v.A, -1) * average(v.A, -1))),
    "mean of a vector, axes 0 and -1": ("L = mean(x, 0) * mean(x^2, -1)", {"x": (3,)},
                                       lambda v: average(v.x, 0) * average(v.x ** 2, -1)),
    "sum and mean of a scalar": ("L = sum(s^2) + mean(s) * s", {"s": ()},
                                 lambda v: total(v.s ** 2) + average(v.s) * v.s),
    # outer
    "outer": ("L = sum(outer(a, b) * C)", {"a": (2,), "b": (3,), "C": (2, 3)},
              lambda v: total(outer(v.a, v.b) * v.C)),
    "outer of a vector with itself": ("L = sum(tanh(outer(a, a)))", {"a": (3,)},
                                      lambda v: total(tanh(outer(v.a, v.a)))),
    # softmax and log_softmax, on a vector and row by row on a matrix
    "softmax of a vector": ("L = sum(softmax(z) * t)", {"z": (3,), "t": (3,)},
                            lambda v: total(softmax(v.z) * v.t)),
    "softmax of a matrix": ("L = sum(softmax(Z) * T)", {"Z": (2, 3), "T": (2, 3)},
                            lambda v: total(softmax(v.Z) * v.T)),
    "softmax of a length-1 vector": ("L = sum(softmax(z) * t)", {"z": (1,), "t": (1,)},
                                     lambda v: total(softmax(v.z) * v.t)),
    "log_softmax of a vector": ("L = -sum(t * log_softmax(z))", {"z": (3,), "t": (3,)},
                                lambda v: -total(v.t * log_softmax(v.z))),
    "log_softmax of a matrix": ("L = -sum(T * log_softmax(Z))", {"Z": (3, 2), "T": (3, 2)},
                                lambda v: -total(v.T * log_softmax(v.Z))),
    "cross-entropy of a layer": ("z = W @ x + b; L = -sum(t * log_softmax(z))",
                                 {"W": (3, 2), "x": (2,), "b": (3,), "t": (3,)},
                                 lambda v: -total(v.t * log_softmax(matmul(v.W, v.x) + v.b))),
    # literals with input entries
    "vector literal": ("v = [x, y]; L = sum(tanh(v) * [2, -1]) + v @ v", {"x": (), "y": ()},
                       lambda v: total(tanh(literal([v.x, v.y])) * literal([2, -1]))
                       + matmul(literal([v.x, v.y]), literal([v.x, v.y]))),
    "matrix literal": ("M = [[a, 1], [0, b]]; L = sum((M @ u)^2)", {"a": (), "b": (), "u": (2,)},
                       lambda v: total(matmul(literal([[v.a, 1], [0, v.b]]), v.u) ** 2)),
    "literal of expressions": ("L = sum([sum(x), x @ x, 2*s] * [1, 2, 3])", {"x": (2,), "s": ()},
                               lambda v: total(literal([total(v.x), matmul(v.x, v.x), 2 * v.s])
                                               * literal([1, 2, 3]))),
    # broadcasting
    "bias (N, n) + (n,)": ("Y = X @ W + b; L = sum(Y^2) / 2", {"X": (3, 2), "W": (2, 2), "b": (2,)},
                           lambda v: total((matmul(v.X, v.W) + v.b) ** 2) / 2),
    "(3, 1) + (3,): both grow": ("L = sum(tanh(a + b))", {"a": (3, 1), "b": (3,)},
                                 lambda v: total(tanh(v.a + v.b))),
    "(1, 3) * (2, 1): both grow": ("L = sum(exp(r * c))", {"r": (1, 3), "c": (2, 1)},
                                   lambda v: total(exp(v.r * v.c))),
    "scalar * matrix": ("L = sum(s * A^2) + sum((s * A) @ x)", {"s": (), "A": (2, 3), "x": (3,)},
                        lambda v: total(v.s * v.A ** 2) + total(matmul(v.s * v.A, v.x))),
    "(n,) - (N, n)": ("L = sum((b - A)^2)", {"A": (2, 3), "b": (3,)}, lambda v: total((v.b - v.A) ** 2)),
    "division broadcast": ("L = sum(A / (1 + b^2)) + sum(b / (2 + A^2))", {"A": (2, 3), "b": (3,)},
                           lambda v: total(v.A / (1 + v.b ** 2)) + total(v.b / (2 + v.A ** 2))),
    "power with a tensor exponent": ("L = sum((1 + A^2) ^ b)", {"A": (2, 3), "b": (3,)},
                                     lambda v: total((1 + v.A ** 2) ** v.b)),
    "max of a matrix and a column": ("L = sum(max(A, c) * A)", {"A": (2, 3), "c": (2, 1)},
                                     lambda v: total(maximum(v.A, v.c) * v.A)),
    "(1,) with (3,)": ("L = sum(u * x + u)", {"u": (1,), "x": (3,)}, lambda v: total(v.u * v.x + v.u)),
    "constants with tensors": ("L = sum(2 ^ A + 1 / (1 + A^2) - +A / 3) + sum(s * [1, 2] + sum([3, 4]) * s)",
                               {"A": (2, 3), "s": ()},
                               lambda v: total(2 ** v.A + 1 / (1 + v.A ** 2) - v.A / 3)
                               + total(v.s * literal([1, 2]) + total(literal([3, 4])) * v.s)),
    # fan-out: a name used twice
    "fan-out": ("h = tanh(W @ x); L = sum(h * h) + sum(W) * sum(h)", {"W": (2, 3), "x": (3,)},
                lambda v: total(tanh(matmul(v.W, v.x)) * tanh(matmul(v.W, v.x)))
                + total(v.W) * total(tanh(matmul(v.W, v.x)))),
    "x @ x and x * x": ("L = x @ x + sum(x * x * x)", {"x": (3,)},
                        lambda v: matmul(v.x, v.x) + total(v.x * v.x * v.x)),
    # entry-wise functions
    "entry-wise tanh sigmoid relu exp log": (
        "L = sum(tanh(A) * sigmoid(A) + relu(A) * exp(A / 4) + log(1 + A^2))", {"A": (2, 3)},
        lambda v: total(tanh(v.A) * sigmoid(v.A) + relu(v.A) * exp(v.A / 4) + log(1 + v.A ** 2))),
    "relu of a layer": ("L = sum(relu(W @ x + b))", {"W": (3, 2), "x": (2,), "b": (3,)},
                        lambda v: total(relu(matmul(v.W, v.x) + v.b))),
    # the network of SPEC §1b
    "two-layer network": ("h = tanh(W1 @ x + b1); y = W2 @ h + b2; L = sum((y - t)^2)/2",
                          {"W1": (2, 3), "x": (3,), "b1": (2,), "W2": (2, 2), "b2": (2,), "t": (2,)},
                          lambda v: total((matmul(v.W2, tanh(matmul(v.W1, v.x) + v.b1)) + v.b2 - v.t) ** 2) / 2),
}


def _case_point(name, shapes, oracle):
    """A fixed point per case, off the kinks of relu and max."""
    rng = random.Random(name)
    for _ in range(50):
        point = random_point(shapes, rng)
        if not near_kink(oracle, shapes, point):
            return point
    raise AssertionError("no point off the kink")  # pragma: no cover


@pytest.mark.parametrize("name", list(CASES))
def test_each_op_against_sympy_and_differences(name):
    program, shapes, oracle = CASES[name]
    point = _case_point(name, shapes, oracle)
    graph, report, expected = assert_matches_sympy(program, shapes, oracle, point)
    assert_matches_differences(graph, report, oracle, shapes, point)
    assert_tangent_matches(graph, report, expected, shapes, random.Random(name))
    assert_checks_ok(report)
    assert_numeric_equals_exact(program, shapes, point, graph, report)


@pytest.mark.parametrize("function", ["max", "min"])
def test_max_and_min_in_numeric_mode(function):
    """Regression: numeric mode crashed (TypeError) on max/min of tensors: their partial is SymPy's
    Heaviside(a - b, 1/2), two arguments, and the numpy library's Heaviside took one. A tie splits
    the gradient evenly, as in the scalar engine."""
    program = f"L = sum({function}(A, c) * A)"
    A = _rationals([[sp.Integer(1), sp.Integer(-2)], [sp.Integer(3), sp.Rational(1, 2)]])
    c = _rationals([[sp.Integer(1)], [sp.Integer(0)]])  # a tie at [0, 0]
    graph, report = _analyse(program, {"A": A, "c": c})
    exact = [[v.exact for v in row] for row in report.trace.gradients[graph.names["A"]].entries]
    graph, report = _analyse(program, {"A": A, "c": c}, mode=NumberMode.NUMERIC, check=CheckKind.NONE)
    numeric = [[v.approx for v in row] for row in report.trace.gradients[graph.names["A"]].entries]
    assert numeric == [[float(x) for x in row] for row in exact]
    assert exact[0][0] == sp.Rational(3, 2)  # 1 · (1/2 + 1): half of the tie, plus max(A, c) itself


@pytest.mark.parametrize("mode, reason", [(NumberMode.EXACT, "the value would be complex (-0.693147 + 3.14159i)"),
                                          (NumberMode.NUMERIC, "the value is not a finite number")])
def test_a_domain_error_names_the_entry(mode, reason):
    """Regression: numeric mode said "'log(A)' is undefined at this point: the value at entry [0,1]
    is not a finite number"; both modes now name the entry where the exact mode does."""
    A = _rationals([[sp.Integer(1), sp.Rational(-1, 2)], [sp.Integer(2), sp.Integer(3)]])
    graph = build_graph(parse_program("L = sum(log(A))"), "L = sum(log(A))")
    with pytest.raises(BackpropError) as caught:
        analyse(graph, {"A": A}, mode=mode)
    assert caught.value.message == f"'log(A)' is undefined at entry [0,1]: {reason}"


def test_rational_programs_are_exact():
    """Without transcendental functions, every gradient entry is an exact rational."""
    program, shapes, oracle = CASES["bias (N, n) + (n,)"]
    point = _case_point("bias", shapes, oracle)
    graph, report = run(program, point, shapes)
    for name in shapes:
        for value in report.trace.gradients[graph.names[name]].entries.flat:
            assert isinstance(value.exact, sp.Rational)


def test_forward_values_are_the_oracles():
    program, shapes, oracle = CASES["two-layer network"]
    point = _case_point("net", shapes, oracle)
    graph, report = run(program, point, shapes)
    with mpmath.workdps(50):
        want = evaluate(oracle, numeric_env(point, shapes), "mpmath")
    output = report.trace.values[graph.output]
    assert output.shape == ()
    assert_close(output.entries[()].approx, want, 1e-40, "L")
    hidden = report.trace.values[graph.names["h"]]
    assert hidden.shape == (2,)


def test_float64_bindings_take_the_numeric_mode():
    """A float64 array (as from .npy) is numeric mode under AUTO, with the exact mode's gradients."""
    program, shapes, oracle = CASES["two-layer network"]
    point = _case_point("float64", shapes, oracle)
    exact_graph, exact_report = run(program, point, shapes)
    graph, report = run(program, point, shapes, mode=NumberMode.AUTO, check=CheckKind.NONE, dtype=np.float64)
    assert report.trace.forward.numeric
    assert_numeric_equals_exact(program, shapes, point, exact_graph, exact_report, dtype=np.float64)


# ---------------------------------------------------------------- 2. random programs (hypothesis)


def broadcastable(a, b) -> bool:
    return all(m == n or 1 in (m, n) for m, n in zip(reversed(a), reversed(b)))


def broadcast_shape(a, b):
    rank = max(len(a), len(b))
    pa, pb = (1,) * (rank - len(a)) + tuple(a), (1,) * (rank - len(b)) + tuple(b)
    return tuple(max(m, n) for m, n in zip(pa, pb))


def matmul_shape(a, b):
    return tuple(a[:-1]) + tuple(b[1:])


UNARY_OPS = {  # text of the operand → (text, oracle)
    "tanh": ("tanh({})", tanh),
    "sigmoid": ("sigmoid({})", sigmoid),
    "relu": ("relu({})", relu),
    "gauss": ("exp(-{}^2)", lambda a: exp(-(a ** 2))),  # exp of something bounded: no overflow
    "log": ("log(1 + {}^2)", lambda a: log(1 + a ** 2)),
    "neg": ("-{}", lambda a: -a),
    "square": ("{}^2", lambda a: a ** 2),
    "half": ("{} / 2", lambda a: a / 2),
}
BINARY_OPS = {
    "+": ("{} + {}", lambda a, b: a + b),
    "-": ("{} - {}", lambda a, b: a - b),
    "*": ("{} * {}", lambda a, b: a * b),
    "/": ("{} / (1 + {}^2)", lambda a, b: a / (1 + b ** 2)),
}
OPS = ["unary", "binary", "matmul", "transpose", "reduce", "outer", "softmax", "literal"]
SHAPES = st.one_of(st.just(()), st.tuples(st.integers(1, 3)), st.tuples(st.integers(1, 3), st.integers(1, 3)))


@dataclass
class Program:
    text: str
    shapes: dict  # the inputs it uses
    oracle: object  # env → the output, an oracle scalar

    def __repr__(self):
        return f"Program({self.text!r}, {self.shapes})"


def _operand(draw, available):
    """The newest value half of the time (so the program is a chain), else any earlier one (fan-out)."""
    if draw(st.booleans()):
        return available[-1]
    return draw(st.sampled_from(available))


def _statement(draw, available):
    """One new value from the available ones: (text, shape, oracle over the values so far)."""
    op = draw(st.sampled_from(OPS))
    a, shape_a = _operand(draw, available)
    if op == "binary":
        partners = [(n, s) for n, s in available if broadcastable(s, shape_a)]
        b, shape_b = draw(st.sampled_from(partners))
        text, f = BINARY_OPS[draw(st.sampled_from(sorted(BINARY_OPS)))]
        if draw(st.booleans()):
            (a, shape_a), (b, shape_b) = (b, shape_b), (a, shape_a)
        return text.format(a, b), broadcast_shape(shape_a, shape_b), lambda v: f(v[a], v[b])
    if op == "matmul":
        pairs = []
        for x, sx in available:
            for y, sy in available:
                for tx in ((False, True) if len(sx) == 2 else (False,)):
                    for ty in ((False, True) if len(sy) == 2 else (False,)):
                        ex, ey = (sx[::-1] if tx else sx), (sy[::-1] if ty else sy)
                        if ex and ey and ex[-1] == ey[0]:
                            pairs.append((x, tx, ex, y, ty, ey))
        if pairs:
            x, tx, ex, y, ty, ey = draw(st.sampled_from(pairs))
            text = f"{x}{'.T' if tx else ''} @ {y}{'.T' if ty else ''}"
            pick = lambda v, name, t: transpose(v[name]) if t else v[name]  # noqa: E731
            return text, matmul_shape(ex, ey), lambda v: matmul(pick(v, x, tx), pick(v, y, ty))
    if op == "transpose" and len(shape_a) == 2:
        text = draw(st.sampled_from(["{}.T", "transpose({})"])).format(a)
        return text, shape_a[::-1], lambda v: transpose(v[a])
    if op == "reduce":
        axis = draw(st.sampled_from([None] + ([0, -1] if shape_a else []) + ([1] if len(shape_a) == 2 else [])))
        name = draw(st.sampled_from(["sum", "mean"]))
        text = f"{name}({a})" if axis is None else f"{name}({a}, {axis})"
        shape = () if axis is None else tuple(n for k, n in enumerate(shape_a) if k != axis % len(shape_a))
        return text, shape, lambda v: total(v[a], axis, mean=name == "mean")
    if op == "outer":
        vectors = [(n, s) for n, s in available if len(s) == 1]
        if vectors:
            (x, sx), (y, sy) = draw(st.sampled_from(vectors)), draw(st.sampled_from(vectors))
            return f"outer({x}, {y})", (sx[0], sy[0]), lambda v: outer(v[x], v[y])
    if op == "softmax" and shape_a:
        name = draw(st.sampled_from(["softmax", "log_softmax"]))
        f = softmax if name == "softmax" else log_softmax
        return f"{name}({a})", shape_a, lambda v: f(v[a])
    if op == "literal":
        layout = draw(st.sampled_from([(2,), (3,), (2, 2), (1, 2)]))
        entries = []
        for _ in range(layout[0] * (layout[1] if len(layout) == 2 else 1)):
            kind = draw(st.sampled_from(["value", "sum", "number"]))
            x, sx = draw(st.sampled_from(available))
            if kind == "value" and sx == ():
                entries.append((x, lambda v, x=x: v[x]))
            elif kind in ("value", "sum"):
                entries.append((f"sum({x})", lambda v, x=x: total(v[x])))
            else:
                n = draw(st.integers(-2, 2))
                entries.append((str(n), lambda v, n=n: n))
        if len(layout) == 1:
            text = "[" + ", ".join(t for t, _ in entries) + "]"
            return text, layout, lambda v: literal([f(v) for _, f in entries])
        rows = [entries[r * layout[1]:(r + 1) * layout[1]] for r in range(layout[0])]
        text = "[" + ", ".join("[" + ", ".join(t for t, _ in row) + "]" for row in rows) + "]"
        return text, layout, lambda v: literal([[f(v) for _, f in row] for row in rows])
    text, f = UNARY_OPS[draw(st.sampled_from(sorted(UNARY_OPS)))]  # always applicable
    return text.format(a), shape_a, lambda v: f(v[a])


@st.composite
def tensor_programs(draw):
    inputs = {name: draw(SHAPES) for name in ["p", "q", "r"][: draw(st.integers(1, 3))]}
    available = list(inputs.items())
    statements = []
    for k in range(draw(st.integers(1, 4))):
        text, shape, f = _statement(draw, available)
        name = f"v{k}"
        statements.append((name, text, f))
        available.append((name, shape))
    last = available[-1][0]
    reduction = draw(st.sampled_from(["sum", "mean"]))
    text = "; ".join(f"{name} = {t}" for name, t, _ in statements) + f"; L = {reduction}({last})"
    used = {name: shape for name, shape in inputs.items()
            if any(re.search(rf"\b{name}\b", t) for _, t, _ in statements)}

    def oracle(env):
        values = dict(env)
        for name, _, f in statements:
            values[name] = f(values)
        return total(values[last], mean=reduction == "mean")

    return Program(text, used, oracle)


# TENSOR_EXAMPLES=2000 for a longer search than the suite's 40
@settings(max_examples=int(os.environ.get("TENSOR_EXAMPLES", 40)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(tensor_programs(), st.randoms(use_true_random=False))
def test_random_programs_against_sympy_and_differences(program, rng):
    shapes = program.shapes
    assume(shapes)  # a program of literals alone has no inputs
    point = random_point(shapes, rng)
    assume(not near_kink(program.oracle, shapes, point))
    graph, report, expected = assert_matches_sympy(program.text, shapes, program.oracle, point)
    assert_matches_differences(graph, report, program.oracle, shapes, point)
    assert_tangent_matches(graph, report, expected, shapes, rng)
    assert_checks_ok(report)
    assert_numeric_equals_exact(program.text, shapes, point, graph, report)


# ---------------------------------------------------------------- 4. the engine's own check


def _rationals(rows):
    return np.array(rows, dtype=object) if not isinstance(rows, np.ndarray) else rows


def _matrix(rng, shape):
    array = np.empty(shape, dtype=object)
    for i in indices(shape):
        q = rng.choice(POINT_VALUES)
        array[i] = sp.Rational(q.numerator, q.denominator)
    return array


def _analyse(program, bindings, **options):
    graph = build_graph(parse_program(program), program)
    return graph, analyse(graph, bindings, **options)


def test_check_at_a_kink_says_kink_not_mismatch():
    """relu at 0: the analytic gradient takes relu'(0) = 0, the central difference sees 1/2."""
    W = _rationals([[sp.Integer(1), sp.Integer(-1)], [sp.Integer(2), sp.Integer(1)]])
    x = _rationals([sp.Integer(1), sp.Integer(1)])  # W @ x = [0, 3]: the first row sits on the kink
    graph, report = _analyse("L = sum(relu(W @ x))", {"W": W, "x": x})
    checks = {graph.nodes[c.node].name: c for c in report.checks}
    assert checks["W"].status is CheckStatus.KINK
    assert checks["x"].status is CheckStatus.KINK
    gradient = report.trace.gradients[graph.names["W"]]
    assert [[v.exact for v in row] for row in gradient.entries] == [[0, 0], [1, 1]]  # relu'(0) = 0
    assert checks["W"].entry_status[1, 0] is CheckStatus.OK  # the row off the kink is fine
    assert checks["W"].entry_status[0, 0] is CheckStatus.KINK
    assert report.ok  # a kink is not a failure


def test_check_reports_a_wrong_rule_as_mismatch(monkeypatch):
    """The check is a real one: a matmul rule off by a factor of 2 is a mismatch, entry by entry."""
    rng = random.Random(5)
    bindings = {"W": _matrix(rng, (2, 3)), "x": _matrix(rng, (3,))}
    pull = tensors.MatmulLeft.pull
    monkeypatch.setattr(tensors.MatmulLeft, "pull", lambda self, arrays, upstream: arrays.mul(
        pull(self, arrays, upstream), arrays.constant(sp.Integer(2))))
    graph, report = _analyse("L = sum(tanh(W @ x))", bindings)
    checks = {graph.nodes[c.node].name: c for c in report.checks}
    assert checks["W"].status is CheckStatus.MISMATCH
    assert checks["x"].status is CheckStatus.OK
    assert not report.ok


def _big_layer(rng):
    """W (6, 6) and x, b (6,): 48 entries, past the 32 checked one by one."""
    return {"W": _matrix(rng, (6, 6)), "x": _matrix(rng, (6,)), "b": _matrix(rng, (6,))}


def test_past_32_entries_the_check_is_sampled():
    bindings = _big_layer(random.Random(7))
    graph, report = _analyse("L = sum(tanh(W @ x + b)^2)", bindings)
    assert report.method.startswith("per tensor"), report.method
    assert "30-digit arithmetic" in report.method
    assert [graph.nodes[c.node].name for c in report.checks] == ["W", "x", "b"]
    assert_checks_ok(report)
    sampled = report.checks[0]
    assert sum(e is not None for e in sampled.errors.flat) == 3  # TENSOR_CHECK_SAMPLES single entries


def test_32_entries_are_still_checked_one_by_one():
    rng = random.Random(8)
    bindings = {"W": _matrix(rng, (4, 6)), "x": _matrix(rng, (6,)), "b": _matrix(rng, (2,))}  # 32 entries
    graph, report = _analyse("L = sum(tanh(W @ x)) + sum(b^3)", bindings)
    assert report.method.startswith("central difference per entry"), report.method
    assert_checks_ok(report)
    assert all(e is not None for c in report.checks for e in c.errors.flat)


def test_sampled_check_reports_a_wrong_rule(monkeypatch):
    bindings = _big_layer(random.Random(9))
    pull = tensors.EntryWise.pull
    monkeypatch.setattr(tensors.EntryWise, "pull", lambda self, arrays, upstream: arrays.mul(
        pull(self, arrays, upstream), arrays.constant(sp.Rational(11, 10))))
    graph, report = _analyse("L = sum(tanh(W @ x + b))", bindings)
    assert report.method.startswith("per tensor")
    assert {c.status for c in report.checks} == {CheckStatus.MISMATCH}


def test_numeric_mode_checks_ok():
    rng = random.Random(10)
    bindings = {"W": _matrix(rng, (3, 2)), "x": _matrix(rng, (2,)), "t": _matrix(rng, (3,))}
    graph, report = _analyse("z = W @ x; L = -sum(t * log_softmax(z))", bindings, mode=NumberMode.NUMERIC)
    assert report.trace.forward.numeric
    assert_checks_ok(report)


# ---------------------------------------------------------------- 6. scalar programs stay scalar


@pytest.mark.parametrize("program, bindings", [
    ("L = (w*x + b - t)^2 / 2", {"w": sp.Integer(3), "x": sp.Integer(2), "b": sp.Integer(1), "t": sp.Integer(5)}),
    ("h = tanh(w1*x1 + w2*x2 + b); L = log(1 + exp(-h))",
     {"w1": sp.Rational(1, 2), "x1": sp.Integer(1), "w2": sp.Integer(-1), "x2": sp.Integer(2), "b": sp.Integer(0)}),
    ("y = max(a, b) * relu(a - b); f = y^2", {"a": sp.Integer(2), "b": sp.Integer(1)}),
])
def test_scalar_programs_take_the_scalar_engine(program, bindings):
    graph = build_graph(parse_program(program), program)
    assert program_shapes(graph, bindings) is None
    report = analyse(graph, bindings)
    assert not report.trace.forward.tensor
    assert all(not hasattr(report.trace.gradients[i], "shape") for i in graph.inputs)


# ---------------------------------------------------------------- known bugs outside tensors.py and shapes.py
# Bugs found here and fixed outside tensors.py and shapes.py, kept as regression tests.


def test_check_of_an_input_the_output_does_not_use():
    rng = random.Random(11)
    graph, report = _analyse("h = W @ x; L = sum(x^2)", {"W": _matrix(rng, (2, 3)), "x": _matrix(rng, (3,))})
    checks = {graph.nodes[c.node].name: c for c in report.checks}
    assert [v.exact for v in report.trace.gradients[graph.names["W"]].entries.flat] == [0] * 6
    assert checks["W"].status is CheckStatus.OK


def test_sampled_check_past_2000_entries():
    rng = random.Random(12)
    bindings = {"W": _matrix(rng, (45, 45)), "x": _matrix(rng, (45,))}
    graph, report = _analyse("L = sum(tanh(W @ x))", bindings)
    assert report.trace.forward.numeric
    assert "numpy long double arithmetic" in report.method
    assert_checks_ok(report)


def test_symbolic_mode_in_a_tensor_program():
    """An unbound input in a tensor program: the gradients as formulas, checked at random points."""
    graph, report = _analyse("L = sum(W * s)", {"W": _rationals([[sp.Integer(1), sp.Integer(-2)]])})
    assert exact_text(report.formulas[graph.names["W"]]) == "s"
    assert exact_text(report.formulas[graph.names["s"]]) == "sum(W)"
    assert all(c.status is CheckStatus.OK for c in report.checks)
