"""`backprop graph` for tensor programs: shapes and nested lists in the boxes, each edge's rule,
a broadcast drawn as a node of its own, DOT/SVG well-formed whatever the labels hold, the
terminal picture within 80 columns, Chinese."""

import html
import os
import re
import shutil
import xml.etree.ElementTree as ET
from io import StringIO

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from backprop_cli.cli import app

NODE = re.compile(r"^  ([nc]\d+) \[label=<(.*)>(.*)\];$", re.M)
EDGE = re.compile(r"^  ([nc]\d+) -> ([nc]\d+) \[label=<(.*)>(.*)\];$", re.M)
NEEDS_DOT = pytest.mark.skipif(shutil.which("dot") is None and not os.environ.get("CI"),
                               reason="Graphviz is not installed (CI installs it)")
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plain(label: str) -> str:
    """A label's text, its HTML tags as `|` (blank runs between tags dropped)."""
    pieces = html.unescape(re.sub(r"<[^>]+>", "|", label)).split("|")
    return "|".join(piece for piece in pieces if piece.strip())


def dot_of(cli, *args):
    code, out, err = cli("graph", *args, "--format", "dot")
    assert code == 0, err
    nodes = {key: plain(label) for key, label, _ in NODE.findall(out)}
    titles = {key: text.split("|")[0] for key, text in nodes.items()}
    by_title = {titles[key]: text for key, text in nodes.items()}
    edges = {(titles[a], titles[b]): plain(label) for a, b, label, _ in EDGE.findall(out)}
    return out, by_title, edges


def run_at(width: int, *args, env=None):
    runner = CliRunner(env={"COLUMNS": str(width), "NO_COLOR": "1", "BACKPROP_LANG": None, **(env or {})})
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


# ---------------------------------------------------------------- DOT of the samples

def test_dot_of_the_two_layer_matrix_network(cli):
    out, nodes, edges = dot_of(cli, "--sample", "two-layer-matrix")
    assert out.startswith("digraph backprop {\n") and out.endswith("}\n")
    assert set(nodes) == {"W1", "x", "W1 @ x", "b1", "z1", "h", "W2", "W2 @ h", "b2", "z2",
                          "y", "t", "(y - t)", "(y - t)^2", "sum((y - t)^2)", "J"}
    # boxes: name, shape, operation, value and gradient as nested lists (a matrix's columns lined up)
    assert nodes["W1"] == ("W1|(2, 2)|input|value =|[[1/2, -1/4],| [ -1,  1/2]]|"
                           "∂J/∂W1 =|[[-1.156, -2.312],| [0.9093,  1.819]]")
    assert nodes["x"] == "x|(2,)|input|value =|[1, 2]|∂J/∂x =|[-1.487, 0.7437]"
    assert nodes["W1 @ x"] == "W1 @ x|(2,)|· @ ·|value =|[0, 0]|∂J/∂(W1 @ x) =|[-1.156, 0.9093]"
    assert nodes["h"] == "h|(2,)|tanh(·)|value =|[0, 0.4621]|∂J/∂h =|[-1.156, 1.156]"
    assert nodes["W2"] == "W2|(1, 2)|input|value =|[[1, -1]]|∂J/∂W2 =|[[0, -0.5343]]"
    assert nodes["sum((y - t)^2)"] == "sum((y - t)^2)|()|sum(·)|value =|1.462|∂J/∂(sum((y - t)^2)) =|1/2"
    assert nodes["J"] == "J|()|· / 2|value =|0.7308|∂J/∂J =|1"
    # edges: the rule that carries the gradient back, over δ, in the program's notation
    assert edges == {
        ("W1", "W1 @ x"): "outer(δ, x)", ("x", "W1 @ x"): "W1.T @ δ",
        ("W1 @ x", "z1"): "δ", ("b1", "z1"): "δ",
        ("z1", "h"): "δ * (1 - h^2)",
        ("W2", "W2 @ h"): "outer(δ, h)", ("h", "W2 @ h"): "W2.T @ δ",
        ("W2 @ h", "z2"): "δ", ("b2", "z2"): "δ",
        ("z2", "y"): "δ * (1 - y^2)",
        ("y", "(y - t)"): "δ", ("t", "(y - t)"): "-δ",
        ("(y - t)", "(y - t)^2"): "δ * (2*(y - t))",
        ("(y - t)^2", "sum((y - t)^2)"): "δ|copied back to (1,)",
        ("sum((y - t)^2)", "J"): "δ * (1/2)",
    }
    assert "  n0 -> n2 [label=<outer(δ, x)>];\n" in out and "  n5 -> n7 [label=<W2.T @ δ>];\n" in out
    assert 'peripheries=2' in [line for line in out.splitlines() if line.startswith("  n17 ")][0]
    assert "δ is ∂J/∂(the node it points to)" in out  # the legend says what δ is
    for internal in ("**", "Heaviside", "Piecewise", "reduce_sum", "matmul("):
        assert internal not in out, internal


