"""The numeric mode over whole columns (vectorised.py) against the per-node float path.

Random programs over every primitive, replicated over many copies with points of their own
(zeros for kinks and domain edges, ties for max/min) and summed, so that each template forms
groups of many nodes; shared inputs and constants run through all copies. Both paths must give
the same values, local derivatives, kinks, contributions, sweep order and gradients to the last
bit — or the same error.
"""

import math
import re

import pytest

from hypothesis import HealthCheck, given, settings as hypothesis_settings
from hypothesis import strategies as st

from backprop_cli import settings, vectorised
from backprop_cli.engine import Request, load
from backprop_cli.errors import BackpropError
from backprop_cli.forward import run_forward
from backprop_cli.primitives import PRIMITIVES
from backprop_cli.source import BindingText, from_text
from backprop_cli.sweeps import run_backward

FUNCTIONS = sorted(name for name, p in PRIMITIVES.items() if p.operator is None)  # every function, by the table
OPERATORS = ["+", "-", "*", "/", "^"]
COPY_INPUTS = ["x", "y"]  # each copy has its own x_k, y_k
POINTS = ["0", "1/3", "-2/5", "7/4", "1/7", "2", "-1", "1/3"]  # 1/3 twice: ties for max and min


@st.composite
def expressions(draw, depth):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(["{x}", "{y}", "{x}", "s", "2", "1/2", "3"]))
    kind = draw(st.sampled_from(["function", "operator", "operator", "neg"]))
    if kind == "neg":
        return f"(-{draw(expressions(depth - 1))})"
    if kind == "operator":
        op = draw(st.sampled_from(OPERATORS))
        left, right = draw(expressions(depth - 1)), draw(expressions(depth - 1))
        if op == "^":
            right = draw(st.sampled_from(["2", "3", "(-1)", "(1/2)", right]))
        return f"({left} {op} {right})"
    name = draw(st.sampled_from(FUNCTIONS))
    arity = PRIMITIVES[name].arity
    if 2 in arity and (1 not in arity or draw(st.booleans())):
        if name in ("log", "leaky_relu"):  # a constant parameter: a base, a slope
            return f"{name}({draw(expressions(depth - 1))}, {draw(st.sampled_from(['2', '1/5']))})"
        return f"{name}({draw(expressions(depth - 1))}, {draw(expressions(depth - 1))})"
    return f"{name}({draw(expressions(depth - 1))})"


@st.composite
def replicated_programs(draw):
    """(program text, bindings text): statements f_k = expr(x_k, y_k, s) for k copies, summed."""
    body = [draw(expressions(3)) for _ in range(draw(st.integers(1, 2)))]
    copies = draw(st.integers(6, 12))
    lines, bindings = [], [f"s={draw(st.sampled_from(POINTS))}"]
    for k in range(copies):
        for i, expression in enumerate(body):
            lines.append(f"f{i}_{k} = " + expression.format(x=f"x{k}", y=f"y{k}"))
        bindings += [f"x{k}={draw(st.sampled_from(POINTS))}", f"y{k}={draw(st.sampled_from(POINTS))}"]
    lines.append("L = " + " + ".join(f"f{i}_{k}" for k in range(copies) for i in range(len(body))))
    text = "\n".join(lines)
    used = set(re.findall(r"[a-z]\w*", text))
    return text, ", ".join(b for b in bindings if b.split("=")[0] in used)


def _bits(column) -> list:
    """Floats by their bits (-0.0 is not 0.0); anything else (None, Undefined) by its repr."""
    return [x.hex() if isinstance(x, float) else repr(x) for x in column]


def _run(text: str, at: str, vectorise: bool, monkeypatch):
    monkeypatch.setattr(settings, "VECTORISED_MIN_NODES", 0 if vectorise else 10**9)
    monkeypatch.setattr(vectorised, "MIN_GROUP_SIZE", 1)
    graph, bindings = load(Request(source=from_text(text), at=[BindingText(at, "--at")]))
    try:
        forward = run_forward(graph, bindings, numeric=True)
        return forward, run_backward(forward)
    except BackpropError as error:
        return error, None


