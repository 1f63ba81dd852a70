"""Symbolic tensors: gradients as matrix formulas in the program's names (`--shape W1=2x2,x=2`).

With shapes declared and no values, each gradient is written as a textbook writes it for a
layer, `∂L/∂W1 = outer((W2.T @ (y - t)) * (1 - h^2), x)`: the reverse sweep over the same edges,
where an edge's rule builds a formula instead of an array — entry-wise rules multiply by the
SymPy-derived local derivative in its textbook form (1 - h^2), `@` gives `δ @ b.T` / `a.T @ δ`
(an outer product for vectors), a broadcast operand gets `sum(·, axis)`. The matrix operations
are unevaluated SymPy functions, so SymPy reorders nothing it should not (only the entry-wise
products and sums, which commute) and still cancels scalar factors (1/2 · 2·(y - t) = y - t).

Each formula is then checked where it matters, at random points: evaluated entry by entry with
numpy (our own walk over the formula, never eval) and compared with the reverse pass's numeric
gradient at the same point.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.graph import Graph, NodeKind
from backprop_cli.lazy import sp
from backprop_cli.primitives import own_value, textbook_partial
from backprop_cli.shapes import Shapes, broadcast_axes

MATMUL, TRANSPOSE, OUTER = sp.Function("matmul"), sp.Function("T"), sp.Function("outer")
SUM, MEAN, SOFTMAX, LOG_SOFTMAX = sp.Function("sum"), sp.Function("mean"), sp.Function("softmax"), \
    sp.Function("log_softmax")
ENTRY = sp.Function("entry")  # a literal's k-th entry of a gradient
ONES = sp.Function("ones")  # a scalar gradient copied to every entry, where a matrix rule needs its shape


def named_values(graph: Graph, templates, constants, output: int, expand_output: bool = False) -> list:
    """Each node's formula in the program's names: a named node is its name (but the output itself
    with `expand_output`: a claim's expression, whose graph calls it f)."""
    values: list = [None] * len(graph.nodes)
    needed = graph.ancestors_of(output)
    for node in graph.nodes[: output + 1]:
        if not needed[node.index]:
            continue
        if node.kind is NodeKind.INPUT or (node.name is not None and not (expand_output and node.index == output)):
            values[node.index] = sp.Symbol(node.name, real=True)
        elif node.kind is NodeKind.CONSTANT or node.index in constants:
            constant = constants[node.index]
            exact = constant[()].exact if getattr(constant, "shape", None) == () else None
            values[node.index] = exact if exact is not None else sp.Symbol(node.text, real=True)
        else:
            args = [values[a] for a in node.args]
            values[node.index] = _structural_value(node, args) if node.op in _STRUCTURAL else \
                templates[node.index].symbolic.value.xreplace(dict(zip(
                    templates[node.index].symbolic.variables, [args[p] for p in templates[node.index].variable_positions])))
    return values


_STRUCTURAL = {"matmul", "transpose", "reduce_sum", "reduce_mean", "outer", "softmax", "log_softmax", "array"}


def _structural_value(node, args):
    op = node.op
    if op == "matmul":
        return MATMUL(*args)
    if op == "transpose":
        return TRANSPOSE(args[0])
    if op in ("reduce_sum", "reduce_mean"):
        function = SUM if op == "reduce_sum" else MEAN
        return function(args[0], sp.Integer(node.params[0])) if node.params else function(args[0])
    if op == "outer":
        return OUTER(*args)
    if op == "softmax":
        return SOFTMAX(args[0])
    if op == "log_softmax":
        return LOG_SOFTMAX(args[0])
    return sp.Function("array")(*args)


def named_gradients(graph: Graph, templates, constants, shapes: Shapes, output: int) -> dict[int, sp.Expr]:
    """∂output/∂node as a formula in the program's names, for every node the output depends on."""
    values = named_values(graph, templates, constants, output)
    names = {name: shapes[index] for name, index in graph.names.items()}
    edges = graph.edges
    reached = graph.ancestors_of(output)
    gradient: dict[int, sp.Expr] = {output: sp.Integer(1)}
    for node in reversed(graph.nodes[: output + 1]):
        index = node.index
        if not reached[index] or node.kind is not NodeKind.OPERATION or not node.depends_on_input:
            continue
        upstream = gradient.get(index, sp.Integer(0))
        for edge in edges.into[index]:
            source = edges.source[edge]
            try:
                part = None if upstream is None else _pullback(
                    node, edges.position[edge], _shaped(upstream, shapes[index], node.op, names), values,
                    templates[index], shapes, names)
            except Inexpressible:
                part = None
            if part is None or gradient.get(source, 0) is None:  # one path without a formula: none for the sum
                gradient[source] = None
            else:
                gradient[source] = gradient[source] + part if source in gradient else part
    return {index: tidy(formula) if formula is not None else None for index, formula in gradient.items()}


_MATRIX_FUNCTIONS = ("matmul", "T", "outer", "sum", "mean", "softmax", "log_softmax", "entry", "ones")


def tidy(formula: sp.Expr) -> sp.Expr:
    """An entry-wise formula in its shortest form: p*(1 - p)*(-(t/4 - 1/4)/(1 - p) - t/(4*p)) is
    (p - t)/4. Formulas with matrix operations are left as built (factor would expand inside them)."""
    if formula.is_Atom or any(type(f).__name__ in _MATRIX_FUNCTIONS for f in formula.atoms(sp.Function)):
        return formula
    from backprop_cli.numbers import expression_size

    if expression_size(formula, 60) > 60:
        return formula
    try:
        factored = sp.factor(formula)
    except (TypeError, ValueError, NotImplementedError, sp.PolynomialError):
        return formula
    return factored if len(sp.sstr(factored)) < len(sp.sstr(formula)) else formula


def _shaped(g, shape, op: str, names: dict) -> sp.Expr:
    """The upstream formula with the consumer's shape where a matrix rule needs it: sum(W @ x)
    gives W @ x the gradient 1, which for `@` is ones(3) (entry-wise rules broadcast it anyway)."""
    if op not in _STRUCTURAL or not shape or formula_shape(g, names) == tuple(shape):
        return g
    return g * ONES(*[sp.Integer(n) for n in shape])


def formula_shape(formula, names: dict) -> tuple[int, ...]:
    """The shape of a formula's value, from the shapes of the names in it."""
    if isinstance(formula, sp.Symbol):
        return tuple(names.get(formula.name, ()))
    if not formula.args or formula.is_Number:
        return ()
    name = type(formula).__name__
    shapes = [formula_shape(a, names) for a in formula.args]
    if name == "ones":
        return tuple(int(a) for a in formula.args)
    if name == "matmul":
        a, b = shapes
        return tuple(a[:-1]) + tuple(b[1:])
    if name == "T":
        return tuple(reversed(shapes[0]))
    if name == "outer":
        return (shapes[0][0], shapes[1][0])
    if name in ("sum", "mean"):
        if len(formula.args) == 1:
            return ()
        axis = int(formula.args[1]) % len(shapes[0])
        return tuple(n for i, n in enumerate(shapes[0]) if i != axis)
    if name == "entry":
        return ()
    rank = max(len(s) for s in shapes)
    result = []
    for axis in range(rank):  # entry-wise: NumPy's broadcasting
        sizes = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0} - {1}
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def _pullback(node, position: int, g, values, tmpl, shapes: Shapes, names: dict) -> sp.Expr:
    op = node.op
    args = [values[a] for a in node.args]
    own, up = shapes[node.args[position]], shapes[node.index]
    if op == "matmul":
        a, b = args
        a_shape, b_shape = shapes[node.args[0]], shapes[node.args[1]]
        if position == 0:
            if len(a_shape) == 2:
                return OUTER(g, b) if len(b_shape) == 1 else MATMUL(g, _transpose(b))
            return MATMUL(b, g) if len(b_shape) == 2 else g * b
        if len(a_shape) == 2:
            return MATMUL(_transpose(a), g)
        return OUTER(a, g) if len(b_shape) == 2 else g * a
    if op == "transpose":
        return _transpose(g)
    if op in ("reduce_sum", "reduce_mean"):
        count = 1
        for i, n in enumerate(own):
            if not node.params or i == node.params[0] % len(own):
                count *= n
        spread = g
        if node.params and len(own) == 2 and node.params[0] % 2 == 1:  # sum(X, 1): each row's δ along its row
            spread = OUTER(g, ONES(sp.Integer(own[1])))
        return spread if op == "reduce_sum" else spread / count
    if op == "outer":
        return MATMUL(g, args[1]) if position == 0 else MATMUL(_transpose(g), args[0])
    if op == "softmax":
        s = values[node.index]
        return s * (g - _rows(_sum(g * s, -1), own))
    if op == "log_softmax":
        return g - SOFTMAX(args[0]) * _rows(_sum(g, -1), own)
    if op == "array":
        return ENTRY(g, sp.Integer(position))
    # entry-wise: the upstream times the textbook local derivative, summed back where broadcast
    which = tmpl.variable_positions.index(position)
    symbolic = tmpl.symbolic
    partial = textbook_partial(symbolic, which).xreplace(
        {**{v: args[p] for v, p in zip(symbolic.variables, tmpl.variable_positions)}, own_value(): values[node.index]})
    part = g * partial
    if tuple(own) != tuple(up):
        part = _shaped(part, up, "matmul", names)  # summed back over the copies, so it needs all of them
        if not own:
            return _sum(part)
        axes = broadcast_axes(own, up)
        if any(axis >= len(up) - len(own) for axis in axes):
            raise Inexpressible  # a (m, 1) operand: the language cannot keep the summed axis
        for axis in axes:
            part = _sum(part, axis)
    return part


