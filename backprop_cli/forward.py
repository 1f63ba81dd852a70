"""Graph + bindings → the value of every node: one loop, in whichever number domain it is given.

Before the loop, each operation gets its derived template (primitives.template), with the
constant parameters folded in (`x^2`'s exponent, `log(x, 10)`'s base); constant-only arithmetic
is evaluated exactly once for that. The loop itself is the same for the exact mode, the numeric
mode and the 80-digit passes of the finite-difference check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

import mpmath

from backprop_cli import limits, settings
from backprop_cli.errors import BackpropError
from backprop_cli.graph import Graph, NodeKind
from backprop_cli.lazy import sp
from backprop_cli.numbers import Float, Tracked, Value, as_fraction, as_sympy, domain_error, to_mpf
from backprop_cli.primitives import TENSOR_OPS, NamedConstant
from backprop_cli.templates import Template, template
from backprop_cli.shapes import Shapes, infer_shapes


def fold_constants(graph: Graph, shapes: Shapes | None = None,
                   numeric: bool = False) -> tuple[list[Template | None], dict[int, Value]]:
    """Each operation's template, and the exact value of every node that depends on no input.
    In a tensor program (`shapes`), the values are arrays and the tensor ops get their rules.
    `numeric`: a scalar program's constants in Python's own numbers, without SymPy, where they
    are rationals (1/2, 2*3, -1); one that is not (sqrt(2)) has SymPy fold them all."""
    tensor = shapes is not None and shapes.tensor
    if numeric:
        folded = _fold_rationals(graph, tensor)
        if folded is not None:
            return folded
    templates: list[Template | None] = [None] * len(graph.nodes)
    constants: dict[int, Value] = {}
    exact = tensor_domain(Tracked(), shapes) if tensor else Tracked()
    with exact.precision():
        for node in graph.nodes:
            if node.kind is NodeKind.CONSTANT:
                constants[node.index] = exact.constant(node.constant)
            elif node.kind is NodeKind.OPERATION:
                if tensor and node.op in TENSOR_OPS:
                    templates[node.index] = tensor_template(node)
                    if not node.depends_on_input:
                        args = [constants[a] for a in node.args]
                        constants[node.index] = exact.function(templates[node.index], "value")(node, args)
                    continue
                if constants.keys().isdisjoint(node.args):  # most nodes: no constant argument to fold
                    folded = _NONE.get(len(node.args)) or _NONE.setdefault(len(node.args), (None,) * len(node.args))
                else:
                    folded = tuple(_folded(constants[a]) if a in constants else None for a in node.args)
                tmpl = templates[node.index] = template(node.op, folded, node.signs)
                if not tmpl.defined:
                    raise domain_error(node, "its constant arguments make it undefined")
                if not node.depends_on_input:
                    args = [constants[node.args[p]] for p in tmpl.variable_positions]
                    constants[node.index] = exact.function(tmpl, "value")(node, args)
    return templates, constants


_NONE: dict[int, tuple[None, ...]] = {}  # (None,) * n, one tuple per argument count


def _fold_rationals(graph: Graph, tensor: bool) -> tuple[list[Template | None], dict[int, Value]] | None:
    """fold_constants for numeric mode in Fractions (pi and E as they are); None where a constant
    operation's value is not a small rational, or a constant is beyond floats (SymPy then folds
    them, or words the error), or, in a tensor program, a constant is not a scalar (an array literal)."""
    templates: list[Template | None] = [None] * len(graph.nodes)
    exact: dict[int, Fraction | NamedConstant] = {}
    for node in graph.nodes:
        if node.kind is NodeKind.CONSTANT:
            exact[node.index] = node.constant
        elif node.kind is NodeKind.OPERATION:
            if tensor and node.op in TENSOR_OPS:
                if not node.depends_on_input:
                    return None
                templates[node.index] = tensor_template(node)
                continue
            if exact.keys().isdisjoint(node.args):
                folded = _NONE.get(len(node.args)) or _NONE.setdefault(len(node.args), (None,) * len(node.args))
            else:
                folded = tuple(exact.get(a) for a in node.args)
            tmpl = templates[node.index] = template(node.op, folded, node.signs)
            if not tmpl.defined:
                raise domain_error(node, "its constant arguments make it undefined")
            if not node.depends_on_input:
                args = [exact[a] for a in node.args]
                value = _rational_value(node, args) if all(type(a) is Fraction for a in args) else None
                if value is None:
                    return None  # 2*pi, sqrt(2): SymPy keeps them exact
                exact[node.index] = value
    try:
        constants = {index: Value(value, float(value)) for index, value in exact.items()}
    except OverflowError:  # 1e400: SymPy folds it, and the float pass words the error
        return None
    if tensor:  # a tensor program's constants are 0-d arrays of entries
        import numpy as np

        for index, value in constants.items():
            entries = constants[index] = np.empty((), dtype=object)
            entries[()] = value
    return templates, constants


def _rational_value(node, args: list[Fraction]) -> Fraction | None:
    """+, −, ×, ÷, a small integer power, max, min and copies of rationals, as a rational; None for
    anything else, or a value past the exact limits (SymPy then folds it, or words the error)."""
    op = node.op
    if op == "sum":
        return sum((a if s > 0 else -a for a, s in zip(args, node.signs or (1,) * len(args))), Fraction(0))
    if op == "product":
        result = Fraction(1)
        for a in args:
            result *= a
        return result if _small_rational(result) else None
    if op == "div":
        return args[0] / args[1] if args[1] != 0 and _small_rational(args[0] / args[1]) else None
    if op == "neg":
        return -args[0]
    if op == "copy":
        return args[0]
    if op in ("max", "min"):
        return (max if op == "max" else min)(args)
    if op == "pow" and args[1].denominator == 1 and abs(args[1]) <= 64 and (args[0] != 0 or args[1] > 0):
        result = args[0] ** int(args[1])
        return result if _small_rational(result) else None
    return None


def _small_rational(x: Fraction) -> bool:
    return max(abs(x.numerator), x.denominator).bit_length() <= 3 * limits.MAX_EXACT_DIGITS  # ~900 digits: inside the limit


def _folded(constant) -> sp.Expr | None:
    """A constant's exact value, to fold into a template: a scalar (a 0-d tensor's entry) only."""
    if isinstance(constant, Value):
        return constant.exact
    return constant[()].exact if getattr(constant, "shape", None) == () else None


def tensor_domain(entry, shapes: Shapes, **options):
    from backprop_cli.tensors import Tensor  # numpy is imported by tensor programs only

    return Tensor(entry, shapes, **options)


def tensor_template(node):
    from backprop_cli.tensors import structural_template

    return structural_template(node)


Plan = list[tuple]  # (node index, node, checked evaluation, argument nodes)


def plan(graph: Graph, templates: list[Template | None], domain, leaves, output: int | None = None) -> Plan:
    """The operations to evaluate, in order: those not given as leaves (and that the output
    depends on, when one is named), each with its compiled evaluation in the domain."""
    needed = None if output is None else graph.ancestors_of(output)
    steps: Plan = []
    for node in graph.nodes[: len(graph.nodes) if output is None else output + 1]:
        index = node.index
        if node.kind is NodeKind.OPERATION and index not in leaves and (needed is None or needed[index]):
            tmpl = templates[index]
            steps.append((index, node, domain.function(tmpl, "value"),
                          tuple(node.args[p] for p in tmpl.variable_positions)))
    return steps


def forward_values(steps: Plan, domain, leaves: dict[int, object], size: int) -> list:
    """The forward pass: every planned node's value from its arguments', in topological order."""
    values: list = [None] * size
    for index, value in leaves.items():
        values[index] = value
    with domain.precision():
        for index, node, evaluate, arg_nodes in steps:
            if values[index] is None:  # an overridden node (finite differences) keeps its value
                values[index] = evaluate(node, [values[a] for a in arg_nodes])
    return values


@dataclass
class Forward:
    graph: Graph
    bindings: dict[str, sp.Expr]  # input name → exact bound value
    domain: object  # numbers.Tracked (exact mode) or numbers.Float (numeric mode)
    column: list  # each node's value in the domain
    templates: list[Template | None]  # per operation node
    constants: dict[int, Value]  # exact values of the nodes that depend on no input
    plans: dict = field(default_factory=dict, repr=False)  # (domain, output) → Plan, for repeated passes
    shapes: Shapes | None = None  # a tensor program's shapes (None: every value is a scalar)
    flat: object = None  # numeric mode over whole columns: the graph's groups (vectorised.FlatGraph)

    @property
    def tensor(self) -> bool:
        return self.shapes is not None and self.shapes.tensor

    @property
    def numeric(self) -> bool:
        return self.domain.numeric

    @cached_property
    def values(self) -> list[Value]:
        """Every node's value as views show it (inputs and constants keep their exact values)."""
        if self.tensor:
            return self._tensor_values()
        if not self.numeric:
            return self.column
        return [self._numeric_value(node, number) for node, number in zip(self.graph.nodes, self.column)]

    def value_of(self, index: int) -> Value:
        """values[index], without making every node's Value first (a view of a big numeric run that
        needs a few of them, or writes each once)."""
        if self.tensor or not self.numeric or "values" in self.__dict__:
            return self.values[index]
        return self._numeric_value(self.graph.nodes[index], self.column[index])

    def _numeric_value(self, node, number) -> Value:
        if node.kind is NodeKind.INPUT:
            return Value(self.bindings[node.name], number)
        if node.index in self.constants:
            return Value(self.constants[node.index].exact, number)
        return Value(None, number)

    def _tensor_values(self) -> list:
        """Every node as a TensorValue; in numeric mode, inputs and constants keep their exact entries."""
        import numpy as np

        domain, values = self.domain, []
        for node, number in zip(self.graph.nodes, self.column):
            value = domain.value(number) if number is not None else None
            if value is not None and self.numeric:
                exact = None
                if node.kind is NodeKind.INPUT:
                    exact = self.bindings[node.name]
                elif node.index in self.constants:
                    exact = np.vectorize(lambda v: v.exact, otypes=[object])(self.constants[node.index])
                if exact is not None and getattr(exact, "dtype", object) == object:
                    exact = np.asarray(exact, dtype=object)
                    for index in np.ndindex(value.shape):
                        value.entries[index] = Value(exact[index], value.entries[index].approx)
            values.append(value)
        return values

    @property
    def decimal_nodes(self) -> list[int]:
        """Operations whose exact form was dropped for its size (their decimal is kept)."""
        return [n.index for n, v in zip(self.graph.nodes, self.column)
                if n.kind is NodeKind.OPERATION and isinstance(v, Value) and v.exact is None and v.approx is not None]

    def values_by_name(self) -> dict[str, Value]:
        """Every input's and assigned name's value (claims and answers are evaluated in these)."""
        return {name: self.values[index] for name, index in self.graph.names.items()}


