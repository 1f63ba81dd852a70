"""explain --forward: the tangent sweep, shown, on every sample and in every view."""

import re
import unicodedata

import pytest
import sympy as sp

from backprop_cli.numbers import as_sympy

from backprop_cli.engine import Request, run
from backprop_cli.source import from_sample

SAMPLES = ["linear", "branch", "circuit", "sigmoid-neuron", "two-layer"]


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def test_colahs_branch_example_ends_in_5_and_agrees_with_reverse_mode(cli):
    code, out, err = cli("explain", "--sample", "branch", "--forward", "--wrt", "b")
    out = nfc(out)
    assert code == 0, err
    assert "c = a + b = 3\n    ċ = ȧ + ḃ = 0 + 1 = 1\n" in out
    assert "d = b + 1 = 2\n    ḋ = ḃ = 1\n" in out
    assert "e = c * d = 6\n    ė = d·ċ + c·ḋ = 2·1 + 3·1 = 5\n" in out
    assert "Result: ∂e/∂b = 5, the derivative along v\nreverse mode gives ∇e·v = 5: they agree ✓" in out
    assert re.search(r"central difference along v: 5 \(error \d\.\de-\d+\) ✓", out)
    assert "forward mode needs one pass per input for the full gradient (2 passes for this program)" in out
    assert "one pass for all of them" in out


@pytest.mark.parametrize("sample", SAMPLES)
def test_tangents_of_every_sample_equal_sympy_along_the_direction(sample):
    """Every node's tangent against SymPy: the node's flattened expression differentiated along v."""
    report = run(Request(from_sample(sample), forward_mode=True, tangent=_direction(sample)))
    (tangent_pass,) = report.tangent_passes
    trace = report.trace
    graph = trace.graph
    symbols = {graph.nodes[i].name: sp.Symbol(graph.nodes[i].name, real=True) for i in graph.inputs}
    point = {symbols[n]: v for n, v in trace.forward.bindings.items()}
    direction = {symbols[graph.nodes[i].name]: v.exact for i, v in tangent_pass.direction.items()}
    flattened: dict[int, sp.Expr] = {}
    for node in graph.nodes:  # the oracle: each node as one SymPy expression of the inputs
        if node.kind.value == "input":
            flattened[node.index] = symbols[node.name]
        elif node.kind.value == "constant":
            flattened[node.index] = as_sympy(node.constant)
        else:
            tmpl = trace.forward.templates[node.index]
            args = [flattened[node.args[p]] for p in tmpl.variable_positions]
            flattened[node.index] = tmpl.symbolic.value.xreplace(dict(zip(tmpl.symbolic.variables, args)))
    for index, tangent in tangent_pass.tangents.items():
        expected = sum(sp.diff(flattened[index], s) * v for s, v in direction.items())
        want = sp.N(expected.subs(point), 60)
        if tangent.exact is not None:
            assert abs(sp.N(tangent.exact - want, 60)) < 1e-40, (sample, graph.nodes[index].label)
        assert abs(sp.Float(tangent.approx, 50) - want) < 1e-40 * max(1, abs(want)), (sample, graph.nodes[index].label)
    assert tangent_pass.agrees is True and tangent_pass.ok is True


def _direction(sample: str) -> str:
    report = run(Request(from_sample(sample)))
    names = [report.trace.graph.nodes[i].name for i in report.trace.graph.inputs]
    return ", ".join(f"{n}={(-1) ** k * (k + 1)}" for k, n in enumerate(names))


def test_json_follows_the_spec(cli_json):
    data = cli_json("explain", "--sample", "branch", "--forward", "--wrt", "b")
    assert data["passes"] == {"forward": 2, "reverse": 1}
    (entry,) = data["forward"]
    assert entry["direction"] == {"b": "1"}
    assert entry["result"] == {"exact": "5", "float": 5.0, "is_exact": True}
    assert entry["reverse"]["exact"] == "5" and entry["agrees"] is True and entry["ok"] is True
    assert [t["exact"] for t in entry["tangents"]] == ["0", "1", "1", "0", "1", "5"]  # a, b, c, the literal 1, d, e
    assert entry["tangents"][5] == {"id": 5, "exact": "5", "float": 5.0}


def test_one_pass_per_input_without_a_direction(cli_json):
    data = cli_json("explain", "--sample", "circuit", "--forward")
    assert [e["direction"] for e in data["forward"]] == [{"x": "1"}, {"y": "1"}, {"z": "1"}]
    assert [e["result"]["exact"] for e in data["forward"]] == ["-4", "-4", "3"]


def test_chinese(cli):
    code, out, _ = cli("explain", "--sample", "branch", "--forward", "--wrt", "b", "--lang", "zh")
    out = nfc(out)
    assert code == 0
    assert "前向模式，沿方向 v：ḃ = 1（其他输入的切向量为 0）" in out
    assert "结果：∂e/∂b = 5，即沿 v 的导数\n反向模式给出 ∇e·v = 5：两者一致 ✓" in out
    assert "代价：前向模式要得到完整梯度，每个输入各需一遍（这个程序共 2 遍）" in out


def test_markdown(cli):
    code, out, _ = cli("explain", "--sample", "branch", "--tangent", "a=1, b=-1", "--format", "markdown")
    out = nfc(out)
    assert code == 0
    assert "## Forward mode along v: ȧ = 1, ḃ = -1 (every other input's tangent is 0)" in out
    assert "| `e = c * d` | `= 6` | `ė = d·ċ + c·ḋ = 2·0 + 3·(-1) = -3` | `-3` |" in out


def test_numeric_mode_and_symbolic_mode(cli_json):
    numeric = cli_json("explain", "--sample", "branch", "--forward", "--wrt", "b", "--numeric")["forward"][0]
    assert numeric["result"]["float"] == 5.0 and numeric["agrees"] is True and numeric["ok"] is True
    symbolic = cli_json("explain", "c = a + b; d = b + 1; e = c*d", "--forward", "--wrt", "b")["forward"][0]
    assert symbolic["result"]["exact"] == "a + 2*b + 1" and symbolic["agrees"] is True
    assert symbolic["fd"] is None and symbolic["ok"] is None


def test_bad_directions_are_clear_errors(cli):
    code, _, err = cli("explain", "--sample", "branch", "--tangent", "q=1")
    assert code == 2 and "--tangent q: 'q' is not an input; the inputs are: a, b" in err
    code, _, err = cli("explain", "--sample", "branch", "--forward", "--wrt", "c")
    assert code == 2 and "forward mode starts from an input, and 'c' is assigned" in err
    code, _, err = cli("explain", "--sample", "branch", "--tangent", "a")
    assert code == 2 and "name=value" in err


def test_every_direction_of_the_two_layer_net_agrees_with_reverse_mode(cli_json):
    """Exact results that SymPy does not see equal in form ((-2 + 2*tanh(3/2)^2)*... and
    (1 - tanh(3/2)^2)*...) agree to their 50 digits."""
    passes = cli_json("explain", "--sample", "two-layer", "--forward")["forward"]
    assert len(passes) == 12 and all(p["agrees"] is True and p["ok"] is True for p in passes)
