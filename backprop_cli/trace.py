"""The trace of one run: columns indexed by node and by edge, and small accessors for views.

It stands alone: values, local derivatives, contributions and gradients are columns (in the
run's number domain); a view asks for a node's value, an edge's step or a node's paths and
gets `Value`s and labels, never the engine's internals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import mpmath

from backprop_cli.derivatives import Locals, Undefined, is_undefined
from backprop_cli.forward import Forward
from backprop_cli.graph import Graph, Node
from backprop_cli.lazy import sp
from backprop_cli.numbers import Value


@dataclass(slots=True)
class Step:
    """Gradient flowing from `consumer` back into its argument `source` (one edge)."""

    edge: int
    source: int
    consumer: int
    position: int  # which argument of the consumer
    local: Value  # in a tensor program, the linear map of tensors.py (EntryWise, MatmulLeft, ...)
    upstream: Value  # ∂out/∂consumer
    contribution: Value  # upstream × local
    kink: bool  # the local derivative was taken at a non-differentiable point


class Steps(Sequence):
    """The reverse sweep's edges in the order it took them; each `Step` is made when asked."""

    def __init__(self, trace: "Trace"):
        self._trace = trace

    def __len__(self) -> int:
        return len(self._trace.order)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        return self._trace.step(self._trace.order[k])


