"""The environment a run meets: start-up, Ctrl-C, output files, streams and user text shown safely.

The shell-level cases (closed and full streams, encodings, file-size limits, ...) are rows of
tests/data/hostile.jsonl; here are the ones that need a program around them, and unit tests of
backprop_cli.output. Nothing here asserts how long anything took."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from markdown_it import MarkdownIt

from backprop_cli import output
from backprop_cli.errors import BackpropError
from backprop_cli.limits import DEFAULT_TIMEOUT_SECONDS

BACKPROP = [shutil.which("backprop")] if shutil.which("backprop") else [sys.executable, "-m", "backprop_cli"]
BOUND = 4 * DEFAULT_TIMEOUT_SECONDS


def run_launcher(args, prelude="", tmp_path=None):
    """Run `backprop ARGS` through the real entry point in a fresh interpreter; `prelude` runs first."""
    report = tmp_path / "modules.json"
    script = "import json, os, signal, sys\n" + prelude + textwrap.dedent(f"""
        sys.argv = ["backprop", *{args!r}]
        from backprop_cli.__main__ import main
        try:
            main()
            code = 0
        except SystemExit as exit:
            code = exit.code
        with open({str(report)!r}, "w") as handle:
            json.dump({{"code": code, "modules": sorted(sys.modules)}}, handle)
        sys.exit(code)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=BOUND)
    return result, json.loads(report.read_text())


# ---------------------------------------------------------------- start-up (issue 15, item 4)


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["grad", "-h"], ["explain", "--help"], ["check", "-h"],
                                  ["graph", "-h"], ["quiz", "-h"], ["samples", "-h"], ["--version"],
                                  ["grad", "--no-such-option"], ["no-such-command"], ["grad", "--format", "xml"]])
def test_help_version_and_usage_errors_import_neither_sympy_nor_the_engine(args, tmp_path):
    result, seen = run_launcher(args, tmp_path=tmp_path)
    assert seen["code"] == (2 if args[-1] in ("--no-such-option", "no-such-command", "xml") else 0), result.stderr
    heavy = [m for m in seen["modules"] if m.split(".")[0] in ("sympy", "mpmath", "numpy")
             or m in ("backprop_cli.engine", "backprop_cli.parse", "backprop_cli.graph", "backprop_cli.primitives")]
    assert heavy == []
    assert "Traceback" not in result.stderr


def test_a_command_still_imports_what_it_needs(tmp_path):
    result, seen = run_launcher(["grad", "--sample", "linear", "--format", "csv"], tmp_path=tmp_path)
    assert seen["code"] == 0, result.stderr
    assert "sympy" in seen["modules"] and result.stdout.startswith("input,")


def _big_program(tmp_path) -> str:
    """A scalar program past the columns' threshold (10,000 nodes): the vectorised passes run."""
    terms = 2_600
    lines = ["# at: " + ", ".join(f"w{i}={(i % 7 - 3) / 10}, x{i}={(i % 5) / 4}" for i in range(terms))]
    lines.append("L = " + " + ".join(f"tanh(w{i}*x{i})" for i in range(terms)) + " - relu(w1 - 1/2)^2/2")
    path = tmp_path / "big.bp"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


NUMERIC_RUNS = [
    ["grad", "--sample", "linear", "--numeric", "--format", "csv"],
    ["grad", "--sample", "two-layer", "--numeric", "--format", "json"],
    ["explain", "--sample", "two-layer", "--numeric"],
    ["explain", "y = relu(x) + abs(x - 1) + max(x, w) + elu(w)^2/2", "--at", "x=0, w=1/2", "--numeric",
     "--format", "json", "--forward"],
    ["explain", "--sample", "sigmoid-neuron", "--numeric", "--check", "full", "--lr", "0.1", "--format", "markdown"],
    ["grad", "--sample", "two-layer-matrix", "--numeric", "--format", "json"],
]


@pytest.mark.parametrize("args", NUMERIC_RUNS + [["grad", "--file", "BIG", "--format", "csv"],
                                                 ["grad", "--file", "BIG", "--format", "json"]])
def test_a_numeric_run_never_imports_sympy(args, tmp_path):
    """Numeric mode runs on the generated templates (derived.py) and Python's own numbers (issue 15,
    item 3): parsing, bindings, both passes, the check and the views, without SymPy."""
    args = [_big_program(tmp_path) if a == "BIG" else a for a in args]
    result, seen = run_launcher(args, tmp_path=tmp_path)
    assert seen["code"] == 0, result.stderr
    assert [m for m in seen["modules"] if m.split(".")[0] == "sympy"] == []
    assert result.stdout and "Traceback" not in result.stderr


