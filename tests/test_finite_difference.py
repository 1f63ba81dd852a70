"""The tensor check's long double passes: the big products' shortcut changes no verdict."""

import mpmath
import numpy as np

from backprop_cli import finite_difference
from backprop_cli.engine import NumberMode, Request, run
from backprop_cli.source import BindingText, from_text


def _layer(tmp_path):
    """A layer big enough for the long double check (over 2,000 entries), W on either side."""
    rng = np.random.default_rng(3)
    path = tmp_path / "layer.npz"
    np.savez(path, X=rng.normal(size=(6, 40)), W=rng.normal(size=(40, 60)) / 6, V=rng.normal(size=(60, 6)) / 8)
    program = "H = tanh(X @ W)\nZ = V @ H\nL = sum(Z * Z) / 2"
    return Request(source=from_text(program), at=[BindingText(f"@{path}", "--at")], wrt=["W", "V", "X"])


def test_the_long_double_check_with_and_without_the_product_shortcut(tmp_path, monkeypatch):
    request = _layer(tmp_path)
    calls = []
    original = finite_difference._linear_products

    def counting(*args):
        found = original(*args)
        calls.append(len(found))
        return found

    monkeypatch.setattr(finite_difference, "_linear_products", counting)
    shortcut = run(request)
    assert "long double" in shortcut.method and sum(calls) > 0  # X @ W and V @ H took the shortcut
    monkeypatch.setattr(finite_difference, "_linear_products", lambda *args: {})
    direct = run(request)
    for a, b in zip(shortcut.checks, direct.checks):
        assert a.status is b.status and a.ok is True, (a, b)
        checked = [np.argwhere(np.not_equal(c.errors, None)).tolist() for c in (a, b)]
        assert checked[0] == checked[1] and len(checked[0]) == 3  # the same three entries, one by one
        # the same differences, rounded differently: both far inside the tolerance
        assert abs(a.error - b.error) < 1e-10 and a.error < 1e-9


def test_the_time_limit_is_never_taken_for_a_step_outside_the_domain(monkeypatch):
    """A pass cut by --timeout raises the time-limit error; the check's step loop catches errors
    to try a smaller step (log(x) near 0), and used to swallow this one too: a 30 s limit ran 52 s
    (a newcomer's trial found it)."""
    import pytest

    from backprop_cli import deadline
    from backprop_cli.errors import BackpropError

    trace = run(Request(source=from_text("f = log(x)"), at=[BindingText("x=2", "--at")])).trace

    def cut_by_the_limit(*args, **kwargs):
        raise deadline.time_limit_error(30)

    monkeypatch.setattr(finite_difference, "_output_at", cut_by_the_limit)
    for check in (finite_difference.check_gradients, finite_difference.directional_check):
        with deadline.deadline(30):
            deadline._clock.expired = True  # as if the limit had passed during the pass
            with pytest.raises(BackpropError, match="gave up after 30 s"):
                check(trace, [trace.graph.names["x"]])


def test_the_directional_check_moves_only_the_inputs_the_output_uses():
    """--of L, with an input only another statement uses: the decimal passes (exact mode) moved
    every reported input and met one with no leaf (a traceback). The unused input's gradient is
    0 and the check passes."""
    n = 40  # past FULL_CHECK_MAX_INPUTS: the directional check
    program = "\n".join([f"h{i} = tanh(w{i}*x)" for i in range(n)] + ["z = " + " + ".join(f"h{i}" for i in range(n)),
                                                                      "q = unused*z", "L = z^2/2"])
    at = ", ".join([f"w{i}={(i % 7 - 3) / 4}" for i in range(n)] + ["x=1/2", "unused=3"])
    report = run(Request(source=from_text(program), at=[BindingText(at, "--at")], of="L"))
    assert report.method.startswith("directional") and "-digit arithmetic" in report.method  # the decimal passes
    names = {report.trace.graph.nodes[c.node].label: c for c in report.checks}
    assert names["unused"].gradient.approx == 0 and names["unused"].status.value == "ok"
    assert all(c.status.value == "ok" for c in report.checks)


