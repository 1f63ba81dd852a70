"""`backprop graph`: DOT structure, real Graphviz output, the terminal picture, saved walkthroughs."""

import html
import os
import re
import shutil
import xml.etree.ElementTree as ET

import pytest

NODE = re.compile(r"^  n(\d+) \[label=<(.*)>(.*)\];$", re.M)
EDGE = re.compile(r"^  n(\d+) -> n(\d+) \[label=<(.*)>\];$", re.M)
NEEDS_DOT = pytest.mark.skipif(shutil.which("dot") is None and not os.environ.get("CI"),
                               reason="Graphviz is not installed (CI installs it)")


def dot_of(cli, *args):
    code, out, err = cli("graph", *args, "--format", "dot")
    assert code == 0, err
    nodes = {int(i): html.unescape(re.sub(r"<[^>]+>", "|", label)) for i, label, _ in NODE.findall(out)}
    edges = [(int(a), int(b), html.unescape(label)) for a, b, label in EDGE.findall(out)]
    return out, nodes, edges


def test_dot_of_the_branch_sample(cli):
    out, nodes, edges = dot_of(cli, "--sample", "branch")
    assert out.startswith("digraph backprop {") and out.rstrip().endswith("}")
    by_title = {label.split("|")[1]: (index, label) for index, label in nodes.items()}
    assert set(by_title) == {"a", "b", "c", "d", "e"}
    assert "value 1" in by_title["b"][1] and "∂e/∂b = 2 + 3 = 5" in by_title["b"][1]
    assert "∂e/∂a = 2" in by_title["a"][1] and "∂e/∂e = 1" in by_title["e"][1]
    b = by_title["b"][0]
    fan_out = sorted(nodes[target].split("|")[1] for source, target, _ in edges if source == b)
    assert fan_out == ["c", "d"]  # b visibly fans out
    labels = {(nodes[s].split("|")[1], nodes[t].split("|")[1]): label for s, t, label in edges}
    assert labels[("c", "e")] == "d = 2" and labels[("d", "e")] == "c = 3" and labels[("b", "d")] == "1"
    assert 'peripheries=2' in [line for line in out.splitlines() if line.startswith(f"  n{by_title['e'][0]} ")][0]


@pytest.mark.parametrize("sample, gradients", [
    ("linear", {"w": "∂L/∂w = -6", "b": "∂L/∂b = -3", "x": "∂L/∂x = -9"}),
    ("circuit", {"x": "∂f/∂x = -4", "y": "∂f/∂y = -4", "z": "∂f/∂z = 3"}),
    ("sigmoid-neuron", {"w0": "∂f/∂w0 = -0.1966", "x1": "∂f/∂x1 = -0.5898"}),
    ("two-layer", {"h1": "∂L/∂h1 = 1.572 + 0.1523 = 1.724", "w11": "∂L/∂w11 = 0.7241"}),
])
def test_dot_of_every_sample(cli, sample, gradients):
    _, nodes, edges = dot_of(cli, "--sample", sample)
    titles = {label.split("|")[1]: label for label in nodes.values()}
    for name, text in gradients.items():
        assert text in titles[name], titles[name]
    assert all(a in nodes and b in nodes for a, b, _ in edges)


def test_labels_escape_user_text_and_symbolic_mode_draws_formulas(cli):
    out, nodes, _ = dot_of(cli, "y = w*x + b; L = (y - t)^2/2")
    assert "∂L/∂w = x*(b + w*x - t)" in "".join(nodes.values())  # the program's notation: plus terms first


