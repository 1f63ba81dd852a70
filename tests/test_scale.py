"""Number modes, the fast check, big output and deep graphs (issue: scale and speed).
Timing targets live in benchmarks/run.py, not here."""

import csv
import io
import json
import math

import pytest

from backprop_cli.finite_difference import CheckKind, CheckStatus
from backprop_cli.engine import NumberMode, Request, analyse, load, run
from backprop_cli.errors import BackpropError
from backprop_cli.render import json_view
from backprop_cli.render.json_view import render_json
from backprop_cli.source import BindingText, from_sample, from_text


def mlp_program(width: int, inputs: int) -> str:
    lines, values = [], {}
    for i in range(inputs):
        values[f"x{i}"] = f"{(i % 7) / 10 - 0.3:.1f}"
    for j in range(width):
        terms = []
        for i in range(inputs):
            values[f"w{j}_{i}"] = f"{((i * 31 + j * 17) % 13) / 20 - 0.3:.2f}"
            terms.append(f"w{j}_{i}*x{i}")
        lines.append(f"h{j} = tanh({' + '.join(terms)})")
    lines.append("L = (" + " + ".join(f"h{j}" for j in range(width)) + " - 1)^2/2")
    return "# at: " + ", ".join(f"{k}={v}" for k, v in values.items()) + "\n" + "\n".join(lines)


BIG = mlp_program(30, 30)  # 30 + 900 inputs, about 2,700 edges: numeric by the size rule


def test_the_size_rule_picks_the_numeric_mode_and_it_agrees_with_exact():
    graph, bindings = load(Request(from_text(BIG)))
    assert graph.size[0] > 2_000  # nodes or edges, whichever are more (n-ary sums: 900 products, 30 sums)
    numeric = analyse(graph, bindings, check=CheckKind.NONE)
    exact = analyse(graph, bindings, check=CheckKind.NONE, mode=NumberMode.EXACT)
    assert numeric.trace.forward.numeric and not exact.trace.forward.numeric
    for index in numeric.wrt:
        a, b = numeric.trace.gradients[index].approx, float(exact.trace.gradients[index].approx)
        assert abs(a - b) <= 1e-12 * max(1, abs(b))


def test_numeric_can_be_forced_on_a_small_program():
    report = run(Request(from_sample("linear"), mode=NumberMode.NUMERIC))
    assert report.trace.forward.numeric
    assert [report.trace.gradients[i].approx for i in report.wrt] == [-6.0, -9.0, -3.0, 3.0]
    assert all(c.status is CheckStatus.OK for c in report.checks)


def test_numeric_gradients_have_no_negative_zero():
    # A negative upstream through a dead relu gives -0.0 in float arithmetic; "-0" reads as a sign.
    report = run(Request(from_text("f = relu(x)*y"), [BindingText("x=-1,y=-2", "--at")], mode=NumberMode.NUMERIC))
    gradient = report.trace.gradients[report.trace.forward.graph.names["x"]].approx
    assert gradient == 0.0 and str(gradient) == "0.0"


def test_numeric_needs_every_input():
    with pytest.raises(BackpropError, match="--numeric needs a value for every input; unbound: w, b, t"):
        run(Request(from_text("y = w*x + b; L = (y - t)^2/2"), [BindingText("x=2", "--at")], mode=NumberMode.NUMERIC))
    # the output not needing one is no exception (a traceback in numeric mode before); automatic
    # mode leaves it a symbol in exact mode, as any unbound input
    with pytest.raises(BackpropError, match="--numeric needs a value for every input; unbound: z$"):
        run(Request(from_text("a = z*2; L = x*3"), [BindingText("x=1", "--at")], mode=NumberMode.NUMERIC))
    lines = [f"h{i} = tanh(w{i}*x)" for i in range(800)] + ["a = z*2", "L = " + " + ".join(f"h{i}" for i in range(800))]
    at = ", ".join([f"w{i}={i % 5 - 2}" for i in range(800)] + ["x=1/2"])
    report = run(Request(from_text("\n".join(lines)), [BindingText(at, "--at")]))
    assert not report.trace.numeric and report.ok  # past 2,000 nodes, with z unbound: exact