@dataclass
class Trace:
    forward: Forward
    output: int
    locals: Locals
    gradient_column: list  # ∂out/∂node in the run's domain (None: not reached)
    contributions: list  # per edge: upstream × local
    order: list[int]  # the edges in the order the reverse sweep took them
    # symbolic mode: the same sweeps in the program's own names (gradients as a textbook writes them)
    named: "Trace | None" = None

    # ------------------------------------------------------------ nodes
    @property
    def graph(self) -> Graph:
        return self.forward.graph

    @property
    def values(self) -> list[Value]:
        return self.forward.values

    def node(self, index: int) -> Node:
        return self.forward.graph.nodes[index]

    @property
    def numeric(self) -> bool:
        return self.forward.numeric

    @property
    def bindings(self):
        return self.forward.bindings

    def values_by_name(self) -> dict[str, Value]:
        return self.forward.values_by_name()

    @property
    def decimal_nodes(self) -> list[int]:
        return self.forward.decimal_nodes

    def template(self, index: int):
        """The derived template of an operation (its partials, over placeholders, are what the
        views word in the node's own operands)."""
        return self.forward.templates[index]

    def as_value(self, number) -> Value:
        """A number of the run's domain (a column entry) as views see it."""
        if is_undefined(number):
            return Value(None, None)
        return self.forward.domain.value(number)


    def edge_numbers(self):
        """(edge, local derivative, contribution, kink) for each edge in the sweep's order, as the
        run's own numbers: for views that write every edge of a big graph without a Step each."""
        local, contribution, kink = self.locals.local, self.contributions, self.locals.kink
        for edge in self.order:
            yield edge, local[edge], contribution[edge], kink[edge]

    @cached_property
    def undefined(self) -> dict[int, Undefined]:
        """Nodes whose gradient needs a local derivative that has no value at the point."""
        return {i: g for i, g in enumerate(self.gradient_column) if is_undefined(g)}

    def gradient_of(self, index: int) -> Value | None:
        """gradients.get(index), without making every node's Value first (numeric scalar runs)."""
        if self.tensor or not self.numeric or "gradients" in self.__dict__:
            return self.gradients.get(index)
        return self._scalar_gradient(index, self.gradient_column[index])

    def _scalar_gradient(self, index: int, number) -> Value | None:
        """One node's gradient as a Value (None where not reached, or undefined)."""
        if index == self.output and self.numeric:  # the seed is exactly 1, as in the exact mode
            return Value(Fraction(1), 1.0)
        return None if number is None or is_undefined(number) else self.as_value(number)

    def value_of(self, index: int) -> Value:
        return self.forward.value_of(index)

    @cached_property
    def gradients(self) -> dict[int, Value]:
        """∂out/∂node for every node the gradient reached."""
        if self.tensor:
            return self._tensor_gradients()
        result = {i: self._scalar_gradient(i, g) for i, g in enumerate(self.gradient_column)}
        return {i: v for i, v in result.items() if v is not None}

    def _tensor_gradients(self) -> dict:
        """Tensor gradients, each in its node's shape (a zero reached through constants only is
        one 0 until then)."""
        import numpy as np

        domain = self.forward.domain
        result = {}
        for i, g in enumerate(self.gradient_column):
            if g is not None and not is_undefined(g):
                result[i] = domain.value(np.broadcast_to(g, self.shape(i)))
        if self.numeric:
            result[self.output] = domain.value(np.asarray(1.0))
            result[self.output].entries[()] = Value(Fraction(1), 1.0)
        return result

    @property
    def tensor(self) -> bool:
        """Whether this is a tensor program's trace (values are TensorValues, locals linear maps)."""
        return self.forward.tensor

    def shape(self, index: int) -> tuple[int, ...]:
        return tuple(self.forward.shapes[index]) if self.forward.tensor else ()

    def zero_gradient(self, index: int):
        """The gradient of a node the output does not depend on: 0, in its shape."""
        zero = Fraction(0) if self.numeric else sp.Integer(0)
        if not self.tensor:
            return Value(zero, 0.0 if self.numeric else mpmath.mpf(0))
        import numpy as np

        entries = np.empty(self.shape(index), dtype=object)
        for entry in np.ndindex(entries.shape):
            entries[entry] = Value(zero, 0.0 if self.numeric else mpmath.mpf(0))
        from backprop_cli.tensors import TensorValue
        return TensorValue(self.shape(index), entries)

    @property
    def kinks(self) -> list[int]:
        return self.locals.kinks

    def formula(self, index: int) -> sp.Expr | None:
        """∂out/∂node in the program's own names (symbolic mode), or None."""
        if self.named is None:
            return None
        return self.named.gradient_column[index] if index < len(self.named.gradient_column) else None

    # ------------------------------------------------------------ edges
    def step(self, edge: int) -> Step:
        edges = self.graph.edges
        consumer = edges.consumer[edge]
        local = self.locals.local[edge]
        # a tensor edge's local derivative is a linear map (tensors.py), which views word by its rule
        return Step(edge, edges.source[edge], consumer, edges.position[edge],
                    local if self.tensor else self.as_value(local), self.gradients[consumer],
                    self.as_value(self.contributions[edge]), self.locals.kink[edge])

    @cached_property
    def steps(self) -> Steps:
        return Steps(self)

    def textbook_parts(self, edge: int) -> tuple:
        """The edge's local derivative as a textbook writes it (primitives.textbook_partial), cut
        at its operands: variable i is the consumer's argument at the template's i-th variable
        position, one past the last is the consumer's own value (notation.parts_text fills them)."""
        return self.template(self.graph.edges.consumer[edge]).textbook_of(self.locals.variable[edge])

    def rule_name(self, step: Step) -> str:
        """Which rule an edge follows, for its sentence: a subtracted term of a sum flips the sign."""
        consumer = self.node(step.consumer)
        if consumer.op == "sum" and consumer.signs[step.position] < 0:
            return "sum_minus"
        if consumer.op == "product" and len(consumer.args) > 2:
            return "product_many"
        return consumer.op

    def edges_into(self, index: int) -> range:
        """The edges into a node, in argument order (none for inputs and constants)."""
        return self.graph.edges.into.get(index, range(0))

    @cached_property
    def paths_into(self) -> dict[int, list[int]]:
        """node → the indices into `steps` that add into it, in the sweep's order."""
        result: dict[int, list[int]] = {}
        source = self.graph.edges.source
        for k, edge in enumerate(self.order):
            result.setdefault(source[edge], []).append(k)
        return result


@dataclass
class TangentPass:
    """Forward mode along one direction: every node's tangent, from the same local derivatives."""

    direction: dict[int, Value]  # input node → its tangent (the others are 0)
    tangents: dict[int, Value]  # node → d(node) along the direction, for the nodes the output depends on
    result: Value  # the output's tangent: the derivative along the direction
    reverse: Value  # the reverse pass's ∇f·v for the same direction
    agrees: bool | None  # result and reverse are the same number (None: SymPy could not decide)
    estimate: object | None  # the central difference along the direction (None: skipped)
    error: float | None
    status: str  # "ok", "mismatch", "kink", "skipped"

    @property
    def ok(self) -> bool | None:
        return {"ok": True, "mismatch": False}.get(self.status)
