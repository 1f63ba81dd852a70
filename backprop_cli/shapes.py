"""Graph + the inputs' shapes → every node's shape, or an error that names both shapes.

A tensor program's values have shapes (SPEC §1b): `()` for a scalar, `(n,)` a vector, `(m, n)`
a matrix. Shapes come from the bindings and from literals; each operation's shape follows from
its arguments' by NumPy's rules (broadcasting for entry-wise operations, the 1-D and 2-D rules of
`@`). This step runs before any number is computed, so a shape mistake is worded once, pointing at
the expression, with the likely fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backprop_cli.errors import BackpropError
from backprop_cli.graph import Graph, Node, NodeKind
from backprop_cli.primitives import TENSOR_OPS

Shape = tuple[int, ...]


def shape_text(shape: Shape) -> str:
    """(2, 3), (2,), () — as NumPy prints them."""
    return str(tuple(shape))


def size_of(shape: Shape) -> int:
    count = 1
    for n in shape:
        count *= n
    return count


@dataclass
class Shapes:
    shapes: list[Shape]
    warnings: list[tuple[int, str]] = field(default_factory=list)  # (node, sentence)
    tensor_ops: bool = False  # the program uses @, .T, sum(...), a literal, ...

    def __getitem__(self, index: int) -> Shape:
        return self.shapes[index]

    @property
    def tensor(self) -> bool:
        """Whether any value is a vector or a matrix, or a tensor op is used (else the scalar engine
        runs as it always has)."""
        return self.tensor_ops or any(self.shapes)

    @property
    def entries(self) -> int:
        """Entries over every node: the size that decides exact or numeric mode."""
        return sum(size_of(s) for s in self.shapes)


def infer_shapes(graph: Graph, input_shapes: dict[str, Shape], scalar_output: bool = True) -> Shapes:
    """Each node's shape; `input_shapes` has the bound (or declared) tensor inputs, others are ().
    A program's output must be a scalar; a claimed tensor formula's (scalar_output=False) need not."""
    shapes: list[Shape] = []
    result = Shapes(shapes, tensor_ops=any(node.op in TENSOR_OPS for node in graph.nodes))
    for node in graph.nodes:
        if node.kind is NodeKind.INPUT:
            shape = tuple(input_shapes.get(node.name, ()))
            if len(shape) > 2:
                raise BackpropError(f"{node.name} is bound to a value of shape {shape_text(shape)}, rank "
                                    f"{len(shape)}: vectors and matrices (rank 1 and 2) are enough", node.span,
                                    source=graph.source, origin="program")
            shapes.append(shape)
        elif node.kind is NodeKind.CONSTANT:
            shapes.append(())
        else:
            try:
                shapes.append(_operation_shape(node, [shapes[a] for a in node.args], graph, result))
            except BackpropError as error:
                raise error.located(graph.source, "program")
    if shapes[graph.output] and scalar_output:
        output = graph.nodes[graph.output]
        name = output.name or "f"
        raise BackpropError(
            f"the output {name} has shape {shape_text(shapes[graph.output])}; the output must be a scalar",
            output.span, hint=f"reduce it, e.g. sum({name}) or mean({name}), or name a scalar with --of",
            source=graph.source, origin="program")
    return result


def _operation_shape(node: Node, args: list[Shape], graph: Graph, result: Shapes) -> Shape:
    op = node.op
    if op == "array":
        tensor_entry = next((i for i, s in enumerate(args) if s), None)
        if tensor_entry is not None:
            entry = graph.nodes[node.args[tensor_entry]]
            raise BackpropError(f"the entries of a literal must be scalars; {entry.label} has shape "
                                f"{shape_text(args[tensor_entry])}", node.span,
                                hint="write a matrix as a list of rows of numbers: [[1, 0], [0, 1]]")
        return tuple(node.params)
    if op == "matmul":
        return _matmul_shape(node, args, graph)
    if op == "transpose":
        if len(args[0]) == 1:
            result.warnings.append((node.index, f"{node.text}: a vector {shape_text(args[0])} is its own transpose "
                                                "(as in NumPy, there are no row or column vectors; "
                                                "use outer(a, b) for a·bᵀ)"))
        return tuple(reversed(args[0]))
    if op in ("reduce_sum", "reduce_mean"):
        return _reduced_shape(node, args[0], graph.nodes[node.args[0]].label)
    if op == "outer":
        if len(args[0]) != 1 or len(args[1]) != 1:
            raise BackpropError(f"outer(a, b) takes two vectors; given {shape_text(args[0])} and "
                                f"{shape_text(args[1])}", node.span, hint="for matrices, write A @ B.T")
        return (args[0][0], args[1][0])
    if op in ("softmax", "log_softmax"):
        if not args[0]:
            raise BackpropError(f"{node.text}: {op} acts along the last axis of a vector or a matrix, and "
                                f"{graph.nodes[node.args[0]].label} is a scalar", node.span)
        return args[0]
    return _broadcast(node, args, graph, result)


def _broadcast(node: Node, args: list[Shape], graph: Graph, result: Shapes) -> Shape:
    """NumPy's broadcasting: align at the right; a size 1 (or a missing axis) is copied."""
    rank = max(len(s) for s in args)
    shape: list[int] = []
    for axis in range(rank):
        sizes = {s[axis - rank + len(s)] for s in args if axis - rank + len(s) >= 0} - {1}
        if len(sizes) > 1:
            shown = [shape_text(s) for s in args]
            pair = _joined(node, shown)
            raise BackpropError(f"{node.text}: {pair} — shapes {' and '.join(dict.fromkeys(shown))} cannot be "
                                "broadcast together (sizes must be equal, or 1)", node.span,
                                hint=_broadcast_hint(node, args, graph))
        shape.append(sizes.pop() if sizes else 1)
    # Both grow when no operand has the result's shape: (3, 1) with (3,) or (1, 3) → (3, 3). A bias
    # (n,) or (1, n) on a batch (N, n) grows alone, however many such terms a sum has.
    tensors = [s for s in args if s]
    if len(tensors) >= 2 and all(tuple(s) != tuple(shape) for s in tensors):
        shown = " and ".join(shape_text(s) for s in tensors)
        result.warnings.append((node.index, f"{node.text}: {shown} broadcast to {shape_text(tuple(shape))}; "
                                            "both operands grow, which is rarely meant"))
    return tuple(shape)


