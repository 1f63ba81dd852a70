"""Tensors as a number domain: numpy arrays whose entries are another domain's numbers.

`Tensor(entry)` wraps any scalar domain of numbers.py — exact (`Tracked`: entries are `Value`s,
rationals stay rational and tanh(1) stays), `Decimal(n)` (the finite-difference check), `Float`
(float64 arrays, the numeric mode) — so the forward loop, the local-derivative step and both
sweeps run unchanged over vectors and matrices. numpy is the container: an object array keeps
exact SymPy entries under NumPy's own broadcasting and indexing rules, a float64 array is the
vectorised numeric mode; nothing is nested lists and hand-written loops.

A local derivative of a tensor op is never a Jacobian. It is a *linear map* that knows how to
pull an upstream gradient back (reverse mode) and push a tangent forward (forward mode):

- an entry-wise op (`+ - * / ^` and every function of §1) has, per argument, the array of its
  SymPy-derived partials, entry by entry; the upstream is multiplied by it and — where the
  argument was broadcast — summed back to the argument's shape, in one helper (`unbroadcast`);
- the structural ops (`@`, `.T`, `sum`, `mean`, `outer`, `softmax`, `log_softmax`, a literal)
  have their linear-algebra rules here, one class each; tests/test_tensors.py checks every one
  against SymPy's derivative of the flattened expression, entry by entry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import reduce

import numpy as np
from fractions import Fraction

from backprop_cli.errors import BackpropError
from backprop_cli.numbers import LIBRARIES, Library, Value, compile_form, compile_part, domain_error
from backprop_cli.primitives import placeholder
from backprop_cli.templates import constant_float, template
from backprop_cli.shapes import Shape, Shapes

# ---------------------------------------------------------------- numpy as a library of templates


def _numpy_constant(form: tuple):
    value = constant_float(form)
    return lambda: value


def _numpy_power(base, exponent):
    return np.power(base, exponent)


_erf = np.vectorize(math.erf, otypes=[float])  # numpy has no erf; math's, entry by entry
NUMPY_LIBRARY = Library(np, {
    # SymPy writes max's and min's partials as Heaviside(a - b, 1/2): the value at 0 comes as an argument
    "Abs": np.abs, "sign": np.sign, "Heaviside": lambda z, at_zero=0.5: np.heaviside(z, float(at_zero)), "erf": _erf,
    "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
    "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
}, _numpy_constant, _numpy_power, vectorised=True)
LIBRARIES["numpy"] = NUMPY_LIBRARY


def entry_text(index: tuple[int, ...]) -> str:
    return "[" + ",".join(str(i) for i in index) + "]"


# ---------------------------------------------------------------- arrays of a domain's numbers


def as_object(x) -> np.ndarray:
    """A result of numpy on objects as an array again (numpy returns a 0-d result as its entry)."""
    if isinstance(x, np.ndarray):
        return x
    array = np.empty((), dtype=object)
    array[()] = x
    return array


class ObjectArrays:
    """Arrays of exact values or decimals: entry-wise arithmetic through the entry domain."""

    def __init__(self, entry):
        self.entry = entry
        self._add = np.frompyfunc(entry.add, 2, 1)
        self._mul = np.frompyfunc(entry.mul, 2, 1)
        self.minus_one = entry.constant(Fraction(-1))

    def scalar(self, x) -> np.ndarray:
        return as_object(x)

    def full(self, shape: Shape, x) -> np.ndarray:
        array = np.empty(shape, dtype=object)
        for index in np.ndindex(shape):
            array[index] = x
        return array

    def constant(self, exact) -> np.ndarray:
        return as_object(self.entry.constant(exact))

    def add(self, a, b):
        return as_object(self._add(a, b))

    def mul(self, a, b):
        return as_object(self._mul(a, b))

    def neg(self, a):
        return self.mul(a, self.minus_one)

    def sum(self, a, axis=None, keepdims=False):
        if axis is None:
            total = reduce(self.entry.add, a.flat)
            return self.full((1,) * a.ndim, total) if keepdims else as_object(total)
        return as_object(self._add.reduce(a, axis=axis, keepdims=keepdims))

    def matmul(self, a, b):
        left = a if a.ndim == 2 else a[None, :]
        right = b if b.ndim == 2 else b[:, None]
        product = self.sum(self.mul(left[:, :, None], right[None, :, :]), axis=1)
        return _squeeze_matmul(product, a, b)

    def apply(self, evaluate, node, args: list[np.ndarray]) -> np.ndarray:
        """A scalar template's checked evaluation, entry by entry, with broadcasting."""
        arrays = np.broadcast_arrays(*args)
        result = np.empty(arrays[0].shape, dtype=object)
        for index in np.ndindex(result.shape):
            try:
                result[index] = evaluate(node, [a[index] for a in arrays])
            except BackpropError as error:
                if result.shape:
                    error.message = error.message.replace(" is undefined at this point",
                                                          f" is undefined at entry {entry_text(index)}", 1)
                raise
        return result

    def divide_by(self, a, n: int):
        return self.mul(a, self.entry.constant(Fraction(1, n)))

    def exp(self, node, a):
        return self.apply(self.entry.function(template("exp", (None,)), "value"), node, [a])

    def log(self, node, a):
        return self.apply(self.entry.function(template("ln", (None,)), "value"), node, [a])

    def divide(self, node, a, b):
        return self.apply(self.entry.function(template("div", (None, None)), "value"), node, [a, b])

    def softmax(self, node, z):  # exact: exp(z_i) / Σ exp(z_j), no shift needed
        e = self.exp(node, z)
        return self.divide(node, e, self.sum(e, axis=-1, keepdims=True))

    def log_softmax(self, node, z):
        return self.add(z, self.neg(self.log(node, self.sum(self.exp(node, z), axis=-1, keepdims=True))))


