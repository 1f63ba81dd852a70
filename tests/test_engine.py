"""Forward, backward and the finite-difference check, through the engine's one call."""

import mpmath
import pytest
import sympy as sp

from backprop_cli.finite_difference import CheckStatus
from backprop_cli.engine import Request, run
from backprop_cli.errors import BackpropError
from backprop_cli.source import BindingText, from_sample, from_text


def report_for(program, at=None, **options):
    bindings = [BindingText(at, "--at")] if at else []
    return run(Request(from_text(program), bindings, **options))


def gradients(report):
    graph = report.trace.forward.graph
    return {graph.nodes[c.node].label: report.trace.gradients[c.node] for c in report.checks}


def exact(report):
    return {name: g.exact for name, g in gradients(report).items()}


def test_linear_neuron_sample_numbers():
    report = run(Request(from_sample("linear")))
    forward = report.trace.forward
    graph = forward.graph
    assert forward.values[graph.names["y"]].exact == 7
    assert forward.values[graph.names["L"]].exact == sp.Rational(9, 2)
    assert exact(report) == {"w": -6, "x": -9, "b": -3, "t": 3}
    assert all(c.status is CheckStatus.OK and c.error < 1e-40 for c in report.checks)


def test_branch_sums_both_paths():
    report = run(Request(from_sample("branch")))
    assert exact(report) == {"a": 2, "b": 5}
    trace = report.trace
    b = trace.forward.graph.names["b"]
    contributions = sorted(trace.steps[i].contribution.exact for i in trace.paths_into[b])
    assert contributions == [2, 3]


def test_circuit_and_sigmoid_samples():
    assert exact(run(Request(from_sample("circuit")))) == {"x": -4, "y": -4, "z": 3}
    report = run(Request(from_sample("sigmoid-neuron")))
    s = 1 / (1 + sp.exp(-1))
    for name, factor in {"w0": -1, "x0": 2, "w1": -2, "x1": -3, "w2": 1}.items():
        assert sp.simplify(gradients(report)[name].exact - factor * s * (1 - s)) == 0
    assert report.ok


def test_two_layer_sample_agrees_with_sympy_on_the_whole_expression():
    report = run(Request(from_sample("two-layer")))
    values = {n.name: report.trace.forward.values[n.index].exact
              for n in report.trace.forward.graph.nodes if n.kind.value == "input"}
    s = {k: sp.Symbol(k) for k in values}
    h1 = sp.tanh(s["w11"] * s["x1"] + s["w12"] * s["x2"] + s["b1"])
    h2 = sp.tanh(s["w21"] * s["x1"] + s["w22"] * s["x2"] + s["b2"])
    y = s["v1"] * h1 + s["v2"] * h2 + s["c"]
    L = (y - s["t"]) ** 2 / 2 + h1**2 / 10
    for name, gradient in gradients(report).items():
        expected = sp.N(sp.diff(L, s[name]).subs({s[k]: v for k, v in values.items()}), 50)
        with mpmath.workdps(60):
            assert abs(gradient.approx - mpmath.mpf(expected._mpf_)) < mpmath.mpf(10) ** -40
    assert report.ok


def test_exact_values_stay_exact_and_nested_ones_go_decimal():
    report = report_for("f = tanh(x)", "x=2")
    assert report.trace.forward.values[report.trace.output].exact == sp.tanh(2)
    deep = report_for("h = tanh(x); g = tanh(3*h + tanh(2*h + tanh(h))); f = tanh(g + tanh(g))", "x=1/3")
    assert deep.trace.forward.decimal_nodes  # carried as decimals...
    assert deep.ok  # ...and still checked


def test_rationals_stay_rational():
    report = report_for("f = x/3 + 1/7", "x=1/2")
    assert report.trace.forward.values[report.trace.output].exact == sp.Rational(1, 6) + sp.Rational(1, 7)
    assert exact(report) == {"x": sp.Rational(1, 3)}


