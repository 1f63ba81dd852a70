"""The walkthrough's order is the reverse pass's: a node's sum comes after every path it adds
up, and its own steps after its sum (issue 12 item 1). Checked on every sample's text, and on
the walk itself over random DAGs."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.engine import Request, run
from backprop_cli.render.tree import _walk
from backprop_cli.source import from_text

SAMPLES = ["linear", "branch", "circuit", "sigmoid-neuron", "two-layer"]
PRODUCT = re.compile(r"= (\S+)   \(path (\d+) of (\d+)\)")
SUM = re.compile(r"branches add up: ∂\S+/∂(\S+) = (.+) = \S+$")


@pytest.mark.parametrize("sample", SAMPLES + ["x*x*x"])
def test_every_sum_line_comes_after_its_terms(cli, sample):
    args = ["explain", "f = x*x*x", "--at", "x=2"] if sample == "x*x*x" else ["explain", "--sample", sample]
    code, out, _ = cli(*args)
    assert code == 0
    seen: list[str] = []
    sums = 0
    for line in out.splitlines():
        product = PRODUCT.search(line)
        if product:
            seen.append(product.group(1))
        total = SUM.search(line)
        if total:
            sums += 1
            terms = [t.strip("()") for t in total.group(2).split(" + ")]
            for term in terms:
                assert term in seen, (sample, line)
                seen.remove(term)
    assert sums >= (0 if sample in ("linear", "circuit", "sigmoid-neuron") else 1)


@st.composite
def dags(draw):
    """Random programs whose names are reused, so that nodes have several consumers."""
    names = ["a", "b", "c"]
    lines = []
    for i in range(draw(st.integers(2, 6))):
        left, right = draw(st.sampled_from(names)), draw(st.sampled_from(names))
        op = draw(st.sampled_from(["+", "*", "-"]))
        function = draw(st.sampled_from(["", "tanh", "sin"]))
        expr = f"{left} {op} {right}"
        lines.append(f"h{i} = {function}({expr})" if function else f"h{i} = {expr}")
        names.append(f"h{i}")
    lines.append("L = " + " * ".join(draw(st.lists(st.sampled_from(names), min_size=2, max_size=4))))
    return "\n".join(lines)


@settings(max_examples=120, deadline=None)
@given(dags())
def test_the_walk_sums_after_every_path_and_expands_after_the_sum(program):
    values = {"a": "1/2", "b": "-1/3", "c": "2"}
    at = ", ".join(f"{n}={v}" for n, v in values.items() if re.search(rf"\b{n}\b", program))
    report = run(Request(from_text(program + f"\n# at: {at}")))
    trace = report.trace
    steps_from: dict[int, list[int]] = {}
    for i, step in enumerate(trace.steps):
        steps_from.setdefault(step.consumer, []).append(i)
    printed: list[int] = []
    expanded_at: dict[int, int] = {}  # node → position of its last path (where it is summed)
    for step_index, parent, k, n, summed in _walk(trace, steps_from):
        source = trace.steps[step_index].source
        consumer = trace.steps[step_index].consumer
        if consumer != trace.output:  # an edge out of a node is printed only once that node is complete
            assert consumer in expanded_at, program
        printed.append(step_index)
        if k == n:
            expanded_at[source] = len(printed)
            if summed is not None:
                assert sorted(summed) == sorted(trace.paths_into[source])
                assert all(s in printed for s in summed)
    assert sorted(printed) == list(range(len(trace.steps)))  # every edge once