def assert_same_runs(text: str, at: str, monkeypatch) -> bool:
    """Both paths agree; True when the columns (not the per-node fallback) computed the result."""
    columns, columns_trace = _run(text, at, True, monkeypatch)
    nodes, nodes_trace = _run(text, at, False, monkeypatch)
    if isinstance(nodes, BackpropError):
        assert isinstance(columns, BackpropError), text
        assert (columns.message, columns.span, columns.hint) == (nodes.message, nodes.span, nodes.hint)
        return False
    assert not isinstance(columns, BackpropError), (text, columns)
    assert _bits(columns.column) == _bits(nodes.column)
    assert _bits(columns_trace.locals.local) == _bits(nodes_trace.locals.local)
    assert columns_trace.locals.kink == nodes_trace.locals.kink
    assert columns_trace.locals.variable == nodes_trace.locals.variable
    assert columns_trace.locals.kinks == nodes_trace.locals.kinks
    assert columns_trace.order == nodes_trace.order
    assert _bits(columns_trace.contributions) == _bits(nodes_trace.contributions)
    assert _bits(columns_trace.gradient_column) == _bits(nodes_trace.gradient_column)
    return columns.flat is not None


@hypothesis_settings(max_examples=250, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(replicated_programs())
def test_columns_equal_the_per_node_path_on_random_programs(monkeypatch, program):
    assert_same_runs(*program, monkeypatch)


def _layer_program(width: int = 40, inputs: int = 30) -> tuple[str, str]:
    """A relu layer, a sigmoid layer and a squared error: shared inputs, fan-out, kinks (x = 0)."""
    lines = []
    for j in range(width):
        lines.append(f"h{j} = relu(" + " + ".join(f"w{j}_{i}*x{i}" for i in range(inputs)) + f" + b{j})")
    lines.append("y = sigmoid(" + " + ".join(f"v{j}*h{j}" for j in range(width)) + ")")
    lines.append("L = (y - t)^2/2")
    values = [f"x{i}={(i % 7 - 3) / 4}" for i in range(inputs)]
    values += [f"w{j}_{i}={((i * 31 + j * 17) % 11 - 5) / 10}" for j in range(width) for i in range(inputs)]
    values += [f"b{j}={0 if j % 5 == 0 else (j % 3 - 1) / 8}" for j in range(width)]
    values += [f"v{j}={(j % 9 - 4) / 6}" for j in range(width)] + ["t=1/2"]
    return "\n".join(lines), ", ".join(values)


def test_a_network_runs_over_columns_bit_for_bit(monkeypatch):
    assert assert_same_runs(*_layer_program(), monkeypatch)


def test_a_unit_at_zero_is_a_kink_found_by_the_per_node_code(monkeypatch):
    text = "\n".join(f"h{k} = relu(x{k})" for k in range(10)) + "\nL = " + " + ".join(f"h{k}" for k in range(10))
    at = ", ".join(f"x{k}={0 if k in (3, 7) else k + 1}" for k in range(10))
    assert assert_same_runs(text, at, monkeypatch)
    _, trace = _run(text, at, True, monkeypatch)
    assert [trace.graph.nodes[i].name for i in trace.kinks] == ["h7", "h3"]


def test_a_value_outside_a_domain_is_the_per_node_error(monkeypatch):
    text = "\n".join(f"h{k} = log(x{k})" for k in range(10)) + "\nL = " + " + ".join(f"h{k}" for k in range(10))
    at = ", ".join(f"x{k}={-1 if k == 6 else k + 1}" for k in range(10))
    columns, _ = _run(text, at, True, monkeypatch)
    assert isinstance(columns, BackpropError)
    assert columns.message.startswith("h6 = log(x6) is undefined at this point")


def test_a_partial_without_a_value_is_carried_by_the_per_node_sweep(monkeypatch):
    # ∂(x^y)/∂y = x^y·log(x) has no value at x = 0: the gradients whose paths need it are undefined
    text = "\n".join(f"h{k} = x{k}^y{k}" for k in range(10)) + "\nL = " + " + ".join(f"h{k}" for k in range(10))
    at = ", ".join(f"x{k}={0 if k == 2 else k + 1}, y{k}=2" for k in range(10))
    assert_same_runs(text, at, monkeypatch)
    _, trace = _run(text, at, True, monkeypatch)
    undefined = {trace.graph.nodes[i].name for i in trace.undefined}
    assert "y2" in undefined and not undefined & {f"{v}{k}" for v in "xy" for k in range(10) if k != 2}


def test_small_groups_keep_the_per_node_path(monkeypatch):
    monkeypatch.setattr(settings, "VECTORISED_MIN_NODES", 0)
    chain = "h0 = x\n" + "\n".join(f"h{i} = tanh(h{i - 1})*a" for i in range(1, 200))
    graph, bindings = load(Request(source=from_text(chain), at=[BindingText("x=1/2, a=2", "--at")]))
    assert run_forward(graph, bindings, numeric=True).flat is None


@pytest.mark.parametrize("function", ["max", "min"])
def test_a_tie_of_zeros_keeps_the_first_as_python_does(monkeypatch, function):
    # max(0.0, -0.0) is 0.0 in Python, and numpy's maximum may give -0.0 (hypothesis found it)
    text = "\n".join(f"f{k} = {function}(x{k}, (-x{k}))" for k in range(6)) + "\nL = " + " + ".join(
        f"f{k}" for k in range(6))
    assert assert_same_runs(text, ", ".join(f"x{k}=0" for k in range(6)), monkeypatch)


POINTS_FOR_EVERY_PRIMITIVE = [-2.5, -1.0, -0.5, -1e-3, 0.0, 0.3, 0.5, 1.0, 1.5, 3.0, 40.0]


@pytest.mark.parametrize("name", sorted(n for n, p in PRIMITIVES.items() if p.arity != (-1,)))
def test_every_primitive_over_columns_is_the_float_path_to_the_bit(name):
    """Each row of the table, value and partials, compiled for the columns and for floats, at
    points on both signs (a value outside the domain is nan over columns, an error per node)."""
    import numpy as np

    from backprop_cli.numbers import compile_part
    from backprop_cli.templates import template

    arity = min(PRIMITIVES[name].arity)
    tmpl = template(name, (None,) * arity, None)
    grid = np.array(np.meshgrid(*[POINTS_FOR_EVERY_PRIMITIVE] * tmpl.arity)).reshape(tmpl.arity, -1)
    for which in ["value", *range(len(tmpl.partials))]:
        columns = compile_part(tmpl, which, "float-columns")
        floats = compile_part(tmpl, which, "float")
        with np.errstate(all="ignore"):
            got = np.broadcast_to(np.asarray(columns(*grid), dtype=np.float64), grid.shape[1:])
        for k, point in enumerate(grid.T.tolist()):
            try:
                expected = float(floats(*point))
            except (ValueError, ZeroDivisionError, OverflowError, TypeError):
                expected = math.nan
            if isinstance(expected, float) and math.isfinite(expected):
                assert got[k].hex() == expected.hex(), (name, which, point)
            else:
                assert not math.isfinite(got[k]), (name, which, point)


@pytest.mark.parametrize("failure,message", [
    ("log(w3 - 1)", "'log(w3 - 1)' is undefined at this point: math domain error"),
    ("1/(w5 - w5)", "'1/(w5 - w5)' is undefined at this point: division by zero"),
    ("exp(1000*x4)", "'exp(1000*x4)' is undefined at this point"),
])
def test_a_value_that_is_not_finite_is_worded_from_its_own_node_only(monkeypatch, failure, message):
    """Over columns, the first node whose value is not finite is evaluated per node to word the
    error (issue 15 item 1): the same error as the per-node pass, without running that pass."""
    from backprop_cli import forward as forward_module

    terms = 40
    at = ", ".join(f"w{i}={(i % 7 - 3) / 10}, x{i}={(i % 5) / 4}" for i in range(terms))
    text = "L = " + " + ".join(f"tanh(w{i}*x{i})" for i in range(terms)) + f" + {failure} + sqrt(w5 - 2)"
    per_node = _run(text, at, False, monkeypatch)[0]
    calls = []
    real = forward_module.forward_values
    monkeypatch.setattr(forward_module, "forward_values", lambda *a: calls.append(1) or real(*a))
    columns = _run(text, at, True, monkeypatch)[0]
    assert isinstance(columns, BackpropError) and message in columns.message
    assert (columns.message, columns.span) == (per_node.message, per_node.span)
    assert calls == []  # the per-node pass never ran