def test_symbolic_mode_gives_formulas_and_skips_the_check():
    report = report_for("y = w*x + b; L = (y - t)^2/2", "x=2")
    w, b, t = sp.symbols("w b t", real=True)
    assert sp.expand(exact(report)["w"] - 2 * (2 * w + b - t)) == 0
    assert {c.status for c in report.checks} == {CheckStatus.SKIPPED}
    fully = report_for("y = w*x + b; L = (y - t)^2/2")
    x = sp.Symbol("x", real=True)
    assert sp.expand(exact(fully)["w"] - x * (w * x + b - t)) == 0


def test_symbolic_mode_does_not_blow_up_on_deep_nesting():
    program = "; ".join(["h0 = x"] + [f"h{i} = exp(tanh(h{i-1}))" for i in range(1, 40)])
    report = report_for(program)
    # issue 12: the expanded form in the inputs is dropped past its size (exact null), and the
    # gradient is written in the program's own names instead, which stays small
    x = report.trace.graph.names["x"]
    assert report.trace.gradients[x].exact is None
    formula = report.trace.formula(x)
    assert formula is not None and {s.name for s in formula.free_symbols} <= {f"h{i}" for i in range(40)} | {"x"}


def test_wrt_an_intermediate_and_of():
    report = report_for("y = w*x + b; L = (y - t)^2/2", "x=2,w=3,b=1,t=10", wrt=["y"])
    assert exact(report) == {"y": -3}
    assert report.checks[0].status is CheckStatus.OK
    of_y = report_for("y = w*x + b; L = (y - t)^2/2", "x=2,w=3,b=1", of="y")
    assert exact(of_y) == {"w": 2, "x": 3, "b": 1, "t": 0}  # SPEC §3: every input, 0 where not reached


def test_learning_rate_step():
    report = report_for("y = w*x + b; L = (y - t)^2/2", "x=2,w=3,b=1,t=10", lr="0.1")
    updates = {report.trace.forward.graph.nodes[u.node].name: u.new.exact for u in report.updates}
    assert updates["w"] == sp.Rational(18, 5) and updates["b"] == sp.Rational(13, 10)


@pytest.mark.parametrize("program, at", [("f = relu(x)", "x=0"), ("f = abs(x)", "x=0"),
                                         ("f = max(x, y)", "x=1,y=1"), ("f = leaky_relu(x, 0.2)", "x=0")])
def test_kinks_use_the_convention_and_are_reported_as_kinks(program, at):
    report = report_for(program, at)
    assert report.trace.kinks
    assert report.ok  # a kink is not a failure
    statuses = {c.status for c in report.checks}
    assert statuses <= {CheckStatus.KINK, CheckStatus.OK}


def test_relu_at_zero_is_zero_and_the_difference_disagrees():
    report = report_for("f = relu(x)", "x=0")
    assert exact(report) == {"x": 0}
    assert report.checks[0].status is CheckStatus.KINK
    assert report.checks[0].estimate == mpmath.mpf("0.5")


@pytest.mark.parametrize(
    "program, at, message",
    [
        ("f = log(x)", "x=-1", "f = log(x) is undefined at this point: the value would be complex"),
        ("f = 1/x", "x=0", "f = 1/x is undefined at this point: division by zero"),
        ("f = sqrt(x)", "x=-4", "f = sqrt(x) is undefined at this point"),
        ("f = sqrt(x)", "x=0", "∂f/∂x is undefined here: it needs the local derivative ∂f/∂x = 1/(2*sqrt(x)), which has no value at x = 0"),
        ("f = x*9^9^9", "x=2", "'9^9^9' is about 10^369,693,099; values are limited to 10^±1,000"),
    ],
)
def test_domain_and_size_errors_name_the_node(program, at, message):
    with pytest.raises(BackpropError) as info:
        report_for(program, at)
    assert message in info.value.message
    assert info.value.caret_lines()  # points into the program


