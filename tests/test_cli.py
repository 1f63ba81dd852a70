"""Every sample through every format, with SPEC §8's numbers, and the exit codes."""

import csv
import io
import re
import time

import pytest
from rich.console import Console

from backprop_cli.cli import _Progress

SAMPLE_GRADIENTS = {
    "linear": {"w": "-6", "b": "-3", "x": "-9", "t": "3"},
    "branch": {"a": "2", "b": "5"},
    "circuit": {"x": "-4", "y": "-4", "z": "3"},
}


@pytest.mark.parametrize("sample", sorted(SAMPLE_GRADIENTS))
def test_json_gradients_of_the_samples(cli_json, sample):
    for command in ("explain", "grad"):
        data = cli_json(command, "--sample", sample)
        exact = {name: g["exact"] for name, g in data["gradients"].items()}
        assert exact == SAMPLE_GRADIENTS[sample]
        assert all(g["ok"] is True and g["float"] == float(g["exact"]) for g in data["gradients"].values())
        assert data["check"]["ok"] is True


def test_json_keys_of_the_spec(cli_json):
    data = cli_json("explain", "--sample", "linear")
    assert data["of"] == "L"
    assert data["value"] == {"exact": "9/2", "float": 4.5, "is_exact": True}
    w = data["gradients"]["w"]
    assert w["exact"] == "-6" and w["float"] == -6.0 and w["fd"] == -6.0 and w["error"] < 1e-12 and w["ok"] is True
    assert {"nodes", "edges", "check"} <= data.keys()
    mul = next(e for e in data["edges"] if e["local_formula"] == "x")
    assert mul["upstream"]["exact"] == "-3" and mul["contribution"]["exact"] == "-6"


def test_json_for_sigmoid_and_two_layer_samples(cli_json):
    data = cli_json("grad", "--sample", "sigmoid-neuron")
    assert data["gradients"]["w0"]["float"] == pytest.approx(-0.19661193324148185, rel=1e-15)
    assert data["gradients"]["x1"]["float"] == pytest.approx(-0.5898357997244456, rel=1e-15)
    data = cli_json("grad", "--sample", "two-layer")
    assert data["gradients"]["w11"]["float"] == pytest.approx(0.7241237472306852, rel=1e-15)
    assert data["gradients"]["x1"]["is_exact"] is False
    assert all(g["ok"] for g in data["gradients"].values())


def test_symbolic_json_has_nulls(cli_json):
    data = cli_json("grad", "y = w*x + b; L = (y - t)^2/2")
    w = data["gradients"]["w"]
    assert w["exact"] == "x*(b - t + w*x)" and w["float"] is None
    assert w["fd"] is None and w["error"] is None and w["ok"] is None