class Inexpressible(Exception):
    """A gradient the language cannot write (no keepdims, no reshape): it is left without a formula."""


def _rows(row_totals, shape):
    """A per-row total (m,) spread back along each row of an (m, n) matrix; a vector's total is a scalar."""
    return OUTER(row_totals, ONES(sp.Integer(shape[-1]))) if len(shape) == 2 else row_totals


def _transpose(x):
    """x.T, with (x.T).T = x and (a @ b).T = b.T @ a.T (so ∂L/∂W of X @ W.T reads (Y - T).T @ X)."""
    if isinstance(x, TRANSPOSE):
        return x.args[0]
    if isinstance(x, MATMUL):
        return MATMUL(_transpose(x.args[1]), _transpose(x.args[0]))
    return TRANSPOSE(x)


def _sum(x, axis: int | None = None):
    """sum(x) or sum(x, axis), with a sign pulled out: sum(-y) = -sum(y)."""
    if isinstance(x, sp.Mul) and x.as_coeff_Mul()[0] < 0:  # a negated product, not y - t
        return -_sum(-x, axis)
    return SUM(x) if axis is None else SUM(x, sp.Integer(axis))


# ---------------------------------------------------------------- evaluating a formula with numpy

_NUMPY_FUNCTIONS = {
    "tanh": np.tanh, "exp": np.exp, "log": np.log, "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "sinh": np.sinh, "cosh": np.cosh, "sqrt": np.sqrt, "Abs": np.abs, "sign": np.sign,
    "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "asinh": np.arcsinh, "acosh": np.arccosh,
    "atanh": np.arctanh,
}