def test_dot_needs_nothing_and_missing_graphviz_is_a_clear_error(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    code, out, err = cli("graph", "--sample", "branch", "--format", "dot")
    assert code == 0 and out.startswith("digraph")
    code, out, err = cli("graph", "--sample", "branch", "--format", "svg")
    assert code == 2
    assert err.startswith("error: --format svg needs Graphviz's 'dot' program, which is not on PATH")
    assert "sudo apt-get install graphviz" in err


@NEEDS_DOT
def test_svg_is_xml_with_the_labels(cli, tmp_path):
    path = tmp_path / "branch.svg"
    code, _, err = cli("graph", "--sample", "branch", "--format", "svg", "-o", str(path))
    assert code == 0, err
    root = ET.parse(path).getroot()
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "∂e/∂b = 2 + 3 = 5" in texts and "d = 2" in texts


@NEEDS_DOT
def test_png_of_the_two_layer_network(cli, tmp_path):
    path = tmp_path / "net.png"
    code, _, err = cli("graph", "--sample", "two-layer", "--format", "png", "-o", str(path))
    assert code == 0, err
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert 800 < width < 4000 and 800 < height < 4000 and len(data) > 50_000


def test_text_picture_of_the_branch(cli):
    code, out, _ = cli("graph", "--sample", "branch", "--format", "text")
    assert code == 0
    assert "╭─ b (input) ─" in out and "∂e/∂b = 2 + 3 = 5" in out
    assert "│ ├▶ c  " in out and "│ └▶ d  " in out and "2 × 1 = 2" in out and "3 × 1 = 3" in out
    assert "╔═ e (output) ═" in out


def test_pictures_write_sums_and_products_with_their_signs(cli):
    """n-ary sums and products read as the program wrote them (they showed as `sum(·, ·)`)."""
    _, nodes, _ = dot_of(cli, "--sample", "branch")
    parts = {label.split("|")[1]: [part for part in label.split("|") if part] for label in nodes.values()}
    assert (parts["c"][1], parts["d"][1], parts["e"][1]) == ("· + ·", "· + 1", "· × ·")
    code, out, _ = cli("graph", "y = a - b + 2*c*d - e; z = x1 + x2 + x3 + x4 + x5 - x6; L = y*z",
                       "--at", "a=1, b=2, c=3, d=4, e=5, x1=1, x2=1, x3=1, x4=1, x5=1, x6=1", "--format", "text")
    assert code == 0
    assert "│ · − · + · − · " in out and "│ 2 × · × · " in out and "│ · + · + … − · " in out


def test_text_picture_and_dot_in_chinese(cli):
    """--lang zh words the scalar picture as the tensor one: its kinds, local derivatives and kinks."""
    code, out, _ = cli("graph", "y = relu(w*x); L = y*y", "--at", "w=1, x=0", "--format", "text", "--lang", "zh")
    assert code == 0
    assert "╭─ w (输入) ─" in out and "╔═ L (输出) ═" in out and "局部导数 x = 0" in out
    assert "⚠ 不可导点：单侧约定" in out and "y ⚠ 不可导点" in out and "relu'(0) = 0" in out
    assert not re.search(r"\(input\)|\(output\)|local |kink", out)
    _, nodes, edges = dot_of(cli, "--sample", "branch", "--lang", "zh")
    labels = " ".join(nodes.values())
    assert "值 1" in labels and "value" not in labels
    _, nodes, _ = dot_of(cli, "y = relu(x)", "--at", "x=0", "--lang", "zh")
    assert "⚠ 不可导点：取单侧约定" in " ".join(nodes.values())
    code, out, _ = cli("graph", "y = x; L = y*2", "--at", "x=1", "--format", "text", "--lang", "zh")
    assert "│ · 的副本 " in out and "copy" not in out


def test_text_picture_of_the_two_layer_network_fits_100_columns(cli):
    code, out, _ = cli("graph", "--sample", "two-layer", "--format", "text")
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 200  # the test console is 200 wide
    assert "∂L/∂h1 = 1.572 + 0.1523 =" in out and "(output)" in out


def test_text_picture_to_a_file_is_100_columns(cli, tmp_path):
    path = tmp_path / "net.txt"
    code, _, _ = cli("graph", "--sample", "two-layer", "-o", str(path))
    assert code == 0
    assert max(len(line) for line in path.read_text().splitlines()) <= 100


def test_save_svg_and_html(cli, tmp_path):
    svg, page = tmp_path / "b.svg", tmp_path / "b.html"
    code, out, _ = cli("explain", "--sample", "branch", "--save-svg", str(svg), "--save-html", str(page))
    assert code == 0
    ET.parse(svg)  # well-formed
    assert "branches add up: ∂e/∂b = 2 + 3 = 5" in page.read_text()
    assert "branches&#160;add&#160;up" in svg.read_text()
    code, _, err = cli("explain", "--sample", "branch", "--format", "json", "--save-svg", str(svg))
    assert code == 2 and "record the tree view" in err


def test_pictures_of_huge_graphs_are_refused_but_dot_is_not(cli):
    program = "# at: x=1\nf = " + " + ".join(["x"] * 2_500)  # one sum node with 2,500 edges from x
    code, _, err = cli("graph", program, "--format", "text")
    assert code == 2
    assert err.startswith("error: the graph has 2,500 edges; pictures are limited to 2,000")
    code, out, _ = cli("graph", program, "--format", "dot")
    assert code == 0 and out.count(" -> ") == 2_500