@pytest.mark.parametrize("sample", sorted(SAMPLE_GRADIENTS))
def test_csv_gradients_of_the_samples(cli, sample):
    code, out, err = cli("grad", "--sample", sample, "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["input"]: r["exact"] for r in rows} == SAMPLE_GRADIENTS[sample]
    assert {r["ok"] for r in rows} == {"true"}


@pytest.mark.parametrize("sample", sorted(SAMPLE_GRADIENTS))
def test_tree_shows_each_gradient(cli, sample):
    code, out, err = cli("explain", "--sample", sample)
    assert code == 0, err
    out_name = {"linear": "L", "branch": "e", "circuit": "f"}[sample]
    for name, value in SAMPLE_GRADIENTS[sample].items():
        assert re.search(rf"∂{out_name}/∂{name} = ([^\n]* = )?{value}\n", out), name
    assert "✓" in out and "✗" not in out


def test_tree_shows_the_branch_sum(cli):
    code, out, _ = cli("explain", "--sample", "branch")
    assert "branches add up: ∂e/∂b = 2 + 3 = 5" in out
    assert "(path 1 of 2)" in out and "(path 2 of 2)" in out


def test_two_layer_expands_the_shared_node_once(cli):
    code, out, _ = cli("explain", "--sample", "two-layer")
    assert code == 0
    # issue 12: the textbook form in the student's own names, and the walk says where it goes on
    assert out.count("local ∂h1/∂(w11*x1 + w12*x2 + b1) = 1 - h1^2") == 1
    assert "↪ h1 has 2 paths; the walk goes on from it below, where its last path adds them up" in out


def test_markdown(cli):
    code, out, _ = cli("explain", "--sample", "branch", "--format", "markdown")
    assert code == 0
    assert "## Backward pass" in out
    assert "| b | 1 | 5 | 5 | 5 |" in out
    assert "`branches add up: ∂e/∂b = 3 + 2 = 5`" in out


def test_lr_step_in_tree_and_json(cli, cli_json):
    code, out, _ = cli("explain", "--sample", "linear", "--lr", "0.1")
    assert "One gradient-descent step (η = 1/10)" in out
    data = cli_json("explain", "--sample", "linear", "--lr", "1/10")
    assert data["step"]["updates"]["w"]["new"]["exact"] == "18/5"


def test_program_from_argument_file_and_stdin(cli, tmp_path):
    program = "y = w*x + b; L = (y - t)^2/2"
    code, out, _ = cli("grad", program, "--at", "x=2,w=3", "--at", "b=1, t=10", "--format", "csv")
    assert code == 0 and "w,3,-6," in out
    path = tmp_path / "p.bp"
    path.write_text("# at: x=2, w=3, b=1, t=10\n" + program.replace("; ", "\n"))
    code, out, _ = cli("grad", "--file", str(path), "--format", "csv")
    assert code == 0 and "w,3,-6," in out
    code, out, _ = cli("grad", "--file", "-", "--at", "x=2,w=3,b=1,t=10", "--format", "csv", input=program)
    assert code == 0 and "w,3,-6," in out


def test_bindings_file(cli, tmp_path):
    path = tmp_path / "values.txt"
    path.write_text("x=2\nw=3\nb=1, t=10\n")
    code, out, _ = cli("grad", "y = w*x + b; L = (y - t)^2/2", "--at", f"@{path}", "--format", "csv")
    assert code == 0 and "w,3,-6," in out


def test_wrt_and_of(cli_json):
    data = cli_json("grad", "--sample", "linear", "--wrt", "w,y")
    assert list(data["gradients"]) == ["w", "y"] and data["gradients"]["y"]["exact"] == "-3"
    data = cli_json("grad", "--sample", "linear", "--of", "y", "--at", "t=0")
    assert data["of"] == "y" and data["gradients"]["w"]["exact"] == "2"


def test_samples_lists_every_program(cli):
    code, out, _ = cli("samples")
    names = [line.split()[0] for line in out.split("\n\n")[0].splitlines()]  # the programs; cases files follow
    assert names == ["batch-bias", "branch", "circuit", "linear", "sigmoid-bce", "sigmoid-neuron", "softmax-ce", "two-layer",
                     "two-layer-matrix"]


def test_kink_exits_zero_and_says_so(cli):
    code, out, err = cli("grad", "f = relu(x)", "--at", "x=0")
    assert code == 0, err
    assert "kink" in out and "relu'(0) = 0" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["grad", "L = sigmod(w*x)"], "error: unknown function 'sigmod' (did you mean 'sigmoid'?)\n  L = sigmod(w*x)\n      ^^^^^^\n"),
        (["grad", "y = w*x", "--at", "q=1"], "error: 'q' is not an input of the program; the inputs are: w, x\n"),
        (["grad", "--sample", "lineer"], "error: no sample called 'lineer' (did you mean 'linear'?)"),
        (["grad"], "error: no program given"),
        (["grad", "x", "--sample", "linear"], "error: give the program once"),
        (["grad", "--file", "/nonexistent/p.bp"], "error: program file '/nonexistent/p.bp' does not exist"),
        (["explain", "f = log(x)", "--at", "x=-1"], "error: f = log(x) is undefined at this point"),
        (["explain", "f = 1/x", "--at", "x=0"], "error: f = 1/x is undefined at this point: division by zero"),
        (["grad", "f = x", "--at", "x"], "error: a binding needs the form name=value, got 'x'"),
        (["grad", "--sample", "linear", "--wrt", "q"], "error: --wrt q: the program has no name 'q'"),
        (["grad", "--sample", "linear", "--lang", "xx"], "error: --lang xx: no such language"),
    ],
)
def test_bad_input_exits_2_with_a_message(cli, args, message):
    code, out, err = cli(*args)
    assert code == 2, out + err
    assert err.startswith(message), err
    assert "Traceback" not in err and out == ""


def test_usage_errors_exit_2(cli):
    code, _, err = cli("grad", "--sample", "linear", "--format", "xml")
    assert code == 2 and "xml" in err


def test_every_command_has_help(cli):
    for command in ("explain", "grad", "samples"):
        code, out, _ = cli(command, "-h")
        assert code == 0 and "Example: backprop" in out


def test_the_spinner_appears_once_the_run_has_taken_its_delay_and_names_the_stage():
    stream = io.StringIO()
    progress = _Progress(Console(file=stream, force_terminal=True, width=80), delay=0.05)
    progress("graph")
    time.sleep(0.3)
    progress("backward")
    time.sleep(0.3)
    progress("output")
    shown = stream.getvalue()
    assert "backprop: graph…" in shown and "backprop: backward…" in shown


def test_a_quick_run_shows_no_spinner():
    stream = io.StringIO()
    progress = _Progress(Console(file=stream, force_terminal=True, width=80), delay=0.3)
    progress("graph")
    progress("output")
    time.sleep(0.5)
    assert stream.getvalue() == ""