def _float_of(name: str, exact) -> float:
    """A bound value as a float. For a rational, p/q: Python rounds it correctly, and 20 times
    faster than SymPy's float(), which goes through mpmath (33,000 weights in a network)."""
    rational = as_fraction(exact)
    if rational is not None:
        try:
            number = rational.numerator / rational.denominator
        except OverflowError:
            number = math.inf
    else:
        number = float(exact)
    if number - number != 0.0:
        shown = (mpmath.nstr(mpmath.mpf(rational.numerator) / rational.denominator, 3, strip_zeros=False).replace("e", "E")
                 if rational is not None else str(sp.N(exact, 3)))
        raise BackpropError(f"{name} = {shown} is beyond the range of floats "
                            "(about 1.8e308), which the numeric mode uses",
                            hint="--exact keeps exact numbers (up to 2,000 nodes is the default)")
    return number


def run_forward(graph: Graph, bindings: dict[str, sp.Expr], numeric: bool = False,
                shapes: Shapes | None = None) -> Forward:
    """Every node's value: exact (SymPy, with 50-digit decimals beside) or, in numeric mode, floats.

    Bound values may be formulas (a claim evaluated in the program's names); unbound inputs
    stay symbols (symbolic mode). A tensor program (`shapes`) runs the same loop over arrays."""
    if shapes is None and any(node.op in TENSOR_OPS for node in graph.nodes):  # a literal in a claim, say
        shapes = infer_shapes(graph, {n: tuple(v.shape) for n, v in bindings.items() if hasattr(v, "shape")})
    if shapes is not None and shapes.tensor:
        return _run_tensor_forward(graph, bindings, numeric, shapes)
    templates, constants = fold_constants(graph, numeric=numeric)
    domain = Float() if numeric else Tracked()
    leaves: dict[int, object] = {}
    with domain.precision():
        for index in graph.inputs:
            name = graph.nodes[index].name
            if numeric:
                leaves[index] = _float_of(name, bindings[name])
            elif name in bindings:
                bound = as_sympy(bindings[name])
                leaves[index] = Value(bound, None if bound.free_symbols else to_mpf(bound))
            else:
                leaves[index] = Value(sp.Symbol(name, real=True), None)
        for index, value in constants.items():
            leaves[index] = float(value.approx) if numeric else value
    flat = column = None
    if numeric and len(graph.nodes) >= settings.VECTORISED_MIN_NODES:
        from backprop_cli import vectorised  # numpy: only for graphs big enough to gain by it

        flat = vectorised.flatten(graph, templates, leaves)
        column = None if flat is None else vectorised.forward_column(flat, leaves)
        if isinstance(column, vectorised.NotFinite):  # that one node, per node, words the error
            _word_the_first_failure(graph, templates, domain, column)
            column = None  # (it did not fail per node after all: the per-node pass decides)
    if column is None:  # the per-node pass: small graphs, and values the columns could not vouch for
        flat = None
        column = forward_values(plan(graph, templates, domain, leaves), domain, leaves, len(graph.nodes))
    return Forward(graph, bindings, domain, column, templates, constants, flat=flat)