def test_binding_errors_list_the_inputs():
    with pytest.raises(BackpropError) as info:
        report_for("y = w*x", "q=1")
    assert info.value.message == "'q' is not an input of the program; the inputs are: w, x"
    with pytest.raises(BackpropError, match="'y' is assigned in the program, so it cannot be bound"):
        report_for("y = w*x", "y=1")


def test_command_line_bindings_override_the_file():
    report = run(Request(from_sample("linear"), [BindingText("w=5", "--at")]))
    assert exact(report)["w"] == 2  # y = 11, ∂L/∂w = x*(y - t) = 2*1


@pytest.mark.parametrize("scale", ["9", "0.5", "-9"])
def test_values_just_inside_the_magnitude_limit_pass(scale):
    report = report_for("f = x*10^999", f"x={scale}")  # |f| is within 10^1,000
    value = report.trace.forward.values[report.trace.output].approx  # 1,000 digits: decimal only
    with mpmath.workdps(60):
        assert abs(value / (mpmath.mpf(scale) * mpmath.mpf(10) ** 999) - 1) < mpmath.mpf(10) ** -40


def test_values_just_past_the_magnitude_limit_are_errors():
    with pytest.raises(BackpropError) as info:
        report_for("f = x*10^999", "x=11")
    assert "is about 10^1,000; values are limited to 10^±1,000" in info.value.message
    with pytest.raises(BackpropError) as info:
        report_for("f = x/10^999", "x=1/11")
    assert "is about 10^-1,000; values are limited to 10^±1,000" in info.value.message


def test_the_finite_difference_step_stays_inside_the_domain(cli_json):
    """x = 1e-30: x - 1e-25 would leave log's and sqrt's domain; the step shrinks with |x|."""
    for program, expected in (("f = log(x)", 1e30), ("f = sqrt(x)", 5e14)):
        for check in ("full", "fast"):
            data = cli_json("grad", program, "--at", "x=1e-30", "--check", check)
            gradient = data["gradients"]["x"]
            assert gradient["float"] == expected and gradient["ok"] is True, (program, check, gradient)


def test_the_check_works_in_more_digits_where_values_are_huge(cli_json):
    """x + sinh(y) at y = 400 (about 10^173): at 80 digits x ± 1e-25 would change no digit of the
    output, and a right gradient of 1 was called a mismatch (hypothesis found it)."""
    for check in ("full", "fast"):
        for mode in ([], ["--numeric"]):
            data = cli_json("grad", "L = x + sinh(y)*z", "--at", "x=1/3, y=400, z=1", "--check", check, *mode)
            assert [g["ok"] for g in data["gradients"].values()] == [True, True, True], (check, mode)
            assert data["gradients"]["x"]["error"] < 1e-12
    full = cli_json("grad", "L = x + sinh(y)*z", "--at", "x=1/3, y=400, z=1", "--check", "full")
    assert "in 211-digit arithmetic" in full["check"]["method"]  # 10^174 over a step of 10^-25, 12 to spare


def test_the_magnitude_limit_applies_to_a_gradient_step(cli):
    code, out, err = cli("explain", "f = x^2*10^500", "--at", "x=10^200", "--lr", "10^999")
    assert code == 2 and out == ""
    assert "error: the updated x is about 10^1,699; values are limited to 10^±1,000" in err
    assert "hint: choose a smaller --lr" in err


def test_every_input_is_reported_with_0_where_the_output_does_not_reach_it(cli_json):
    """Issue 12 item 5: inputs no longer go missing, in every mode and with --of/--wrt."""
    data = cli_json("grad", "h = w*x; z = h + y; L = h*2", "--at", "w=1,x=2,y=3")
    assert {n: g["exact"] for n, g in data["gradients"].items()} == {"w": "4", "x": "2", "y": "0"}
    assert data["gradients"]["y"]["ok"] is True
    numeric = cli_json("grad", "h = w*x; z = h + y; L = h*2", "--at", "w=1,x=2,y=3", "--numeric")
    assert numeric["gradients"]["y"]["float"] == 0.0
    symbolic = cli_json("grad", "h = w*x; z = h + y; L = h*2")
    assert symbolic["gradients"]["y"]["exact"] == "0"
    assert list(cli_json("grad", "--sample", "linear", "--of", "y")["gradients"]) == ["w", "x", "b", "t"]
    of_h = cli_json("grad", "h = x; L = h + b", "--at", "x=2,b=1", "--of", "h", "--wrt", "b")
    assert of_h["gradients"]["b"]["exact"] == "0" and of_h["gradients"]["b"]["ok"] is True


