"""Issue 12 items 10 and 11: the gradient table at 80 columns, notes, pictures, samples, errors."""

import re

import pytest
from rich.console import Console
from typer.testing import CliRunner

from backprop_cli import source
from backprop_cli.cli import app
from backprop_cli.engine import CheckKind, Request, analyse, load, run
from backprop_cli.i18n import Messages
from backprop_cli.numbers import format_decimal
from backprop_cli.render.dot import render_dot
from backprop_cli.render.graph_text import render_graph_text
from backprop_cli.render.notes import notes_lines
from backprop_cli.render.table import render_grad_table
from backprop_cli.render.wrap import formula_lines, wrap_formula, wrap_prose


def report_of(*, program=None, sample=None, at=()):
    return run(Request(source=source.choose(program, None, sample),
                       at=[source.BindingText(a, "--at") for a in at]))


def draw(report, width, language="en"):
    messages = Messages(language)
    console = Console(color_system=None, width=width, record=True, file=open("/dev/null", "w"))
    console.print(render_grad_table(report, messages, notes_lines(report, messages)))
    return console.export_text()


REPORTS = [("sample", s) for s in source.sample_names()] + [("program", "y = gelu(x)")]


@pytest.mark.parametrize("kind,name", REPORTS)
@pytest.mark.parametrize("width", [40, 60, 80, 120])
@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_decimal_in_the_gradient_table_appears_whole(kind, name, width, language):
    # backprop grad --sample two-layer / grad "y = gelu(x)" --at x=0.5, at COLUMNS=40..120, en and zh
    report = report_of(**{kind: name}, at=["x=0.5"] if kind == "program" else ())
    text = draw(report, width, language)
    tokens = set(re.split(r"[\s()]+", text))
    for entry in report.entries():  # a tensor's entry by entry
        for number in (format_decimal(entry.gradient.approx), format_decimal(entry.estimate),
                       f"{entry.error:.1e}" if entry.error is not None else None):
            if number:
                assert number in tokens, (number, text)
    assert "…" not in text  # nothing shortened


def test_two_layer_at_80_columns_moves_long_exact_forms_below_the_table():
    text = draw(report_of(sample="two-layer"), 80)
    lines = text.splitlines()
    assert all(len(line.rstrip()) <= 80 for line in lines)
    assert "  w11     1/2 =    ↓ below      0.7241237472    0.7241237472   1.6e-52     ✓" in text
    assert "∂L/∂w21 = (1 - tanh(3/2)^2)*(2 - 4*tanh(3/2) - 2*tanh(1))" in lines


def test_gelu_at_80_and_120_columns():
    report = report_of(program="y = gelu(x)", at=["x=0.5"])
    rows = {80: "  x       1/2 =      ↓ below     0.8674951247   0.8674951247   8.1e-52     ✓",
            120: "  x       1/2 = 0.5   ↓ below     0.8674951247   0.8674951247   8.1e-52     ✓"}
    for width, row in rows.items():
        text = draw(report, width)
        assert row in text
        assert "∂y/∂x = sqrt(2)*exp(-1/8)/(4*sqrt(pi)) + erf(sqrt(2)/4)/2 + 1/2" in text.splitlines()
    assert "↓ 见下方" in draw(report, 80, "zh")


def test_a_wide_terminal_keeps_the_exact_forms_in_the_table():
    text = draw(report_of(sample="two-layer"), 160)
    assert "  w11     1/2 = 0.5      (1 - tanh(1)^2)*(6*tanh(1)/5 + 2*tanh(3/2) - 1)       0.7241237472" in text
    assert "below" not in text


def test_formulas_wrap_at_operators_never_inside_a_token():
    formula = "(1 - tanh(1)**2)*(-1 + 6*tanh(1)/5 + 2*tanh(3/2))"
    assert wrap_formula(formula, 30) == ["(1 - tanh(1)**2)*", "(-1 + 6*tanh(1)/5", "+ 2*tanh(3/2))"]
    assert formula_lines("∂L/∂w11", formula, 44) == ["∂L/∂w11 = (1 - tanh(1)**2)*",
                                                    "          (-1 + 6*tanh(1)/5 + 2*tanh(3/2))"]


def test_chinese_wraps_between_characters_not_inside_numbers_or_before_punctuation():
    sentence = "检验方法：80 位精度的中心差分，步长 h = 1e-25·max(1, |x|)；与 max(1, |梯度|) 相比相对误差不超过 1e-09 即为通过。"
    assert wrap_prose(sentence, 40) == ["检验方法：80 位精度的中心差分，步长 h =", "1e-25·max(1, |x|)；与 max(1, |梯度|) 相",
                                        "比相对误差不超过 1e-09 即为通过。"]
    for width in range(12, 60):
        for line in wrap_prose(sentence, width):
            assert not line.startswith(("，", "。", "；", "：", "）"))
    text = draw(report_of(sample="two-layer"), 80, "zh")
    assert "标有 ≈ 的值用 50 位有效数字的小数表示：它们的精确形式会变得太长（表达式超过 24\n个节点" in text


def test_one_kink_note_for_all_kinked_nodes(cli):
    # backprop grad "L = relu(a) + abs(b) + max(a, b)*c" --at "a=0, b=0, c=2"
    code, out, err = cli("grad", "L = relu(a) + abs(b) + max(a, b)*c", "--at", "a=0, b=0, c=2")
    assert code == 0, err
    assert out.count("non-differentiable") == 1
    assert "relu(a), abs(b), max(a, b) are at non-differentiable points; the one-sided convention" in out