def _word_the_first_failure(graph: Graph, templates: list, domain, failure) -> None:
    """Evaluate the first node whose value was not finite over columns, per node, from its
    arguments' values there: it raises the per-node pass's error, naming the node."""
    node, tmpl = graph.nodes[failure.first], templates[failure.first]
    args = [failure.column[node.args[p]] for p in tmpl.variable_positions]
    domain.function(tmpl, "value")(node, args)


def _run_tensor_forward(graph: Graph, bindings, numeric: bool, shapes: Shapes) -> Forward:
    templates, constants = fold_constants(graph, shapes, numeric)
    domain = tensor_domain(Float() if numeric else Tracked(), shapes)
    leaves: dict[int, object] = {}
    with domain.precision():
        for index in graph.inputs:
            name = graph.nodes[index].name
            if name not in bindings:
                leaves[index] = domain.arrays.scalar(Value(sp.Symbol(name, real=True), None))
            else:
                leaves[index] = tensor_leaf(domain, name, bindings[name])
        for index, value in constants.items():
            leaves[index] = _float_entries(value) if numeric else value
    column = forward_values(plan(graph, templates, domain, leaves), domain, leaves, len(graph.nodes))
    return Forward(graph, bindings, domain, column, templates, constants, shapes=shapes)


def tensor_leaf(domain, name: str, bound):
    """A bound value (a SymPy number, an object array of them, or float64 entries) in the domain."""
    import numpy as np

    from backprop_cli.tensors import entry_text

    array = np.asarray(bound, dtype=object) if not isinstance(bound, np.ndarray) else bound
    if array.dtype != object:  # float64 from .npy/.npz: the binary values they are
        if domain.numeric:
            return np.asarray(array, dtype=np.float64)
        array = np.vectorize(lambda x: sp.Float(float(x), 17), otypes=[object])(array)
    result = np.empty(array.shape, dtype=object)
    for index in np.ndindex(array.shape):
        exact = array[index]
        if domain.numeric:
            result[index] = _float_of(f"{name}{entry_text(index) if index else ''}", exact)
        elif domain.key.startswith("tensor-tracked"):
            exact = as_sympy(exact)
            result[index] = Value(exact, None if exact.free_symbols else to_mpf(exact))
        else:
            result[index] = to_mpf(exact)
    return result.astype(np.float64) if domain.numeric else result


