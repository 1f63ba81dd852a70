"""Shape inference and its errors, word for word (SPEC §1b).

A shape mistake is worded once, before any number is computed: it names both shapes, points at the
operator (the error's span is the expression) and suggests the likely fix. The sentences are part of
the contract, so each is asserted exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from backprop_cli.engine import analyse, program_shapes
from backprop_cli.errors import BackpropError
from backprop_cli.graph import build_graph
from backprop_cli.parse import parse_program


def ones(*shape):
    if not shape:
        return sp.Integer(1)
    array = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        array[index] = sp.Integer(1)
    return array


def graph_of(program, of=None):
    return build_graph(parse_program(program), program, of=of)


def shape_error(program, shapes, of=None) -> BackpropError:
    """The error of analysing `program` with inputs of these shapes (all entries 1)."""
    graph = graph_of(program, of)
    with pytest.raises(BackpropError) as caught:
        analyse(graph, {name: ones(*shape) for name, shape in shapes.items()})
    return caught.value


def graph_error(program) -> BackpropError:
    with pytest.raises(BackpropError) as caught:
        graph_of(program)
    return caught.value


def pointed_at(error, program) -> str:
    return program[error.span.start:error.span.end]


def shapes_of(program, shapes):
    graph = graph_of(program)
    result = program_shapes(graph, {name: ones(*shape) for name, shape in shapes.items()})
    return graph, result


# ---------------------------------------------------------------- @


@pytest.mark.parametrize("program, shapes, message, hint", [
    ("L = sum(W1 @ x)", {"W1": (2, 3), "x": (2,)},
     "W1 @ x: (2, 3) @ (2,) — the inner sizes 3 and 2 differ", "did you mean W1.T @ x?"),
    ("L = sum(A @ B)", {"A": (2, 3), "B": (2, 4)},
     "A @ B: (2, 3) @ (2, 4) — the inner sizes 3 and 2 differ", "did you mean A.T @ B?"),
    ("L = sum(x @ W)", {"x": (3,), "W": (2, 3)},
     "x @ W: (3,) @ (2, 3) — the inner sizes 3 and 2 differ", "did you mean x @ W.T?"),
    ("L = sum(A @ B)", {"A": (2, 3), "B": (4, 2)},
     "A @ B: (2, 3) @ (4, 2) — the inner sizes 3 and 4 differ", "did you mean B @ A?"),
    ("L = sum(A @ B)", {"A": (2, 3), "B": (4, 5)},
     "A @ B: (2, 3) @ (4, 5) — the inner sizes 3 and 4 differ", None),
    ("L = x @ y", {"x": (2,), "y": (3,)},
     "x @ y: (2,) @ (3,) — the inner sizes 2 and 3 differ", None),
])
def test_matmul_inner_sizes(program, shapes, message, hint):
    error = shape_error(program, shapes)
    assert (error.message, error.hint) == (message, hint)
    assert pointed_at(error, program) == message.split(":")[0]
    assert error.source == program and error.origin == "program"


def test_the_spec_example_renders_with_its_hint():
    error = shape_error("h = tanh(W1 @ x + b1)", {"W1": (2, 3), "x": (2,), "b1": (2,)})
    assert error.render().splitlines() == [
        "error: W1 @ x: (2, 3) @ (2,) — the inner sizes 3 and 2 differ",
        "  h = tanh(W1 @ x + b1)",
        "           ^^^^^^",
        "hint: did you mean W1.T @ x?",
    ]


@pytest.mark.parametrize("program, message, hint", [
    ("L = sum(W @ s)", "W @ s: @ multiplies vectors and matrices, and s is a scalar", "for a scalar, write W * s"),
    ("L = sum(s @ W)", "s @ W: @ multiplies vectors and matrices, and s is a scalar", "for a scalar, write s * W"),
    ("L = sum(W @ 2)", "W @ 2: @ multiplies vectors and matrices, and 2 is a scalar", "for a scalar, write W * 2"),
])
def test_matmul_with_a_scalar(program, message, hint):
    error = shape_error(program, {"W": (2, 3), "s": ()})
    assert (error.message, error.hint) == (message, hint)


# ---------------------------------------------------------------- broadcasting


def _cannot(text, pair, shapes):
    return f"{text}: {pair} — shapes {shapes} cannot be broadcast together (sizes must be equal, or 1)"


@pytest.mark.parametrize("program, shapes, message, hint", [
    ("L = sum(A + B)", {"A": (2, 3), "B": (3, 2)},
     _cannot("A + B", "(2, 3) + (3, 2)", "(2, 3) and (3, 2)"), "did you mean A.T?"),
    ("L = sum(A * B)", {"A": (2, 3), "B": (3, 2)},
     _cannot("A * B", "(2, 3) * (3, 2)", "(2, 3) and (3, 2)"), "did you mean A.T?"),
    ("L = sum(A / B)", {"A": (2, 3), "B": (3, 2)},
     _cannot("A / B", "(2, 3) / (3, 2)", "(2, 3) and (3, 2)"), "did you mean A.T?"),
    ("L = sum(A ^ B)", {"A": (2, 3), "B": (3, 2)},
     _cannot("A ^ B", "(2, 3) ^ (3, 2)", "(2, 3) and (3, 2)"), "did you mean A.T?"),
    ("L = sum(max(A, B))", {"A": (2, 3), "B": (3, 2)},
     _cannot("max(A, B)", "(2, 3), (3, 2)", "(2, 3) and (3, 2)"), "did you mean A.T?"),
    ("L = sum(A + b)", {"A": (2, 3), "b": (2,)},
     _cannot("A + b", "(2, 3) + (2,)", "(2, 3) and (2,)"), None),
    ("L = sum(x * y)", {"x": (2,), "y": (3,)},
     _cannot("x * y", "(2,) * (3,)", "(2,) and (3,)"), None),
    # regression: a subtraction was shown as `(2, 3) + (3, 2)` (the sum node's signs were ignored)
    ("L = sum(A - B)", {"A": (2, 3), "B": (3, 2)},
     _cannot("A - B", "(2, 3) - (3, 2)", "(2, 3) and (3, 2)"), "did you mean A.T?"),
    ("L = sum(A - A + B)", {"A": (2, 3), "B": (3, 2)},
     _cannot("A - A + B", "(2, 3) - (2, 3) + (3, 2)", "(2, 3) and (3, 2)"), "did you mean A.T?"),
    ("L = sum(x - y - x)", {"x": (2,), "y": (3,)},
     _cannot("x - y - x", "(2,) - (3,) - (2,)", "(2,) and (3,)"), None),
    ("L = sum(A + A + B)", {"A": (2, 3), "B": (3, 2)},
     _cannot("A + A + B", "(2, 3) + (2, 3) + (3, 2)", "(2, 3) and (3, 2)"), "did you mean A.T?"),
])
def test_broadcast_failures(program, shapes, message, hint):
    error = shape_error(program, shapes)
    assert (error.message, error.hint) == (message, hint)
    assert pointed_at(error, program) == message.split(":")[0]


@pytest.mark.parametrize("program, shapes, shape", [
    ("L = sum(X + b)", {"X": (4, 3), "b": (3,)}, (4, 3)),
    ("L = sum(s * A)", {"s": (), "A": (2, 3)}, (2, 3)),
    ("L = sum(2 * A)", {"A": (2, 3)}, (2, 3)),
    ("L = sum(u * x)", {"u": (1,), "x": (3,)}, (3,)),
    ("L = sum(A + c)", {"A": (2, 3), "c": (2, 1)}, (2, 3)),
    # regression: a row and a column bias on a matrix were said to make "both operands grow"
    ("L = sum(A + r + c)", {"A": (2, 3), "r": (1, 3), "c": (2, 1)}, (2, 3)),
    ("L = sum(A * x + r)", {"A": (2, 3), "x": (3,), "r": (1, 3)}, (2, 3)),
])
def test_broadcasts_that_grow_one_operand_have_no_warning(program, shapes, shape):
    graph, result = shapes_of(program, shapes)
    assert result[graph.nodes[graph.output].args[0]] == shape
    assert result.warnings == []


@pytest.mark.parametrize("program, shapes, warning", [
    ("L = sum(a + b)", {"a": (3, 1), "b": (1, 3)}, "a + b: (3, 1) and (1, 3) broadcast to (3, 3)"),
    # regression: SPEC §1b's own example, (3,) with (3, 1), had no warning (only operands of the
    # result's rank were counted as growing)
    ("L = sum(a + b)", {"a": (3, 1), "b": (3,)}, "a + b: (3, 1) and (3,) broadcast to (3, 3)"),
    ("L = sum(b * a)", {"a": (3, 1), "b": (3,)}, "b * a: (3,) and (3, 1) broadcast to (3, 3)"),
    ("L = sum(a - b + 2)", {"a": (2, 1), "b": (3,)}, "a - b + 2: (2, 1) and (3,) broadcast to (2, 3)"),
])
def test_both_operands_growing_is_a_warning(program, shapes, warning):
    graph, result = shapes_of(program, shapes)
    node = graph.nodes[graph.output].args[0]
    assert result[node] == tuple(int(n) for n in warning.split("to (")[1].rstrip(")").split(", "))
    assert result.warnings == [(node, warning + "; both operands grow, which is rarely meant")]


# ---------------------------------------------------------------- the other tensor functions


@pytest.mark.parametrize("program, message", [
    ("L = sum(outer(A, x))", "outer(a, b) takes two vectors; given (2, 2) and (2,)"),
    ("L = sum(outer(x, A))", "outer(a, b) takes two vectors; given (2,) and (2, 2)"),
    ("L = sum(outer(s, x))", "outer(a, b) takes two vectors; given () and (2,)"),
])
def test_outer_of_non_vectors(program, message):
    error = shape_error(program, {"A": (2, 2), "x": (2,), "s": ()})
    assert (error.message, error.hint) == (message, "for matrices, write A @ B.T")
    assert pointed_at(error, program) == program[len("L = sum("):-1]


@pytest.mark.parametrize("function", ["softmax", "log_softmax"])
def test_softmax_of_a_scalar(function):
    error = shape_error(f"L = sum({function}(s))", {"s": ()})
    assert error.message == (f"{function}(s): {function} acts along the last axis of a vector or a matrix, "
                             "and s is a scalar")
    assert error.hint is None


def test_softmax_of_a_scalar_names_the_argument():
    """Regression: the sentence named a placeholder, `z is a scalar`, even where the program's z is
    a vector and the scalar is another value."""
    error = shape_error("L = sum(softmax(z @ z) * z)", {"z": (3,)})
    assert error.message == ("softmax(z @ z): softmax acts along the last axis of a vector or a matrix, "
                             "and z @ z is a scalar")


@pytest.mark.parametrize("program, shapes, message, hint", [
    ("L = sum(x, 1)", {"x": (3,)}, "sum(x, 1): x has shape (3,), which has no axis 1", "sum(x) reduces over every entry"),
    ("L = sum(x, 0)", {"x": ()}, "sum(x, 0): x has shape (), which has no axis 0", "sum(x) reduces over every entry"),
    ("L = mean(x, -1)", {"x": ()}, "mean(x, -1): x has shape (), which has no axis -1",
     "mean(x) reduces over every entry"),
    ("m = mean(x, 1); L = sum(m)", {"x": (2,)}, "mean(x, 1): x has shape (2,), which has no axis 1",
     "mean(x) reduces over every entry"),
    # regression: the sentence said `sum(x, 1): x has shape (3,)` whatever the argument, here beside
    # an x of another shape
    ("L = sum(h, 1) + sum(x)", {"h": (3,), "x": (2, 3)}, "sum(h, 1): h has shape (3,), which has no axis 1",
     "sum(h) reduces over every entry"),
    ("L = mean(x @ x, -1) + sum(x)", {"x": (3,)},
     "mean(x @ x, -1): x @ x has shape (), which has no axis -1", "mean(x @ x) reduces over every entry"),
])
def test_reduction_axis_out_of_range(program, shapes, message, hint):
    error = shape_error(program, shapes)
    assert (error.message, error.hint) == (message, hint)


@pytest.mark.parametrize("program, function", [
    ("L = sum(x, 2)", "sum"), ("L = mean(x, -2)", "mean"), ("L = sum(x, 1/2)", "sum"), ("L = sum(x, k)", "sum"),
])
def test_reduction_axis_must_be_0_1_or_minus_1(program, function):
    error = graph_error(program)
    assert error.message == f"the axis of {function}(x, axis) must be 0, 1 or -1"
    assert error.hint == f"{function}(x) reduces over every entry"


# ---------------------------------------------------------------- the output must be a scalar


@pytest.mark.parametrize("program, of, message, hint", [
    ("y = W @ x", None, "the output y has shape (2,); the output must be a scalar",
     "reduce it, e.g. sum(y) or mean(y), or name a scalar with --of"),
    ("W @ x", None, "the output f has shape (2,); the output must be a scalar",
     "reduce it, e.g. sum(f) or mean(f), or name a scalar with --of"),
    ("h = outer(x, x); L = sum(h)", "h", "the output h has shape (3, 3); the output must be a scalar",
     "reduce it, e.g. sum(h) or mean(h), or name a scalar with --of"),
])
def test_a_tensor_output_is_an_error(program, of, message, hint):
    error = shape_error(program, {"W": (2, 3), "x": (3,)}, of=of)
    assert (error.message, error.hint) == (message, hint)


# ---------------------------------------------------------------- literals


def test_literal_with_tensor_entries():
    error = shape_error("L = sum([x, 1])", {"x": (2,)})
    assert error.message == "the entries of a literal must be scalars; x has shape (2,)"
    assert error.hint == "write a matrix as a list of rows of numbers: [[1, 0], [0, 1]]"
    error = shape_error("L = sum([[1, 2], [sum(A, 0), 3]])", {"A": (2, 2)})
    assert error.message == "the entries of a literal must be scalars; sum(A, 0) has shape (2,)"


def test_ragged_rows():
    error = graph_error("L = sum([[1, 2], [3]])")
    assert error.message == "the rows of a matrix must have equal lengths: this row has 1 entry, the first has 2"
    assert error.hint is None
    assert pointed_at(error, "L = sum([[1, 2], [3]])") == "[3]"


def test_rank_3_literal():
    for program, entry in [("L = sum([[[1]], [[2]]])", "[1]"), ("L = sum([[1, [2]], [3, 4]])", "[2]")]:
        error = graph_error(program)
        assert error.message == "a literal of rank 3: vectors and matrices (rank 1 and 2) are enough"
        assert pointed_at(error, program) == entry


def test_matrix_literal_of_rows_and_numbers():
    error = graph_error("L = sum([1, [2, 3]])")
    assert error.message == "a matrix literal is a list of rows: every item must be a list"
    assert error.hint == "e.g. [[1, 0], [0, 1]]"


@pytest.mark.parametrize("program, shape", [
    ("v = [1, 2, 3]; L = sum(v)", (3,)), ("M = [[1, 0], [0, 1], [2, 2]]; L = sum(M)", (3, 2)),
    ("M = [[x, 1]]; L = sum(M)", (1, 2)), ("v = [x]; L = sum(v)", (1,)),
])
def test_literal_shapes(program, shape):
    graph, result = shapes_of(program, {"x": ()})
    assert result[graph.names[program[0]]] == shape
    assert result.tensor


@pytest.mark.parametrize("program", ["L = sum(tanh(T))", "L = sum(T @ x)", "L = sum(T, 1)"])
def test_a_rank_3_binding_is_an_error(program):
    """Regression: a rank-3 value bound to an input was taken as it is (SPEC §1b: a higher rank is a
    clear error): entry-wise ops ran over it, `T @ x` crashed with numpy's ValueError."""
    error = shape_error(program, {"T": (2, 2, 2), "x": (2,)})
    assert error.message == ("T is bound to a value of shape (2, 2, 2), rank 3: vectors and matrices "
                             "(rank 1 and 2) are enough")
    assert pointed_at(error, program) == "T"