class FloatArrays:
    """float64 (or long double) arrays: numpy's own arithmetic, vectorised."""

    def __init__(self, entry, dtype=np.float64):
        self.entry, self.dtype = entry, dtype

    def scalar(self, x) -> np.ndarray:
        return np.asarray(x, dtype=self.dtype)

    def full(self, shape: Shape, x) -> np.ndarray:
        return np.full(shape, x, dtype=self.dtype)

    def constant(self, exact) -> np.ndarray:
        return np.asarray(float(exact), dtype=self.dtype)

    def add(self, a, b):
        return np.add(a, b)

    def mul(self, a, b):
        return np.multiply(a, b) + 0.0  # + 0.0: as Float.mul, no -0.0

    def neg(self, a):
        return np.negative(a)

    def sum(self, a, axis=None, keepdims=False):
        return np.asarray(np.sum(a, axis=axis, keepdims=keepdims))

    def matmul(self, a, b):
        return np.asarray(np.matmul(a, b))

    def apply(self, compiled, node, args):
        with np.errstate(all="ignore"):
            result = np.asarray(compiled(*args), dtype=self.dtype)
        if not np.all(np.isfinite(result)):
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(result))[0]) if result.shape else ()
            error = domain_error(node, "the value is not a finite number")
            if index:  # worded as the exact mode words it: "'log(A)' is undefined at entry [0,1]: ..."
                error.message = error.message.replace(" is undefined at this point",
                                                      f" is undefined at entry {entry_text(index)}", 1)
            raise error
        return result

    def divide_by(self, a, n: int):
        return a / n

    def softmax(self, node, z):
        shifted = np.exp(z - np.max(z, axis=-1, keepdims=True))
        return shifted / np.sum(shifted, axis=-1, keepdims=True)

    def log_softmax(self, node, z):
        top = np.max(z, axis=-1, keepdims=True)
        return z - (top + np.log(np.sum(np.exp(z - top), axis=-1, keepdims=True)))