def test_an_input_assigned_by_its_own_statement_is_an_error(cli):
    """Issue 12 item 8: `x = x*x + 1` was read as a new x that uses the input x."""
    code, out, err = cli("explain", "x = x*x + 1", "--at", "x=2")
    assert code == 2 and out == ""
    assert "error: 'x' is an input of this statement and cannot also be assigned by it" in err
    assert "hint: give the result a new name: x_new = x*x + 1" in err
    code, _, err = cli("check", "w = w - 0.1*g", "--at", "w=1,g=2", "--expect", "w=1")
    assert code == 2 and "w_new = w - 0.1*g" in err


def test_a_kink_is_found_where_the_switch_is_zero_but_not_visibly(cli_json):
    """max(x, log(2^x, 2)) at x = 1/3 is a tie: SymPy does not see x - log(2^(1/3))/log(2) == 0
    from the form, the 50-digit decimal does (found by the property test)."""
    data = cli_json("grad", "h0 = log(abs(pow(2, x)), 2); h1 = max(x, h0)", "--at", "x=1/3")
    assert [edge["kink"] for edge in data["edges"] if edge["to"] == data["nodes"][-1]["id"]] == [True, True]
    assert any("non-differentiable point" in note for note in data["notes"])
    assert data["gradients"]["x"]["exact"] == "1"  # the tie splits evenly: 1/2 + 1/2


def test_only_the_gradients_that_need_an_undefined_partial_fail(cli, cli_json):
    """Issue 12 item 9: ∂(x^y)/∂y = x^y·log(x) is complex at x = -2, but ∂f/∂x = -4 is fine."""
    data = cli_json("grad", "f = x^y", "--at", "x=-2, y=2", "--wrt", "x")
    assert data["gradients"]["x"]["exact"] == "-4" and data["gradients"]["x"]["ok"] is True
    code, out, err = cli("grad", "f = x^y", "--at", "x=-2, y=2")
    assert code == 2 and out == ""
    assert ("error: ∂f/∂y is undefined here: it needs the local derivative ∂f/∂y = x^y*log(x), "
            "which has no value at x = -2, y = 2") in err
    assert "hint: --wrt x reports the others" in err


def test_a_partial_with_a_limit_at_the_point_gets_its_value(cli_json):
    """∂(x^y)/∂y = x^y·log(x) at x = 0, y = 2 has the limit 0 from the side where x^y is defined
    (as PyTorch and the central difference say)."""
    data = cli_json("grad", "L = x^y", "--at", "x=0,y=2")
    assert {n: g["exact"] for n, g in data["gradients"].items()} == {"x": "0", "y": "0"}
    assert all(g["ok"] is True for g in data["gradients"].values())


def test_a_border_where_both_branches_agree_is_no_kink(cli):
    """elu (α = 1) is differentiable at 0: both branches of its derivative give 1 there."""
    code, out, _ = cli("explain", "y = elu(x)", "--at", "x=0")
    assert code == 0 and "kink" not in out and "non-differentiable" not in out
    code, out, _ = cli("explain", "y = relu(x)", "--at", "x=0")
    assert code == 0 and "⚠ kink" in out


def test_a_binding_outside_a_domain_is_named_by_its_input(cli):
    """`--at w=1/0` blamed the value's own bare output: 'f = 1/0 is undefined' (a newcomer's trial)."""
    code, out, err = cli("grad", "L = w*x", "--at", "w=1/0, x=2")
    assert code == 2 and out == ""
    assert err.startswith("error: w = 1/0 is undefined at this point: division by zero\n  --> --at (w)")