# ---------------------------------------------------------------- .T of a vector


@pytest.mark.parametrize("text", ["x.T", "transpose(x)"])
def test_transpose_of_a_vector_is_a_warning(text):
    graph, result = shapes_of(f"y = {text}; L = sum(y)", {"x": (3,)})
    node = graph.names["y"]
    assert result[node] == (3,)
    assert result.warnings == [(node, f"{text}: a vector (3,) is its own transpose (as in NumPy, there are no row "
                                      "or column vectors; use outer(a, b) for a·bᵀ)")]


# ---------------------------------------------------------------- every node's shape


def test_shapes_of_every_kind_of_node():
    program = ("a = W @ x; b = x @ W.T; c = x @ x; d = W @ W.T; e = outer(a, x); g = sum(W, 0); h = mean(W, -1); "
               "k = transpose(W); m = softmax(W); n = log_softmax(x); o = sum(W); p = W + x; L = c")
    graph, result = shapes_of(program, {"W": (2, 3), "x": (3,)})
    shapes = {name: result[index] for name, index in graph.names.items()}
    assert shapes == {"W": (2, 3), "x": (3,), "a": (2,), "b": (2,), "c": (), "d": (2, 2), "e": (2, 3), "g": (3,),
                      "h": (2,), "k": (3, 2), "m": (2, 3), "n": (3,), "o": (), "p": (2, 3), "L": ()}
    assert result.entries == sum(int(np.prod(s)) for s in result.shapes)
    assert result.warnings == []


def test_a_tensor_op_on_scalars_takes_the_tensor_path():
    graph, result = shapes_of("L = sum(x)", {"x": ()})
    assert result is not None and result.tensor and result.shapes[graph.output] == ()


@pytest.mark.parametrize("program", ["L = (w*x + b - t)^2 / 2", "h = tanh(w1*x1 + w2*x2); L = log(1 + exp(-h))",
                                     "f = max(a, b) * relu(a - b)"])
def test_scalar_programs_have_no_shapes(program):
    graph = graph_of(program)
    assert program_shapes(graph, {graph.nodes[i].name: sp.Integer(2) for i in graph.inputs}) is None


def test_matrix_literal_with_a_number_after_a_row():
    error = graph_error("L = sum([[1, 2], 3])")
    assert error.message == "a matrix literal is a list of rows: every item must be a list"