def test_the_per_input_step_never_straddles_zero():
    """1/x at x = 1e-200: a step of 1e-25 would reach across the pole at 0 (a mismatch of 1e+50
    against -1e+400); the step is then relative to |x|, and the check passes."""
    report = run(Request(source=from_text("L = 1/x"), at=[BindingText("x=1e-200", "--at")]))
    check = report.checks[0]
    assert check.status.value == "ok" and check.error < 1e-15
    assert abs(check.estimate / mpmath.mpf("-1e400") - 1) < 1e-15
    far = run(Request(source=from_text("L = 1/x"), at=[BindingText("x=1/2", "--at")])).checks[0]
    assert far.status.value == "ok" and far.error < 1e-40  # (the step 1e-25: as before)


def test_a_repeated_wrt_name_is_reported_and_checked_once():
    """--wrt w,w,… (33 times, past the per-input check): w counted once in ∇f·v (a false mismatch)."""
    terms = " + ".join(f"a{i}" for i in range(32))
    at = ", ".join(["w=1, x=2"] + [f"a{i}=1" for i in range(32)])
    report = run(Request(source=from_text(f"L = w*x + {terms}"), at=[BindingText(at, "--at")], wrt=["w"] * 33))
    assert [report.trace.graph.nodes[c.node].name for c in report.checks] == ["w"]
    assert report.checks[0].status.value == "ok" and report.ok


def test_a_kink_decides_only_the_verdicts_of_the_inputs_it_reaches():
    """One relu at exactly 0 among 40 neurons (the directional check, past 32 inputs): the
    inputs upstream of it are checked apart and marked kink; every other input keeps a verdict of
    its own, ok, with an error of its own (they all read "kink" before)."""
    lines = [f"h{j} = relu(w{j}*x + b{j})" for j in range(40)] + ["L = (" + " + ".join(f"h{j}" for j in range(40)) + ")^2/2"]
    at = ", ".join([f"w{j}={j % 3 + 1}, b{j}={j % 2 + 1}" for j in range(1, 40)] + ["w0=1, b0=-2, x=2"])  # h0 at 0
    report = run(Request(source=from_text("\n".join(lines)), at=[BindingText(at, "--at")]))
    assert report.method.startswith("directional") and report.method.endswith(finite_difference.FAST_METHOD_KINKS)
    by_name = {report.trace.graph.nodes[c.node].name: c for c in report.checks}
    assert list(by_name) == [report.trace.graph.nodes[i].name for i in report.trace.graph.inputs]  # the order kept
    reached = {"w0", "x", "b0"}  # h0's inputs: x feeds every neuron, so it is upstream of the kink too
    assert {name for name, c in by_name.items() if c.status.value == "kink"} == reached
    assert all(c.status.value == "ok" for name, c in by_name.items() if name not in reached)
    smooth_error = {c.error for name, c in by_name.items() if name not in reached}
    assert len(smooth_error) == 1 and smooth_error.pop() < 1e-20
    assert by_name["x"].error > 1e-9  # the kinked group's own (one-sided) error


def _near_kink_program(z: str) -> tuple[str, str]:
    """h = relu(z) and 33 smooth inputs besides (past the per-input check)."""
    terms = " + ".join(f"u{i}*v" for i in range(33))
    at = ", ".join([f"u{i}={(i % 5 + 1) / 4}" for i in range(33)] + ["v=2, x=1, y=1"])
    return f"h = relu({z}); L = h*h + h + {terms}", at