def evaluate(formula: sp.Expr, values: dict[str, np.ndarray]):
    """A formula's value (a float64 array) at the given values of its names."""
    if isinstance(formula, sp.Symbol):
        return values[formula.name]
    if formula.is_Number or formula in (sp.pi, sp.E):
        return float(formula)
    if isinstance(formula, sp.Piecewise):  # its arguments are (value, condition) pairs
        return _piecewise(formula, values)
    args = [evaluate(a, values) for a in formula.args]
    if isinstance(formula, sp.Add):
        total = args[0]
        for a in args[1:]:
            total = total + a
        return total
    if isinstance(formula, sp.Mul):
        product = args[0]
        for a in args[1:]:
            product = product * a
        return product
    if isinstance(formula, sp.Pow):
        return np.power(args[0], args[1])
    name = type(formula).__name__
    if name == "matmul":
        return np.matmul(args[0], args[1])
    if name == "T":
        return np.transpose(args[0])
    if name == "outer":
        return np.outer(args[0], args[1])
    if name in ("sum", "mean"):
        reduce = np.sum if name == "sum" else np.mean
        return reduce(args[0], axis=int(args[1])) if len(args) == 2 else reduce(args[0])
    if name == "softmax":
        shifted = np.exp(args[0] - np.max(args[0], axis=-1, keepdims=True))
        return shifted / np.sum(shifted, axis=-1, keepdims=True)
    if name == "log_softmax":
        top = np.max(args[0], axis=-1, keepdims=True)
        return args[0] - (top + np.log(np.sum(np.exp(args[0] - top), axis=-1, keepdims=True)))
    if name == "entry":
        return np.asarray(args[0]).reshape(-1)[int(args[1])]
    if name == "ones":
        return np.ones(tuple(int(a) for a in args))
    if name in _NUMPY_FUNCTIONS:
        return _NUMPY_FUNCTIONS[name](*args)
    if name == "Heaviside":
        return np.heaviside(args[0], 0.5)
    if name == "Piecewise":
        return _piecewise(formula, values)
    if name in ("Max", "Min"):
        pick = np.maximum if name == "Max" else np.minimum
        result = args[0]
        for a in args[1:]:
            result = pick(result, a)
        return result
    if name == "erf":
        return np.vectorize(__import__("math").erf)(args[0])
    raise NotImplementedError(name)