def test_the_bias_of_a_batch_is_broadcast_through_a_node_of_its_own(cli):
    out, nodes, edges = dot_of(cli, "--sample", "batch-bias")
    assert nodes["broadcast"] == "broadcast|copy to 3 rows|(2,) → (3, 2)"
    assert edges[("b", "broadcast")] == "sum(δ, 0)|sum over axis 0"  # backward: the copies summed
    assert edges[("broadcast", "Y")] == "δ"
    assert ("b", "Y") not in edges  # the bias reaches Y only through its copy
    assert edges[("X @ W.T", "Y")] == "δ"
    assert edges[("X", "X @ W.T")] == "δ @ W" and edges[("W.T", "X @ W.T")] == "X.T @ δ"
    assert edges[("W", "W.T")] == "δ.T"
    assert nodes["b"] == "b|(2,)|input|value =|[1, -1/2]|∂L/∂b =|[0, 1/2]"
    assert nodes["Y"].startswith("Y|(3, 2)|· + ·|value =|[[-1/2, 15/4],|")
    copy = [line for line in out.splitlines() if re.match(r"  c\d+ \[", line)]
    assert len(copy) == 1 and "dashed" in copy[0]


def test_softmax_cross_entropy(cli):
    _, nodes, edges = dot_of(cli, "--sample", "softmax-ce")
    assert edges[("z", "p")] == "p * (δ - sum(δ * p, -1))"
    assert edges[("W", "W @ x")] == "outer(δ, x)" and edges[("x", "W @ x")] == "W.T @ δ"
    assert edges[("p", "log(p)")] == "δ * (1/p)"
    assert nodes["p"].startswith("p|(3,)|softmax(·)|value =|[0.3072, 0.1863, 0.5065]|")
    assert nodes["L"] == "L|()|-·|value =|1.68|∂L/∂L =|1"
    assert nodes["W"].split("|")[:3] == ["W", "(3, 4)", "input"]  # 12 entries: still shown
    assert "[[1/2, -1/4,    0,   1]," in nodes["W"]


def test_a_big_tensor_shows_its_shape_only_and_paths_meeting_are_said(cli):
    matrix = "[" + ", ".join("[" + ", ".join(str(i + j) for j in range(4)) + "]" for i in range(4)) + "]"
    _, nodes, edges = dot_of(cli, f"# at: W={matrix}, x=[1, 2, 3, 4]\nh = W @ x\nL = sum(h * h) + sum(x)")
    assert nodes["W"] == "W|(4, 4)|input"  # 16 entries: no value, no gradient
    assert nodes["x"].startswith("x|(4,)|input|value =|[1, 2, 3, 4]|∂L/∂x =|")
    assert nodes["x"].endswith("|the sum of 2 paths")
    assert nodes["h"].endswith("|the sum of 2 paths")  # h * h: two edges from h
    assert edges[("W", "h")] == "outer(δ, x)"


def test_a_kink_is_marked_on_its_node_and_edge(cli):
    out, nodes, edges = dot_of(cli, "# at: z=[0, 1]\nL = sum(relu(z))")
    assert nodes["relu(z)"].endswith("|⚠ kink: one-sided convention")
    kinked = [line for line in out.splitlines() if "->" in line and "style=dashed" in line]
    assert len(kinked) == 1 and "⚠ δ * (1 if z &gt; 0, else 0)" in kinked[0]


def test_broadcasts_along_columns_and_of_a_scalar(cli):
    code, out, _ = cli("graph", "# at: X=[[1, 2], [3, 4]], c=[[1], [2]], s=3\nL = sum(X - c) + sum(s * X)",
                       "--format", "dot")
    assert code == 0
    labels = [plain(label) for label, _ in re.findall(r"^  c\d+ \[label=<(.*)>(.*)\];$", out, re.M)]
    assert sorted(labels) == ["broadcast|copy to 2 columns|(2, 1) → (2, 2)",
                              "broadcast|copy to 4 entries|() → (2, 2)"]
    rules = sorted(plain(label) for label, _ in re.findall(r"-> c\d+ \[label=<(.*)>(.*)\];$", out, re.M))
    assert rules == ["sum(δ)|sum over every entry", "sum(δ, 1)|sum over axis 1"]
    onward = sorted(plain(label) for label, _ in re.findall(r"^  c\d+ -> n\d+ \[label=<(.*)>(.*)\];$", out, re.M))
    assert onward == ["-δ", "δ * X"]  # what the copy gets from the operation