def test_exact_work_in_a_numeric_run_imports_sympy_when_it_needs_it(tmp_path):
    """A constant that is not rational (sqrt(2)) is folded by SymPy; the run is as before."""
    result, seen = run_launcher(["grad", "y = x^sqrt(2)", "--at", "x=2", "--numeric", "--format", "csv"],
                                tmp_path=tmp_path)
    assert seen["code"] == 0, result.stderr
    assert "sympy" in seen["modules"]
    gradient = float(result.stdout.splitlines()[1].split(",")[3])
    assert abs(gradient - 2 ** 0.5 * 2 ** (2 ** 0.5 - 1)) < 1e-12


# ---------------------------------------------------------------- Ctrl-C (issue 16, item 8)

INTERRUPT_WHILE_SYMPY_IMPORTS = """
class _Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == "sympy":
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, _Interrupt())
"""


def test_ctrl_c_while_sympy_imports_exits_130_quietly(tmp_path):
    result, seen = run_launcher(["grad", "--sample", "linear"], INTERRUPT_WHILE_SYMPY_IMPORTS, tmp_path)
    assert seen["code"] == 130
    assert result.stderr == "" and result.stdout == ""


def test_ctrl_c_in_a_real_run_exits_130_quietly(tmp_path):
    program = tmp_path / "long.bp"
    program.write_text("# at: x=1/2\nh0 = x\n" + "\n".join(f"h{i} = tanh(h{i-1}) + 1/10" for i in range(1, 20001)))
    for delay in (0.5, 1.5):  # while it imports (on a loaded machine) or computes: the same end
        process = subprocess.Popen([*BACKPROP, "grad", "--file", str(program), "--timeout", "0"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=BOUND)
        assert process.returncode == 130, (delay, err[-500:])
        assert "Traceback" not in err and "KeyboardInterrupt" not in err


# ---------------------------------------------------------------- broken pipes (item 14)


def test_samples_into_head_ends_quietly():
    command = " ".join(map(repr, BACKPROP)) + " samples | head -1; echo \"status=${PIPESTATUS[0]}\" >&2"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=BOUND)
    assert result.stdout.startswith("batch-bias")
    assert result.stderr.strip() in ("status=0", "status=141")  # 141 when head was gone before the write


# ---------------------------------------------------------------- output files (items 9, 10)


@pytest.fixture(autouse=True)
def fresh_run():
    output.reset_files()
    yield
    output.reset_files()


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_partial_one(tmp_path, monkeypatch):
    target = tmp_path / "part.svg"
    target.write_text("the old file")

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(BackpropError) as error:
        output.write_file(str(target), "<svg>" + "x" * 100_000, "--save-svg")
    assert error.value.message == f"cannot write '{target}': No space left on device; the old file is unchanged"
    assert target.read_text() == "the old file" and leftovers(tmp_path) == []


def test_ctrl_c_during_a_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "report.xml"

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        output.write_file(str(target), "<x/>")
    assert list(tmp_path.iterdir()) == []