def test_the_fast_check_is_chosen_for_many_inputs_and_catches_a_wrong_gradient():
    graph, bindings = load(Request(from_text(BIG)))
    report = analyse(graph, bindings)
    assert report.method.startswith("directional")
    assert {c.status for c in report.checks} == {CheckStatus.OK}
    # Corrupt one gradient: the directional check must notice.
    from backprop_cli.finite_difference import directional_check
    from backprop_cli.numbers import Value

    victim = report.wrt[5]
    report.trace.gradients[victim] = Value(None, report.trace.gradients[victim].approx + 1e-3)
    checks, _ = directional_check(report.trace, report.wrt)
    assert {c.status for c in checks} == {CheckStatus.MISMATCH}


def test_check_choices(cli):
    code, out, _ = cli("grad", "--sample", "linear", "--check", "none", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["check"]["method"] == "none (--check none)"
    assert data["gradients"]["w"]["ok"] is None and data["gradients"]["w"]["status"] == "skipped"
    code, out, _ = cli("grad", "--sample", "linear", "--check", "fast", "--format", "json")
    data = json.loads(out)
    assert data["check"]["method"].startswith("directional") and data["check"]["ok"] is True


def test_exact_and_numeric_flags(cli):
    code, _, err = cli("grad", "--sample", "linear", "--exact", "--numeric")
    assert code == 2 and "exclude each other" in err
    code, out, _ = cli("grad", "--sample", "two-layer", "--numeric", "--format", "csv")
    rows = {r["input"]: r for r in csv.DictReader(io.StringIO(out))}
    assert float(rows["w11"]["float"]) == pytest.approx(0.7241237472306852, rel=1e-14)


def test_explain_on_a_big_graph_prints_a_summary(cli):
    code, out, _ = cli("explain", BIG, "--wrt", "h3,x0")
    assert code == 0
    assert out.startswith("Summary: ")
    assert "Gradients asked for with --wrt" in out and "The 10 largest gradients" in out
    assert "--full prints every step" in out
    assert "Numeric mode (past 2,000 nodes, or --numeric)" in out
    assert len(out.splitlines()) < 80


def test_grad_json_and_csv_print_everything(cli):
    code, out, _ = cli("grad", BIG, "--format", "csv")
    assert code == 0 and len(out.splitlines()) == 1 + 930
    code, out, _ = cli("grad", BIG, "--format", "json")
    assert len(json.loads(out)["gradients"]) == 930


def test_big_json_is_compact_and_carries_the_same_records_as_the_indented_form(monkeypatch):
    report = run(Request(from_text(BIG)))
    compact = render_json(report)
    monkeypatch.setattr(json_view, "PRETTY_JSON_MAX_NODES", 10**9)
    indented = render_json(report)
    assert compact.count("\n") == 1 and indented.count("\n") > 100_000
    data = json.loads(compact)
    assert data == json.loads(indented)
    assert len(data["nodes"]) == report.trace.output + 1 and len(data["edges"]) == len(report.trace.steps)
    assert data["edges"][0].keys() == {"from", "to", "position", "local_formula", "local", "upstream",
                                       "contribution", "kink"}


def test_a_deep_chain_of_10000_statements_works():
    program = "# at: x=1/2\nh0 = x\n" + "\n".join(f"h{i} = sin(h{i - 1}) + 1/10" for i in range(1, 10_001))
    report = run(Request(from_text(program)))
    assert report.trace.forward.numeric and report.ok
    assert report.checks[0].status is CheckStatus.OK


def test_a_long_sum_does_not_cost_quadratic_text():
    program = "# at: x=1\nf = " + " + ".join(["x"] * 20_000)
    report = run(Request(from_text(program)))
    assert report.trace.gradients[report.wrt[0]].approx == 20_000
    assert len(report.trace.forward.graph.nodes[report.trace.output].text) < 500


def test_honest_big_input_250000_nodes_is_accepted():
    """SPEC §7: 250,000 graph nodes and 4 MB of text are accepted (with their bindings in `# at:`)."""
    count = 84_000
    values = ", ".join(f"a{i}={i % 10}" for i in range(count))
    body = "\n".join(f"p{i} = sin(a{i}*a{(i + 1) % count})" for i in range(count))  # 3 nodes a line
    total = "L = " + " + ".join(f"p{i}" for i in range(count))
    program = f"# at: {values}\n{body}\n{total}\n"
    program += "#" + " " * (4_000_000 - len(program)) + "\n"  # padded past 4 MB
    graph, bindings = load(Request(from_text(program)))
    assert len(program) > 4_000_000 and len(graph.nodes) >= 250_000
    report = analyse(graph, bindings, check=CheckKind.NONE)
    a0 = graph.names["a0"]
    assert report.trace.gradients[a0].approx == 1.0 + 9.0  # ∂/∂a0 of a0*a1 + a62499*a0


def test_a_binding_beyond_floats_is_an_error_in_the_numeric_mode(cli):
    code, _, err = cli("grad", "f = x*2", "--at", "x=-10^400", "--numeric")
    assert code == 2
    assert "x = -1.00E+400 is beyond the range of floats (about 1.8e308), which the numeric mode uses" in err
    code, out, _ = cli("grad", "f = x*2", "--at", "x=-10^400", "--exact", "--format", "csv")
    assert code == 0 and out.splitlines()[1].startswith("x,")


# ---------------------------------------------------------------- numeric mode's own exact numbers (issue 15, item 3)


@pytest.mark.parametrize("program", ["1e400*x", "x + 1e400", "max(x, 1e400)", "1e309*x"])
def test_a_literal_beyond_floats_is_worded_in_numeric_mode(cli, program):
    code, _, err = cli("grad", program, "--at", "x=1", "--numeric")
    assert code == 2 and "beyond the range of floats" in err and "Traceback" not in err


@pytest.mark.parametrize("program", ["log(x, -1/2)", "log(x, -1)", "log(x, -E)", "log(x, log(1/2))", "x^(log(1/2, -2))"])
@pytest.mark.parametrize("mode", ["--numeric", "--exact"])
def test_a_constant_argument_that_is_not_real_is_an_error_not_a_traceback(cli, program, mode):
    code, _, err = cli("grad", program, "--at", "x=3/2", mode)
    assert code == 2 and "undefined at this point: its constant arguments make it undefined" in err
    assert "Traceback" not in err


def test_pi_and_e_stay_exact_constants_in_numeric_mode(cli):
    code, out, _ = cli("grad", "y = pi*x^2 - E + log(x, E)", "--at", "x=3/2", "--numeric", "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["gradients"]["x"]["float"] == pytest.approx(2 * math.pi * 1.5 + 1 / 1.5, rel=1e-15)
    constants = {n["label"]: n["value"]["exact"] for n in report["nodes"] if n["kind"] == "constant"}
    assert constants["pi"] == "pi" and constants["E"] == "E"


@pytest.mark.parametrize("at,message", [
    ("x=1e999/1e-999", "x = 1e999/1e-999 is about 10^1,998; values are limited to 10^±1,000"),
    ("x=1\u00a0/2", "unexpected character 'U+00A0' (NO-BREAK SPACE)"),
    ("x=1\u3000/2", "unexpected character 'U+3000' (IDEOGRAPHIC SPACE)"),
])
def test_a_ratio_in_bindings_is_held_to_the_limits_of_any_value(cli, at, message):
    code, _, err = cli("grad", "x^2", "--at", at, "--numeric")
    assert code == 2 and message in err


def test_plain_ratios_in_bindings_are_exact(cli):
    code, out, _ = cli("grad", "x*y*z", "--at", "x=1/3, y= -3 / 4 ,z=0.5/2", "--format", "csv")
    assert code == 0
    rows = {row.split(",")[0]: row.split(",") for row in out.splitlines()[1:]}
    assert rows["x"][1] == "1/3" and rows["y"][1] == "-3/4" and rows["z"][1] == "1/4"
    assert rows["x"][2] == "-3/16"  # ∂(xyz)/∂x = y*z exactly