def _squeeze_matmul(product: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(m, k) back to NumPy's 1-D results: (n,)@(n,k) → (k,), (m,n)@(n,) → (m,), (n,)@(n,) → ()."""
    if a.ndim == 1:
        product = product[0]
    if b.ndim == 1:
        product = product[..., 0]
    return as_object(product) if product.dtype == object else product


def unbroadcast(arrays, gradient: np.ndarray, shape: Shape) -> np.ndarray:
    """A gradient summed back to an operand's shape: a bias (n,) added to every row of a batch
    (N, n) gets the sum of the rows' gradients — the fan-out that broadcasting is."""
    while gradient.ndim > len(shape):
        gradient = arrays.sum(gradient, axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and gradient.shape[axis] != 1:
            gradient = arrays.sum(gradient, axis=axis, keepdims=True)
    return gradient


# ---------------------------------------------------------------- local derivatives as linear maps


@dataclass
class EntryWise:
    """∂c/∂a entry by entry (`local`, in the broadcast shape): the gradient flows back as
    upstream * local, summed over any axis the operand was broadcast along."""

    local: np.ndarray
    shape: Shape  # the operand's own shape
    rule = "entrywise"

    def pull(self, arrays, upstream):
        return unbroadcast(arrays, arrays.mul(upstream, self.local), self.shape)

    def push(self, arrays, tangent):
        return arrays.mul(self.local, tangent)


def _as_matrix(x: np.ndarray, row: bool) -> np.ndarray:
    if x.ndim == 2:
        return x
    return x[None, :] if row else x[:, None]


@dataclass
class MatmulLeft:
    """c = a @ b, for a: ∂L/∂a = δ·bᵀ (outer(δ, b) when both are vectors)."""

    other: np.ndarray  # b
    shape: Shape  # a's
    rule = "matmul_left"

    def pull(self, arrays, upstream):
        b = _as_matrix(self.other, row=False)
        delta = upstream.reshape(-1, b.shape[1]) if upstream.ndim < 2 else upstream
        return arrays.matmul(delta, b.T).reshape(self.shape)

    def push(self, arrays, tangent):
        return arrays.matmul(tangent, self.other)


@dataclass
class MatmulRight:
    """c = a @ b, for b: ∂L/∂b = aᵀ·δ."""

    other: np.ndarray  # a
    shape: Shape  # b's
    rule = "matmul_right"

    def pull(self, arrays, upstream):
        a = _as_matrix(self.other, row=True)
        delta = upstream.reshape(a.shape[0], -1)
        return arrays.matmul(a.T, delta).reshape(self.shape)

    def push(self, arrays, tangent):
        return arrays.matmul(self.other, tangent)


@dataclass
class Transpose:
    rule = "transpose"

    def pull(self, arrays, upstream):
        return upstream.T

    def push(self, arrays, tangent):
        return tangent.T


@dataclass
class Reduce:
    """sum(x) or sum(x, axis): the gradient is copied back to every entry it summed; mean's is
    also divided by the count."""

    shape: Shape  # x's
    axis: int | None
    mean: bool
    rule = "reduce"

    @property
    def count(self) -> int:
        if self.axis is None:
            return int(np.prod(self.shape)) if self.shape else 1
        return self.shape[self.axis]

    def pull(self, arrays, upstream):
        spread = upstream if self.axis is None else np.expand_dims(upstream, self.axis)
        copied = np.broadcast_to(spread, self.shape).copy() if upstream.dtype != object else _copy_to(spread, self.shape)
        return arrays.divide_by(copied, self.count) if self.mean else copied

    def push(self, arrays, tangent):
        total = arrays.sum(tangent, axis=self.axis)
        return arrays.divide_by(total, self.count) if self.mean else total


def _copy_to(array: np.ndarray, shape: Shape) -> np.ndarray:
    return as_object(np.broadcast_to(array, shape).copy())


@dataclass
class OuterLeft:
    """c = outer(a, b): for a, ∂L/∂a = δ @ b."""

    other: np.ndarray
    rule = "outer_left"

    def pull(self, arrays, upstream):
        return arrays.matmul(upstream, self.other)

    def push(self, arrays, tangent):
        return arrays.mul(tangent[:, None], self.other[None, :])


@dataclass
class OuterRight:
    """c = outer(a, b): for b, ∂L/∂b = δᵀ @ a."""

    other: np.ndarray
    rule = "outer_right"

    def pull(self, arrays, upstream):
        return arrays.matmul(upstream.T, self.other)

    def push(self, arrays, tangent):
        return arrays.mul(self.other[:, None], tangent[None, :])


@dataclass
class Softmax:
    """s = softmax(z) along the last axis: ∂L/∂z = s * (δ - Σ δ*s), row by row (the Jacobian
    diag(s) - s·sᵀ, never formed)."""

    s: np.ndarray
    rule = "softmax"

    def pull(self, arrays, upstream):
        inner = arrays.sum(arrays.mul(upstream, self.s), axis=-1, keepdims=True)
        return arrays.mul(self.s, arrays.add(upstream, arrays.neg(inner)))

    push = pull  # the Jacobian is symmetric


@dataclass
class LogSoftmax:
    """o = log_softmax(z): ∂L/∂z = δ - softmax(z) * Σ δ, row by row."""

    s: np.ndarray  # softmax(z)
    rule = "log_softmax"

    def pull(self, arrays, upstream):
        total = arrays.sum(upstream, axis=-1, keepdims=True)
        return arrays.add(upstream, arrays.neg(arrays.mul(self.s, total)))

    def push(self, arrays, tangent):
        inner = arrays.sum(arrays.mul(self.s, tangent), axis=-1, keepdims=True)
        return arrays.add(tangent, arrays.neg(inner))


@dataclass
class Entry:
    """A literal's entry k: it receives entry k of the literal's gradient."""

    position: int
    layout: Shape
    rule = "literal"

    def pull(self, arrays, upstream):
        return arrays.scalar(upstream.reshape(-1)[self.position]) if upstream.dtype == object else np.asarray(
            upstream.reshape(-1)[self.position])

    def push(self, arrays, tangent):
        result = arrays.full(self.layout, arrays.entry.zero)
        result.reshape(-1)[self.position] = tangent[()] if isinstance(tangent, np.ndarray) else tangent
        return result


# ---------------------------------------------------------------- the structural ops


@dataclass(frozen=True)
class StructuralTemplate:
    """A tensor op's stand-in for primitives.Template: every argument is a variable; its rules
    are in `Tensor.function`, not SymPy partials."""

    op: str
    arity: int
    variable_positions: tuple[int, ...]
    params: tuple[int, ...] | None
    value: None = None
    defined: bool = True
    compiled: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def partials(self) -> tuple[None, ...]:
        return (None,) * self.arity

    @property
    def variables(self) -> tuple:
        """The placeholders of its arguments (SymPy's: symbolic tensor formulas)."""
        return tuple(placeholder(i) for i in range(self.arity))


def structural_template(node) -> StructuralTemplate:
    n = len(node.args)
    return StructuralTemplate(node.op, n, tuple(range(n)), node.params)


def _forward(arrays, node, args: list[np.ndarray]) -> np.ndarray:
    op = node.op
    if op == "matmul":
        return arrays.matmul(args[0], args[1])
    if op == "transpose":
        return args[0].T
    if op in ("reduce_sum", "reduce_mean"):
        axis = node.params[0] if node.params else None
        total = arrays.sum(args[0], axis=axis)
        count = args[0].size if axis is None else args[0].shape[axis]
        return arrays.divide_by(total, count) if op == "reduce_mean" else total
    if op == "outer":
        return arrays.mul(args[0][:, None], args[1][None, :])
    if op == "softmax":
        return arrays.softmax(node, args[0])
    if op == "log_softmax":
        return arrays.log_softmax(node, args[0])
    if op == "array":
        result = arrays.full(tuple(node.params), arrays.entry.zero)
        flat = result.reshape(-1)
        for k, entry in enumerate(args):
            flat[k] = entry[()]
        return result
    raise AssertionError(f"no tensor rule for {op}")  # pragma: no cover - the table and the parser agree


def _local(arrays, node, which: int, args: list[np.ndarray], shapes: Shapes):
    op = node.op
    shape = shapes[node.args[which]]
    if op == "matmul":
        return MatmulLeft(args[1], shape) if which == 0 else MatmulRight(args[0], shape)
    if op == "transpose":
        return Transpose()
    if op in ("reduce_sum", "reduce_mean"):
        axis = node.params[0] % len(shape) if node.params else None
        return Reduce(shape, axis, op == "reduce_mean")
    if op == "outer":
        return OuterLeft(args[1]) if which == 0 else OuterRight(args[0])
    if op == "softmax":
        return Softmax(arrays.softmax(node, args[0]))
    if op == "log_softmax":
        return LogSoftmax(arrays.softmax(node, args[0]))
    if op == "array":
        return Entry(which, tuple(node.params))
    raise AssertionError(f"no tensor rule for {op}")  # pragma: no cover


# ---------------------------------------------------------------- the domain


class TensorValue:
    """A tensor as views see it: its shape and, per entry, a `Value` (exact or None, decimal).

    In numeric mode the entries are float64's kept as one array (`array`); their `Value`s are
    made only when a view asks for them entry by entry (a 100,000-entry weight's JSON is written
    from the array itself)."""

    __slots__ = ("shape", "_entries", "array")

    def __init__(self, shape: Shape, entries: np.ndarray | None = None, array: np.ndarray | None = None):
        self.shape = tuple(shape)
        self._entries = entries
        self.array = array  # float64 entries, when that is all there is

    @property
    def entries(self) -> np.ndarray:
        """An object array of Value, one per entry."""
        if self._entries is None:
            entries = np.empty(self.shape, dtype=object)
            flat, values = entries.reshape(-1), self.array.reshape(-1).tolist()
            for k, x in enumerate(values):
                flat[k] = Value(None, x)
            self._entries = entries
        return self._entries

    def entry(self, index: tuple[int, ...]) -> Value:
        return self.entries[index]

    def __repr__(self) -> str:
        return f"TensorValue(shape={self.shape})"


class Tensor:
    """The domain of tensors over an entry domain (numbers.Tracked, Decimal, Float)."""

    def __init__(self, entry, shapes: Shapes, dtype=np.float64):
        self.entry = entry
        self.shapes = shapes
        self.numeric = entry.numeric
        self.key = f"tensor-{entry.key}" + ("" if dtype is np.float64 else f"-{np.dtype(dtype).name}")
        self.vectorised = entry.key == "float"
        self.arrays = FloatArrays(entry, dtype) if self.vectorised else ObjectArrays(entry)
        self.zero = self.arrays.scalar(entry.zero)
        self.one = self.arrays.scalar(entry.one)

    def precision(self):
        return self.entry.precision()

    def constant(self, exact) -> np.ndarray:
        return self.arrays.constant(exact)

    def function(self, tmpl, which):
        arrays = self.arrays
        if isinstance(tmpl, StructuralTemplate):
            if which == "value":
                return lambda node, args: _forward(arrays, node, args)
            return lambda node, args: _local(arrays, node, which, args, self.shapes)
        if self.vectorised:
            compiled = compile_part(tmpl, which, "numpy")
            wide = tmpl.arity > 8
            evaluate = (lambda *args: compiled(args)) if wide else compiled
        else:
            evaluate = self.entry.function(tmpl, which)
        if which == "value":
            return lambda node, args: arrays.apply(evaluate, node, args)
        position = tmpl.variable_positions[which]
        return lambda node, args: EntryWise(arrays.apply(evaluate, node, args), self.shapes[node.args[position]])

    def switch(self, form, arity: int):
        if self.vectorised:
            compiled = compile_form(form, arity, "numpy")
            return lambda *args: np.asarray(compiled(*args))
        entry_switch = self.entry.switch(form, arity)
        return lambda *args: self.arrays.apply(lambda node, xs: entry_switch(*xs), None, list(args))

    def at_kink(self, switch_value) -> bool:
        if self.vectorised:
            return bool(np.any(switch_value == 0))
        return any(self.entry.at_kink(v) for v in switch_value.flat)

    def kink_entries(self, switch_value) -> list[tuple[int, ...]]:
        if self.vectorised:
            return [tuple(int(i) for i in index) for index in np.argwhere(np.asarray(switch_value) == 0)]
        return [index for index in np.ndindex(switch_value.shape) if self.entry.at_kink(switch_value[index])]

    def add(self, a, b):
        return self.arrays.add(a, b)

    def mul(self, a, b):
        return self.arrays.mul(a, b)

    def pull(self, upstream, local):
        """Reverse mode: the upstream gradient pulled back through an edge's local derivative."""
        return local.pull(self.arrays, upstream)

    def push(self, local, tangent):
        """Forward mode: a tangent pushed forward through an edge's local derivative."""
        return local.push(self.arrays, tangent)

    def value(self, x) -> TensorValue:
        x = np.asarray(x) if not isinstance(x, np.ndarray) else x
        if self.vectorised:
            return TensorValue(tuple(x.shape), array=np.asarray(x, dtype=np.float64))
        elif self.entry.key == "tracked":
            entries = x
        else:
            entries = np.empty(x.shape, dtype=object)
            for index in np.ndindex(x.shape):
                entries[index] = Value(None, x[index])
        return TensorValue(tuple(x.shape), entries)

    def close(self, a, b) -> bool | None:
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return False
        if self.vectorised:
            return bool(np.all(np.abs(a - b) <= 1e-9 * np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))))
        answers = [self.entry.close(x, y) for x, y in zip(a.flat, b.flat)]
        return False if False in answers else (None if None in answers else True)
