"""Golden walkthroughs: every sample (and a few programs that reach the engine's other paths)
through every view, compared byte for byte with tests/golden/. A change to what a student reads
shows up here as a diff; regenerate on purpose with `BACKPROP_REGEN_GOLDEN=1 python -m pytest
tests/test_golden.py` and review the diff before committing it."""

import os
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"
SAMPLES = ["linear", "branch", "circuit", "sigmoid-neuron", "two-layer"]
PROGRAMS = {
    "symbolic": ["y = w*x + b; L = (y - t)^2/2", "--at", "x=2"],
    "kinks": ["L = relu(a) + abs(b) + max(a, b)*c", "--at", "a=0, b=0, c=2"],
    "transcendental": ["L = log(x)*sin(y) + sqrt(x)/tanh(y)", "--at", "x=2, y=1/3"],
    "numeric": ["y = sigmoid(w*x + b); L = -log(y)", "--at", "x=1/2, w=-1, b=1/4", "--numeric"],
    "lr": ["--sample", "linear", "--lr", "1/10"],
    "wrt": ["--sample", "two-layer", "--wrt", "h1,x1", "--of", "y"],
}
CASES = ([(f"{s}-explain-{f}", ["explain", "--sample", s, "--format", f]) for s in SAMPLES
          for f in ("tree", "markdown", "json")]
         + [(f"{s}-grad-{f}", ["grad", "--sample", s, "--format", f]) for s in SAMPLES
            for f in ("table", "json", "csv")]
         + [(f"{s}-graph-{f}", ["graph", "--sample", s, "--format", f]) for s in SAMPLES
            for f in ("dot", "text")]
         + [(f"{name}-explain-{f}", ["explain", *args, "--format", f]) for name, args in PROGRAMS.items()
            for f in ("tree", "json")]
         + [(f"{name}-grad-table", ["grad", *args]) for name, args in PROGRAMS.items()])


# What a student reads at a terminal's usual widths, in both languages (issue 12)
WIDTHS = [(f"{s}-explain-{width}-{lang}", ["explain", "--sample", s, "--lang", lang], width)
          for s in SAMPLES for width in (80, 120) for lang in ("en", "zh")]


@pytest.mark.parametrize("name,args,width", WIDTHS, ids=[name for name, _, _ in WIDTHS])
def test_golden_at_a_width(name, args, width):
    from typer.testing import CliRunner

    from backprop_cli.cli import app
    result = CliRunner(env={"COLUMNS": str(width), "NO_COLOR": "1", "BACKPROP_LANG": None}).invoke(app, args)
    _compare(name, f"exit {result.exit_code}\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}")


@pytest.mark.parametrize("name,args", CASES, ids=[name for name, _ in CASES])
def test_golden(cli, name, args):
    code, out, err = cli(*args)
    _compare(name, f"exit {code}\n--- stdout\n{out}--- stderr\n{err}")


def _compare(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("BACKPROP_REGEN_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}; run with BACKPROP_REGEN_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")