def _piecewise(formula, values):
    conditions, choices = [], []
    for value, condition in formula.args:
        choices.append(np.asarray(evaluate(value, values), dtype=float))
        conditions.append(True if condition == sp.true else _condition(condition, values))
    return np.select(conditions, choices)


def _condition(condition, values):
    left, right = evaluate(condition.lhs, values), evaluate(condition.rhs, values)
    return {sp.StrictGreaterThan: np.greater, sp.GreaterThan: np.greater_equal, sp.StrictLessThan: np.less,
            sp.LessThan: np.less_equal}[type(condition)](left, right)


def formula_error(formula, trace, index: int) -> float | None:
    """The largest relative difference, entry by entry, between a formula evaluated at the trace's
    values and the trace's gradient of the node (None: the formula cannot be evaluated here)."""
    graph = trace.graph
    shape = trace.shape(index)

    def floats(column_value):
        array = np.asarray(column_value)
        if array.dtype == object:
            return np.vectorize(lambda v: float(v.approx) if hasattr(v, "approx") else float(v),
                                otypes=[float])(array) if array.shape else np.asarray(
                float(array[()].approx if hasattr(array[()], "approx") else array[()]))
        return np.asarray(array, dtype=float)

    column = trace.forward.column
    try:
        names = {n: floats(column[i]) for n, i in graph.names.items() if column[i] is not None}
        names.update({node.text: floats(column[node.index]) for node in graph.nodes
                      if node.index in trace.forward.constants and trace.shape(node.index)})
        with np.errstate(all="ignore"):
            claimed = np.broadcast_to(np.asarray(evaluate(formula, names), dtype=float), shape)
        gradient = trace.gradient_column[index]
        actual = np.broadcast_to(floats(gradient) if gradient is not None else np.zeros(()), shape)
    except (NotImplementedError, KeyError, ValueError, TypeError, AttributeError):
        return None
    if not actual.size:
        return 0.0
    error = float(np.max(np.abs(claimed - actual) / np.maximum(1.0, np.abs(actual))))
    return error if error == error else None  # nan: not evaluable here