# ---------------------------------------------------------------- well-formed whatever the labels hold

def _hostile_trace():
    from backprop_cli import engine
    from backprop_cli.cli import _request

    program = "# at: X=[[1, 2], [3, 4]], b=[1, -1]\nY = X @ [[1, 0], [0, 1]] + b\nL = sum(Y)"
    trace = engine.picture_trace(_request(program, None, None, None, None, None), True)
    hostile = 'W"\\<&>]\x1b[31m\u202e\x07'
    for node in trace.graph.nodes:
        if node.name is not None:
            node.name = node.name + hostile
    return trace


def test_dot_stays_well_formed_with_hostile_labels():
    from backprop_cli.i18n import Messages
    from backprop_cli.render.dot import render_dot

    text = render_dot(_hostile_trace(), Messages("en"))
    assert not CONTROL.search(text)  # control and bidirectional characters made visible
    assert "\\x1b" in text and "\\u202e" in text and "\\x07" in text
    assert "&quot;" in text and "&lt;&amp;&gt;&#93;" in text
    for line in text.splitlines()[1:-1]:
        assert line.endswith("];"), line
        if "label=<" not in line:
            continue
        label = line.split("label=<", 1)[1].rsplit(">", 1)[0]
        assert "<" not in re.sub(r"</?(TABLE|TR|TD|B|BR|FONT)( [A-Z-]+=\"[^\"]*\")*/?>", "", label), line


@NEEDS_DOT
def test_svg_of_hostile_labels_is_xml():
    from backprop_cli.i18n import Messages
    from backprop_cli.render.dot import render_dot, run_graphviz

    svg = run_graphviz(render_dot(_hostile_trace(), Messages("en")), "svg").decode("utf-8")
    root = ET.fromstring(svg)
    texts = "".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert 'YW"\\<&>]\\x1b[31m\\u202e\\x07' in texts
    assert not CONTROL.search(svg)


def test_labels_from_the_program_text_are_escaped(cli):
    program = "# at: X=[[1, 2], [3, 4]]\nL = sum(X @ [[1, 0], [0, 1]] - [1, 2]) / (2 + 1)"
    out, nodes, edges = dot_of(cli, program)
    assert "X @ [[1, 0], [0, 1]]" in nodes and "X @ [[1, 0], …, 1]] - [1, 2]" in nodes
    assert "[" not in "".join(re.findall(r"label=<(.*)>", out))  # brackets as entities in labels
    assert edges[("X", "X @ [[1, 0], [0, 1]]")] == "δ @ ([[1, 0], [0, 1]]).T"


# ---------------------------------------------------------------- svg, png

@NEEDS_DOT
def test_svg_of_the_matrix_network_shows_shapes_and_rules(cli, tmp_path):
    path = tmp_path / "tlm.svg"
    code, _, err = cli("graph", "--sample", "two-layer-matrix", "--format", "svg", "-o", str(path))
    assert code == 0, err
    texts = [(t.text or "").replace("\xa0", " ") for t in ET.parse(path).getroot().iter("{http://www.w3.org/2000/svg}text")]
    for expected in ("outer(δ, x)", "W1.T @ δ", "δ * (1 - h^2)", "(2, 2)", "[[1/2, -1/4],", "∂J/∂W1 ="):
        assert expected in texts, expected


@NEEDS_DOT
@pytest.mark.parametrize("sample", ["two-layer-matrix", "batch-bias", "softmax-ce"])
def test_png_of_each_tensor_sample(cli, tmp_path, sample):
    path = tmp_path / f"{sample}.png"
    code, _, err = cli("graph", "--sample", sample, "--format", "png", "-o", str(path))
    assert code == 0, err
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert 500 < width < 4000 and 800 < height < 4000


@NEEDS_DOT
def test_svg_in_chinese(cli, tmp_path):
    path = tmp_path / "bb.svg"
    code, _, err = cli("graph", "--sample", "batch-bias", "--format", "svg", "-o", str(path), "--lang", "zh")
    assert code == 0, err
    texts = [t.text for t in ET.parse(path).getroot().iter("{http://www.w3.org/2000/svg}text")]
    assert "广播" in texts and "复制成 3 行" in texts and "沿第 0 轴求和" in texts and "输入" in texts