def test_the_check_note_names_the_method_that_ran(cli):
    # backprop grad --sample linear --check fast / --check none
    code, out, _ = cli("grad", "--sample", "linear", "--check", "fast")
    assert "Check: directional, ∇f·v against a central difference along 2 random ±1 direction(s) v" in out
    assert "central difference in 80-digit" not in out
    code, out, _ = cli("grad", "--sample", "linear", "--check", "none")
    assert "Check: none (--check none); the finite-difference columns are empty." in out
    code, out, _ = cli("grad", "--sample", "linear")
    assert "Check: central difference in 80-digit arithmetic" in out
    code, out, _ = cli("grad", "--sample", "linear", "--check", "fast", "--lang", "zh")
    assert "检验方法：方向检验" in out


def test_pictures_mark_kinks_and_name_unnamed_nodes():
    # backprop graph "L = relu(a)*b" --at a=0,b=2 --format dot / text
    graph, bindings = load(Request(source=source.from_text("L = relu(a)*b"), at=[source.BindingText("a=0,b=2", "--at")]))
    trace = analyse(graph, bindings, check=CheckKind.NONE).trace
    dot = render_dot(trace)
    assert "⚠ kink: one-sided convention" in dot
    assert 'n0 -> n1 [label=<⚠ ' in dot and 'style=dashed, color="#cf222e"' in dot
    assert "∂L/∂(relu(a)) = 2" in dot and "∂L/∂·" not in dot
    console = Console(color_system=None, width=80, record=True, file=open("/dev/null", "w"))
    console.print(render_graph_text(trace))
    text = console.export_text()
    assert "╭─ relu(a) ⚠ kink ──╮" in text and "│    ⚠ kink: one-sided       │" in text
    assert "│    local (1 if a > 0, else │" in text and "│    0) = 0                  │" in text  # (under its gutter)
    assert "∂L/∂(relu(a)) = 2" in text


def test_bindings_file_allows_comments(cli, tmp_path):
    # backprop grad "y = w*x + b; L = (y - t)^2/2" --at @values.txt
    path = tmp_path / "values.txt"
    path.write_text("# weights for the linear sample\nx=2\n\nw=3  # the weight\n# b=100\nb=1, t=10\n")
    code, out, err = cli("grad", "y = w*x + b; L = (y - t)^2/2", "--at", f"@{path}", "--format", "csv")
    assert code == 0, err
    assert "w,3,-6," in out and "b,1,-3," in out
    path.write_text("x=2 # fine\nw=oops\n")
    code, _, err = cli("grad", "y = w*x", "--at", f"@{path}")
    assert code == 2 and "  oops\n  ^^^^" in err


def test_samples_name_prints_the_text(cli):
    # backprop samples linear / backprop samples homework
    code, out, _ = cli("samples", "linear")
    assert code == 0 and out.startswith("# The linear neuron") and "# at: x=2, w=3, b=1, t=10\n" in out
    code, out, _ = cli("samples", "homework")
    assert code == 0 and "[[case]]" in out and "backprop samples homework > homework.toml" in out
    code, out, _ = cli("samples")
    assert "homework         A homework set" in out
    code, _, err = cli("samples", "lineer")
    assert code == 2 and "did you mean 'linear'?" in err


def test_samples_list_wraps_to_the_terminal():
    # COLUMNS=80 backprop samples: descriptions wrap under themselves, never inside `x = y`
    result = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1", "BACKPROP_LANG": None}).invoke(app, ["samples"])
    code, out = result.exit_code, result.stdout
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "two-layer-matrix The seed tutorial's two-layer tanh network in matrix form:" in lines
    assert "                 h = tanh(W1 @ x + b1), y = tanh(W2 @ h + b2)" in lines
    seed = out[out.index("seed-formulas "):]
    assert " ".join(seed.split()) == ("seed-formulas The seed tutorial's six backward formulas (section 4.3, a "
                                      "two-layer tanh network), one case each.")


def test_printer_names_are_refused(cli):
    # backprop grad "L = sign*abs(x)" --format json
    code, _, err = cli("grad", "L = sign*abs(x)", "--format", "json")
    assert code == 2
    assert err == ("error: the name 'sign' is reserved: the exact results would print it as SymPy's 'sign'\n"
                   "  L = sign*abs(x)\n      ^^^^\nhint: rename it, e.g. sign_ or my_sign\n")
    code, _, err = cli("grad", "y = 2*x\nHeaviside = relu(y)")
    assert code == 2 and "  Heaviside = relu(y)\n  ^^^^^^^^^" in err


@pytest.mark.parametrize("args,expected", [
    (["grad", "L = sigmod(w*x)"], "error: 未知函数 'sigmod'（你是不是想写 'sigmoid'？）\n  L = sigmod(w*x)\n      ^^^^^^\n"),
    (["grad", "L = (x + "], "error: 这里应为一个值，却遇到了程序结尾\n"),
    (["grad", "L = x y"], "error: 'y' 之前缺少运算符\n  L = x y\n        ^\nhint: 乘法要写出 '*'，例如 2*x\n"),
    (["grad", "L = 1/x", "--at", "x=0"], "error: L = 1/x 在这个点上没有定义：除以零\n"),
    (["grad", "L = x*w", "--at", "z=1"], "error: 'z' 不是程序的输入；输入有：x, w\n"),
    (["grad", "L = x*w", "--at", "x"], "error: 绑定的格式应为 名字=值，得到的是 'x'\n  --> --at，第 1 行，第 1 列\n"),
    (["grad", "--sample", "nope"], "error: 没有名为 'nope' 的示例\n"),
])
def test_errors_in_chinese(cli, args, expected):
    code, _, err = cli(*args, "--lang", "zh")
    assert code == 2
    assert err.startswith(expected), err
    code, _, err = cli(*args)
    assert err.startswith("error: ") and not re.search("[\u4e00-\u9fff]", err)  # English stays the default