def _float_entries(value):
    import numpy as np

    return np.vectorize(lambda v: float(v.approx), otypes=[np.float64])(value) if value.shape else np.asarray(
        float(value[()].approx))


def evaluate_expression(graph: Graph, values: dict[str, Value], origin: str) -> Value:
    """An expression's value (a claim, an answer) with its names bound to the program's values."""
    bindings = {}
    for index in graph.inputs:
        value = values[graph.nodes[index].name]
        bindings[graph.nodes[index].name] = (value.exact if value.exact is not None
                                             else sp.Float(value.approx, settings.DECIMAL_DIGITS))
    try:
        value = run_forward(graph, bindings).values[graph.output]
    except BackpropError as error:
        raise error.located(graph.source, origin)
    return value.entries[()] if hasattr(value, "entries") else value  # `sum([1, -7])`: a scalar after all


def evaluate_tensor_expression(graph: Graph, values: dict, origin: str):
    """A tensor expression's value (a claimed gradient, an answer), its names bound to the program's
    values (TensorValues, or Values for scalars): a TensorValue of whatever shape it has."""
    import numpy as np

    bindings = {}
    for index in graph.inputs:
        name = graph.nodes[index].name
        value = values[name]
        entries = value.entries if hasattr(value, "entries") else np.asarray(value, dtype=object)
        exact = np.empty(entries.shape, dtype=object)
        for entry in np.ndindex(entries.shape):
            v = entries[entry]
            exact[entry] = v.exact if v.exact is not None else sp.Float(v.approx, settings.DECIMAL_DIGITS)
        bindings[name] = exact if exact.shape else exact[()]
    try:
        shapes = infer_shapes(graph, {n: tuple(v.shape) for n, v in bindings.items() if hasattr(v, "shape")},
                              scalar_output=False)
        shapes.tensor_ops = True  # a scalar claim about a tensor program is a 0-d tensor too
        forward = _run_tensor_forward(graph, bindings, False, shapes)
        return forward.values[graph.output]
    except BackpropError as error:
        raise error.located(graph.source, origin)
