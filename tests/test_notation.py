"""Human views write formulas in the program's notation (SPEC §6): never SymPy's `**`,
`Heaviside`, `Piecewise`, `sign` or `Max`, in any view of any sample or of random programs."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SAMPLES = ["linear", "branch", "circuit", "sigmoid-neuron", "two-layer"]
FORBIDDEN = re.compile(r"\*\*|Heaviside|Piecewise|\bsign\(|\bMax\(|\bMin\(|\bAbs\(")
VIEWS = [["explain"], ["explain", "--format", "markdown"], ["grad"], ["graph", "--format", "text"],
         ["graph", "--format", "dot"], ["explain", "--forward"]]


@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize("view", VIEWS, ids=lambda v: "-".join(v))
def test_no_sympy_notation_in_any_view_of_any_sample(cli, sample, view):
    code, out, err = cli(*view, "--sample", sample)
    assert code == 0, err
    assert not FORBIDDEN.search(out), FORBIDDEN.search(out).group()


KINKY = ["f = max(a, b)*abs(c) + relu(a - b)", "f = min(a, b)^2 - abs(a*b*c)", "f = leaky_relu(a, 1/5)*elu(b) + c"]


@pytest.mark.parametrize("program", KINKY)
@pytest.mark.parametrize("at", ["a=1, b=2, c=-3", "a=0, b=0, c=0", None])
def test_no_sympy_notation_for_kinks_and_formulas(cli, program, at):
    for view in (["explain"], ["explain", "--format", "markdown"], ["grad"], ["graph", "--format", "text"]):
        code, out, err = cli(*view, program, *(["--at", at] if at else []))
        assert code == 0, err
        assert not FORBIDDEN.search(out), (view, program, at, FORBIDDEN.search(out).group())


FUNCTIONS = ["tanh", "sigmoid", "exp", "relu", "abs", "sqrt", "softplus", "gelu", "silu", "elu", "erf"]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(FUNCTIONS), st.sampled_from(["+", "-", "*", "/"]),
                          st.sampled_from(["x", "y", "h0"])), min_size=1, max_size=3),
       st.booleans())
def test_no_sympy_notation_on_random_programs(cli, steps, bound):
    lines = ["h0 = x*y + 1"]
    for i, (function, op, name) in enumerate(steps, start=1):
        lines.append(f"h{i} = {function}(h{i - 1} {op} {name})^2")
    program = "\n".join(lines)
    code, out, err = cli("explain", program, *(["--at", "x=1/2, y=3/2"] if bound else []))
    if code == 2:  # outside a function's domain at the point: nothing to show
        return
    assert not FORBIDDEN.search(out), (program, FORBIDDEN.search(out).group())