def test_a_relu_input_zero_in_exact_numbers_but_not_in_floats_is_a_kink_not_a_mismatch():
    """0.1*x + 0.2*y - 0.3 is 5.6e-17 in floats (no kink to the float pass) and 0 in the check's
    exact leaves: every step straddles the kink. The verdict was mismatch (exit 1) for every input.
    The one-sided slopes stay apart at a step 1,000 times smaller: a bend; the relu within 1e-8 of
    0 in floats is found, and the inputs it reaches (x, y) are checked apart, marked kink, while
    the others keep a verdict of their own — a wrong gradient among them is still a mismatch."""
    program, at = _near_kink_program("0.1*x + 0.2*y - 0.3")
    report = run(Request(source=from_text(program), at=[BindingText(at, "--at")], mode=NumberMode.NUMERIC))
    assert not report.trace.kinks  # the float pass saw none
    assert report.method.endswith(finite_difference.FAST_METHOD_KINKS)  # (the bend led to the split)
    by_name = {report.trace.graph.nodes[c.node].name: c.status.value for c in report.checks}
    assert {name for name, status in by_name.items() if status == "kink"} == {"x", "y"}
    assert {status for name, status in by_name.items() if name not in "xy"} == {"ok"} and report.ok is not False
    trace = report.trace
    victim = trace.graph.names["u3"]
    trace.gradients[victim] = type(trace.gradients[victim])(None, trace.gradients[victim].approx * 1.001)
    checks, _ = finite_difference.directional_check(trace, report.wrt)
    assert {trace.graph.nodes[c.node].name: c.status.value for c in checks}["u3"] == "mismatch"


def test_a_step_too_coarse_for_the_curvature_is_taken_again_and_a_wrong_gradient_still_fails():
    # relu's input 1e-12: inside the step of 1e-10, not inside one 1,000 times smaller (exact mode);
    # then 1/z at z = 1e-6, where a step of 1e-10 is too coarse for the curvature (a false mismatch before)
    for z in ("x - y + 1/1000000000000", "1/(x - 1 + 1/1000000) + 0*y"):
        program, at = _near_kink_program(z)
        report = run(Request(source=from_text(program), at=[BindingText(at, "--at")]))
        assert {c.status.value for c in report.checks} == {"ok"}, z
        assert report.method.endswith(finite_difference.METHOD_FINER), z
        trace = report.trace
        # wrong gradients fail at both steps (v's only shows beside the first z: the directional check's
        # scale is Σ|gradient|, and beside 1/z at 1e-6 that is 10^12)
        for victim, factor in (("x", -1), ("x", 2)) + ((("v", 10),) if z.startswith("x - y") else ()):
            index = trace.graph.names[victim]
            right = trace.gradients[index]
            trace.gradients[index] = type(right)(None, right.approx * factor)
            checks, method = finite_difference.directional_check(trace, report.wrt)
            assert {c.status.value for c in checks} == {"mismatch"}, (z, victim)
            assert finite_difference.METHOD_BENDS not in method
            trace.gradients[index] = right
    # far from any kink, with a smooth output: nothing to take again
    program, at = _near_kink_program("x - y/2")
    report = run(Request(source=from_text(program), at=[BindingText(at, "--at")]))
    assert {c.status.value for c in report.checks} == {"ok"} and report.method.endswith("|gradient|)")


def test_the_per_input_check_also_tells_a_bend_from_a_wrong_gradient():
    # --numeric: the float pass sees relu(5.6e-17); the check's exact leaves see relu(0)
    program = "h = relu(0.1*x + 0.2*y - 0.3); L = h*h + h"
    report = run(Request(source=from_text(program), at=[BindingText("x=1, y=1", "--at")], mode=NumberMode.NUMERIC))
    assert report.method.startswith("central difference") and not report.trace.kinks
    assert [c.status.value for c in report.checks] == ["kink", "kink"]


def test_an_exact_kink_gives_its_decimal_the_exact_branch():
    """At 0.1*x + 0.2*y - 0.3 = 0 the exact track takes relu'(0) = 0; the 50-digit decimals beside
    it make 1e-51 and took relu' = 1, so `exact` said 0 and `float` 0.1 for the same gradient."""
    report = run(Request(source=from_text("h = relu(0.1*x + 0.2*y - 0.3); L = h*h + h"),
                         at=[BindingText("x=1, y=1", "--at")]))
    for check in report.checks:
        assert check.gradient.exact == 0 and check.gradient.approx == 0 and check.status.value == "kink"
    h = report.trace.values[report.trace.graph.names["h"]]
    assert h.exact == 0 and h.approx == 0