def test_a_symlink_is_followed_the_link_kept_and_the_file_it_points_at_replaced(tmp_path):
    real = tmp_path / "builds" / "latest.xml"
    real.parent.mkdir()
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "report.xml"
    link.symlink_to(real)
    output.write_file(str(link), "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new" and (real.stat().st_mode & 0o777) == 0o640
    assert leftovers(real.parent) == [] and leftovers(tmp_path) == []


def test_a_device_is_written_directly_not_replaced(tmp_path):
    output.write_file(os.devnull, "discarded")
    assert not os.path.isfile(os.devnull)  # still the device, not a regular file renamed over it


def test_an_input_is_never_replaced_whatever_the_path_says(tmp_path):
    program = tmp_path / "prog.bp"
    program.write_text("f = x")
    (tmp_path / "sub").mkdir()
    os.link(program, tmp_path / "hard.bp")
    (tmp_path / "soft.bp").symlink_to(program)
    output.note_input(str(program))
    for path in (program, tmp_path / "sub" / ".." / "prog.bp", tmp_path / "hard.bp", tmp_path / "soft.bp"):
        with pytest.raises(BackpropError) as error:
            output.write_file(str(path), "x", "-o")
        assert error.value.message == f"-o '{path}' would write over '{program}', an input of this run"
    assert program.read_text() == "f = x"


def test_two_outputs_of_one_run_cannot_share_a_file(tmp_path):
    output.write_file(str(tmp_path / "a"), "svg", "--save-svg")
    with pytest.raises(BackpropError, match="names the same file as"):
        output.write_file(str(tmp_path / "a"), "html", "--save-html")
    assert (tmp_path / "a").read_text() == "svg"


def test_a_new_file_gets_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        output.write_file(str(tmp_path / "new.dot"), "digraph {}")
    finally:
        os.umask(umask)
    assert ((tmp_path / "new.dot").stat().st_mode & 0o777) == 0o644


def test_a_failed_write_in_the_cli_is_exit_2_and_names_the_file(tmp_path):
    old = tmp_path / "part.svg"
    old.write_text("old")
    if not shutil.which("prlimit"):
        pytest.skip("needs prlimit")
    result = subprocess.run(["prlimit", "--fsize=100", *BACKPROP, "explain", "--sample", "linear",
                             "--save-svg", str(old)], capture_output=True, text=True, timeout=BOUND)
    assert result.returncode == 2
    assert result.stderr == f"error: cannot write '{old}': File too large; the old file is unchanged\n"
    assert old.read_text() == "old" and leftovers(tmp_path) == []


# ---------------------------------------------------------------- visible text (items 15, 16, 17)


def test_visible_shows_control_and_bidirectional_characters_as_escapes():
    assert output.visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert output.visible("\u202egnp.exe") == "\\u202egnp.exe"
    assert output.visible("bel\x07 bs\x08 del\x7f csi\x9b") == "bel\\x07 bs\\x08 del\\x7f csi\\x9b"
    assert output.visible("\ufffe\uffff\U0001fffe") == "\\ufffe\\uffff\\U0001fffe"
    assert output.visible("\udcff") == "\\udcff"  # an undecodable command-line byte
    assert output.visible("tab\tnewline\n∂L/∂w 中文 é") == "tab\tnewline\n∂L/∂w 中文 é"


def test_json_keeps_its_data_with_escapes():
    text = json.dumps({"label": "x \x1b \u202e ∂ 中"}, ensure_ascii=False)
    for escaped in (output.json_visible(text), output.json_ascii(output.json_visible(text))):
        assert json.loads(escaped) == {"label": "x \x1b \u202e ∂ 中"}
    assert output.json_ascii(output.json_visible(text)).isascii()
    assert "\u202e" not in output.json_visible(text)


def test_the_fallback_for_streams_that_are_not_utf8():
    assert "∂L/∂w = 1 × 3 → 3 ≈ 0.5 ✓".encode("ascii", output.ERROR_HANDLER) == b"dL/dw = 1 * 3 -> 3 ~ 0.5 ok"
    assert "é 中".encode("ascii", output.ERROR_HANDLER) == b"\\xe9 \\u4e2d"
    assert "é ×".encode("latin-1", output.ERROR_HANDLER) == "é ×".encode("latin-1")


def test_an_error_caret_still_points_at_the_character_once_it_is_made_visible(cli):
    code, _, err = cli("grad", "f = x + \x1b[2J")
    assert code == 2
    lines = err.splitlines()
    echo, caret = next((lines[i], lines[i + 1]) for i, line in enumerate(lines) if "\\x1b" in line)
    assert echo == "  f = x + \\x1b[2J"
    assert caret.index("^") == echo.index("\\x1b")
    assert "\x1b" not in err


def test_markdown_code_spans_cannot_be_closed_by_the_label(tmp_path, cli):
    program = tmp_path / "md.bp"
    program.write_text("f = (x  # `` <img src=x onerror=alert(1)> ``` [a](javascript:alert(1))\n * y)\n"
                       "# at: x=2, y=3\n")
    code, out, _ = cli("explain", "--file", str(program), "--format", "markdown")
    assert code == 0
    html = MarkdownIt("commonmark", {"html": True}).render(out)
    assert "<img" not in html and 'href="javascript' not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown, inside a code span


def test_junit_stays_well_formed_whatever_the_case_names_hold(tmp_path, cli):
    import xml.dom.minidom

    cases = tmp_path / "c.toml"
    cases.write_text('[[case]]\nname = "a \\u001b[31m \\u0001 \\uFFFE \\u202e"\nprogram = "f = x*y"\n'
                     'at = { x = 2, y = "\\u001b" }\nexpect = { x = 3 }\n')
    junit = tmp_path / "j.xml"
    code, _, _ = cli("check", "--cases", str(cases), "--junit", str(junit))
    assert code == 2
    document = xml.dom.minidom.parse(str(junit))
    case = document.getElementsByTagName("testcase")[0]
    assert case.getAttribute("name") == "a \\x1b[31m \\x01 \\ufffe \\u202e"
    assert document.getElementsByTagName("error")[0].getAttribute("message").startswith("field 'at': ")


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "out.dot"
    link.symlink_to(tmp_path / "real.dot")
    output.write_file(str(link), "digraph {}")
    assert link.is_symlink() and (tmp_path / "real.dot").read_text() == "digraph {}"
