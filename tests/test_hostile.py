"""Bad and hostile input, run as real processes of the installed `backprop`:
exit code 2, a message, no traceback, and nothing executed. (No test here asserts how long a run
took: a loaded machine would fail it with nothing wrong. Hangs are caught by the subprocess bound.)"""

import os
import shutil
import subprocess
import sys
import time

import pytest

from backprop_cli.limits import DEFAULT_TIMEOUT_SECONDS

BACKPROP = [shutil.which("backprop") or sys.executable, *([] if shutil.which("backprop") else ["-m", "backprop_cli"])]
MARKER = "/tmp/backprop-pwned-marker"


BOUND_SECONDS = 4 * DEFAULT_TIMEOUT_SECONDS  # past this a run has hung; nothing is asserted about speed


def run_cli(*args, stdin=None, seconds=BOUND_SECONDS):
    start = time.monotonic()
    result = subprocess.run([*BACKPROP, *args], input=stdin, capture_output=True, text=True, timeout=seconds)
    return result, time.monotonic() - start


CASES = [
    ["grad", f"__import__('os').system('touch {MARKER}')"],
    ["grad", "x.__class__.__mro__"],
    ["grad", "lambda: 1"],
    ["grad", "'a string'"],
    ["grad", "f = x * 9^9^9", "--at", "x=2"],
    ["grad", "f = " + "(" * 5000 + "x" + ")" * 5000, "--at", "x=1"],
    ["grad", "f = " + "-" * 100000 + "x", "--at", "x=1"],
    ["grad", "f = log(x)", "--at", "x=-1"],
    ["grad", "f = 1/x", "--at", "x=0"],
    ["grad", "f = x", "--at", "y=1"],
    ["grad", "y = x; y = 2*x"],
    ["grad", "f = x", "--at", f"x=__import__('os').system('touch {MARKER}')"],
    ["grad", "f = exp(exp(exp(exp(x))))", "--at", "x=10"],
    ["grad", "f = x", "--at", "x=1e99999999"],
    ["grad", "f = x" + "^x" * 5000, "--at", "x=1"],
]


@pytest.mark.parametrize("args", CASES, ids=lambda a: " ".join(a)[:50])
def test_bad_input_exits_2_without_traceback(args):
    if os.path.exists(MARKER):
        os.remove(MARKER)
    result, seconds = run_cli(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not os.path.exists(MARKER)


def test_a_64_megabyte_program_is_refused(tmp_path):
    path = tmp_path / "huge.bp"
    with path.open("w") as handle:
        line = "y = x + 1\n" * 100_000
        for _ in range(64):
            handle.write(line)
    result, seconds = run_cli("grad", "--file", str(path))
    assert result.returncode == 2
    assert "the limit is 16,000,000 characters" in result.stderr


def test_a_huge_program_on_stdin_is_refused(tmp_path):
    result, seconds = run_cli("grad", "--file", "-", stdin="x + " * 5_000_000 + "x")
    assert result.returncode == 2 and "the limit is 16,000,000" in result.stderr


def test_dunder_names_are_just_names():
    result, _ = run_cli("grad", "f = __builtins__ * __import__", "--at", "__builtins__=2, __import__=3",
                        "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("__builtins__,2,3,")


def test_exact_rationals_that_grow_switch_to_decimals_with_a_note():
    """The logistic map 4x(1 - x) from 1/3: the exact numerator doubles in length every step."""
    program = "# at: x=1/3\nh0 = x\n" + "\n".join(f"h{i} = 4*h{i-1}*(1 - h{i-1})" for i in range(1, 31))
    result, seconds = run_cli("grad", "--file", "-", "--format", "json", stdin=program)
    assert result.returncode == 0, result.stderr
    data = __import__("json").loads(result.stdout)
    assert data["gradients"]["x"]["is_exact"] is False and data["gradients"]["x"]["ok"] is True
    assert any("50-digit decimals" in note for note in data["notes"])


def test_timeout_is_a_clean_error():
    program = "# at: x=1/2\nh0 = x\n" + "\n".join(f"h{i} = tanh(h{i-1}) + 1/10" for i in range(1, 20001))
    result, seconds = run_cli("grad", "--file", "-", "--timeout", "0.5", stdin=program)
    assert result.returncode == 2
    assert result.stderr.startswith("error: gave up after 0.5 s; the limit is --timeout 0.5")