# ---------------------------------------------------------------- the terminal picture

@pytest.mark.parametrize("sample", ["two-layer-matrix", "batch-bias", "softmax-ce"])
def test_text_picture_fits_80_columns(sample):
    code, out, err = run_at(80, "graph", "--sample", sample)
    assert code == 0, err
    assert max(cell_len(line) for line in out.splitlines()) <= 80, out


def test_text_picture_of_the_matrix_network():
    code, out, _ = run_at(80, "graph", "--sample", "two-layer-matrix")
    assert code == 0
    assert out.startswith("Arrows run forward. Each edge is labelled with the gradient it carries back")
    for expected in ("╭─ W1 (input) (2, 2) ─", "│ = [[1/2, -1/4],", "│    [ -1,  1/2]]",
                     "│ ∂J/∂W1 = [[-1.156, -2.312],", "│           [0.9093,  1.819]]",
                     "│ └▶ W1 @ x ", "│    ← outer(δ, x) ", "│    ← W1.T @ δ ", "│    ← δ * (1 - h^2) ",
                     "│    ← W2.T @ δ ", "│ tanh(·) ", "╔═ J (output) () ═", "║ ∂J/∂J = 1 "):
        assert expected in out, expected


def test_text_picture_draws_the_broadcast_on_its_edge():
    code, out, _ = run_at(80, "graph", "--sample", "batch-bias")
    assert code == 0
    lines = [line for line in out.splitlines() if "╭─ b (input) (2,) " in line]
    assert lines
    column = lines[0].index("╭─ b (input)")
    box = [line[column:column + 30] for line in out.splitlines()]
    for expected in ("│ └▶ broadcast (2,) → (3, 2) │", "│    copy to 3 rows          │",
                     "│    ← sum(δ, 0)             │", "│      sum over axis 0       │",
                     "│    └▶ Y                    │", "│       ← δ                  │"):
        assert expected in box, (expected, out)


def test_text_picture_in_chinese_fits_80_columns():
    code, out, err = run_at(80, "graph", "--sample", "batch-bias", "--lang", "zh")
    assert code == 0, err
    assert max(cell_len(line) for line in out.splitlines()) <= 80
    for phrase in ("箭头沿前向传播的方向", "╭─ b (输入) (2,) ", "广播 (2,) → (3, 2)", "复制成 3 行", "沿第 0 轴求和",
                   "╔═ L (输出) () ═"):
        assert phrase in out, phrase
    code, env_out, _ = run_at(80, "graph", "--sample", "batch-bias", env={"BACKPROP_LANG": "zh_CN.UTF-8"})
    assert code == 0 and env_out == out


def test_text_picture_to_a_file_and_hostile_labels_in_the_terminal(tmp_path):
    path = tmp_path / "sce.txt"
    code, _, _ = run_at(80, "graph", "--sample", "softmax-ce", "-o", str(path))
    assert code == 0
    text = path.read_text(encoding="utf-8")
    assert max(cell_len(line) for line in text.splitlines()) <= 100 and "← p * (δ - sum(δ * p, -1))" in text

    from backprop_cli import output
    from backprop_cli.i18n import Messages
    from backprop_cli.render.graph_text import render_graph_text

    console = output.console(file=StringIO(), width=80, color_system=None, record=True)
    console.print(render_graph_text(_hostile_trace(), Messages("en")))
    shown = console.export_text()
    assert not CONTROL.search(shown) and "\\x1b[31m" in shown
    assert max(cell_len(line) for line in shown.splitlines()) <= 80


def test_every_format_exits_0(cli, tmp_path):
    for format in ("text", "dot"):
        code, out, err = cli("graph", "--sample", "softmax-ce", "--format", format)
        assert code == 0 and out and not err, (format, err)


def test_entry_lines_wrap_long_rows_at_commas():
    import numpy as np
    import sympy as sp

    from backprop_cli.numbers import Value
    from backprop_cli.render.tensor_picture import entry_lines
    from backprop_cli.tensors import TensorValue

    entries = np.empty((12,), dtype=object)
    for k in range(12):
        entries[k] = Value(sp.Rational(-k, 7), -k / 7)
    lines = entry_lines(TensorValue((12,), entries), 40)
    assert len(lines) > 1 and all(len(line) <= 40 for line in lines)
    assert lines[0].startswith("[0, -1/7, ") and lines[-1].endswith("-11/7]")
    assert all(line.startswith(" ") for line in lines[1:])