def _joined(node: Node, shown: list[str]) -> str:
    """The operands' shapes joined as the user wrote the operation: `(2, 3) - (3, 2)` for `A - B`
    (a sum node keeps each term's sign), `(2, 3), (3, 2)` for a function's arguments."""
    if node.op == "sum" and node.signs:
        return shown[0] + "".join((" - " if sign < 0 else " + ") + s for sign, s in zip(node.signs[1:], shown[1:]))
    operator = {"product": " * ", "div": " / ", "pow": " ^ "}.get(node.op)
    return operator.join(shown) if operator else ", ".join(shown)


def _broadcast_hint(node: Node, args: list[Shape], graph: Graph) -> str | None:
    for position, shape in enumerate(args):
        if len(shape) == 2 and tuple(reversed(shape)) in [tuple(s) for i, s in enumerate(args) if i != position]:
            return f"did you mean {graph.nodes[node.args[position]].label}.T?"
    return None


def _matmul_shape(node: Node, args: list[Shape], graph: Graph) -> Shape:
    left, right = args
    a, b = graph.nodes[node.args[0]].label, graph.nodes[node.args[1]].label
    if not left or not right:
        scalar = a if not left else b
        raise BackpropError(f"{node.text}: @ multiplies vectors and matrices, and {scalar} is a scalar",
                            node.span, hint=f"for a scalar, write {a} * {b}")
    inner_left = left[-1]
    inner_right = right[0]
    if inner_left != inner_right:
        hint = None
        if len(left) == 2 and left[0] == inner_right:
            hint = f"did you mean {_transposed(a)} @ {b}?"
        elif len(right) == 2 and right[-1] == inner_left:
            hint = f"did you mean {a} @ {_transposed(b)}?"
        elif right[-1] == left[0]:
            hint = f"did you mean {b} @ {a}?"
        raise BackpropError(f"{node.text}: {shape_text(left)} @ {shape_text(right)} — the inner sizes "
                            f"{inner_left} and {inner_right} differ", node.span, hint=hint)
    return tuple(left[:-1]) + tuple(right[1:])


def _reduced_shape(node: Node, shape: Shape, argument: str) -> Shape:
    name = "sum" if node.op == "reduce_sum" else "mean"
    if not node.params:
        return ()
    axis = node.params[0]
    if not shape or axis >= len(shape) or axis < -len(shape):
        raise BackpropError(f"{node.text}: {argument} has shape {shape_text(shape)}, which has no axis {axis}",
                            node.span, hint=f"{name}({argument}) reduces over every entry")
    axis %= len(shape)
    return tuple(n for i, n in enumerate(shape) if i != axis)


def broadcast_axes(own: Shape, grown: Shape) -> list[int]:
    """The axes of `grown` along which an operand of shape `own` was copied, highest first (so that
    summing one leaves the others' numbers)."""
    rank = len(grown)
    axes = []
    for axis in range(rank):
        k = axis - (rank - len(own))
        if k < 0 or (own[k] == 1 and grown[axis] != 1):
            axes.append(axis)
    return sorted(axes, reverse=True)


def _transposed(label: str) -> str:
    """label.T, or W for W.T: a hint never suggests a double transpose."""
    return label[:-2] if label.endswith(".T") and label[:-2].isidentifier() else f"{label}.T"
