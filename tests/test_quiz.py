"""The tutor, driven through stdin exactly as a pipe or a teacher's script would."""

import json

import pytest

from backprop_cli.engine import Request
from backprop_cli.i18n import Messages
from backprop_cli.quiz import prepare
from backprop_cli.render.quiz_view import Words
from backprop_cli.source import BindingText, from_sample, from_text

# Hand-worked answers, independent of the engine.
LINEAR = ["7", "9/2", "1/2", "-6", "-3", "1", "-1", "1", "1", "2", "-6", "3", "-9"]
BRANCH = ["3", "2", "6", "2", "3", "1", "1", "1", "5"]


def answers_for(sample):
    quiz = prepare(Request(from_sample(sample)))
    words = Words(quiz, Messages("en"))
    return [words.answer(q).split("≈ ")[-1] for q in quiz.questions]  # a long exact form is shown as ≈ decimal


def test_linear_all_right(cli):
    code, out, _ = cli("quiz", "--sample", "linear", input="\n".join(LINEAR) + "\n")
    assert code == 0
    assert "✗" not in out
    assert f"Score: {len(LINEAR)} of {len(LINEAR)} right (100%)." in out and "Every step right" in out


def test_branch_all_right_and_the_sum_is_asked(cli):
    code, out, _ = cli("quiz", "--sample", "branch", input="\n".join(BRANCH) + "\n")
    assert "b is reached by 2 paths (through c, d). So ∂e/∂b = ?" in out
    assert "Score: 9 of 9 right (100%)." in out


@pytest.mark.parametrize("sample", ["circuit", "sigmoid-neuron", "two-layer"])
def test_every_sample_all_right(cli, sample):
    answers = answers_for(sample)
    code, out, _ = cli("quiz", "--sample", sample, input="\n".join(answers) + "\n")
    assert code == 0 and f"Score: {len(answers)} of {len(answers)} right (100%)." in out


def test_forgetting_one_path_gets_the_classic_hint(cli):
    answers = BRANCH[:-1] + ["3", "5"]
    code, out, _ = cli("quiz", "--sample", "branch", input="\n".join(answers) + "\n")
    assert "hint: that is only the path through d; add the path through c too" in out
    assert "Score: 8 of 9 right (89%)." in out


def test_wrong_then_right_shows_the_rule_as_hint(cli):
    answers = LINEAR[:6] + ["1", "-1"] + LINEAR[7:]
    code, out, _ = cli("quiz", "--sample", "linear", input="\n".join(answers) + "\n")
    assert "✗ not quite\nhint: difference: flips the sign\n> -1\n✓ right" in out


def test_two_wrong_answers_give_the_answer_and_reason(cli):
    answers = LINEAR[:9] + ["5", "6"] + LINEAR[10:]
    code, out, _ = cli("quiz", "--sample", "linear", input="\n".join(answers) + "\n")
    assert "the answer is 2: product: the other factor: ∂(w*x)/∂w = x = 2" in out
    assert "Steps to review:" in out


def test_exact_and_decimal_answers(cli):
    for y_value in ("7", "7.0", "7.0004", "14/2"):
        code, out, _ = cli("quiz", "--sample", "linear", input=y_value + "\nq\n")
        assert "✓ right" in out, y_value
    code, out, _ = cli("quiz", "--sample", "linear", input="7.01\nq\n")
    assert "✗ not quite" in out
    code, out, _ = cli("quiz", "--sample", "two-layer", input="tanh(1)\n-0.9051\n")
    assert out.count("✓ right") == 2


def test_hint_skip_and_end_of_input(cli):
    code, out, _ = cli("quiz", "--sample", "linear", input="?\n7\nskip\n")
    assert "hint: evaluate w*x + b with the values above" in out
    assert "skipped; the answer is 9/2" in out
    assert "Score: 1 of 2 right (50%)." in out  # end of input stops the quiz politely
    code, out, _ = cli("quiz", "--sample", "linear", input="")
    assert code == 0 and "Stopped." in out


def test_a_second_hint_goes_a_step_further(cli):
    """`?` after a hint showed the same hint again (a newcomer's trial); now it shows the working
    with its numbers, short of the answer: the values a node uses, upstream × local, the paths."""
    code, out, _ = cli("quiz", "--sample", "linear", input="?\n?\n7\n8\n?\n9/2\n")
    assert "hint: evaluate w*x + b with the values above" in out
    assert "closer: w*x + b with w*x = 6, b = 1" in out
    assert "closer: (y - t)^2 / 2 with (y - t)^2 = 9" in out  # asked after a wrong answer's hint
    code, out, _ = cli("quiz", "--sample", "branch", input="\n".join(BRANCH[:3]) + "\n?\n?\nq\n")
    assert "closer:" in out
    code, out, _ = cli("quiz", "--sample", "linear", "--lang", "zh", input="?\n?\nq\n")
    assert "再进一步：w*x + b，其中 w*x = 6, b = 1" in out


def test_unreadable_answer_asks_again(cli):
    code, out, _ = cli("quiz", "--sample", "linear", input="seven\n7\nq\n")
    assert "I could not read that as a number or formula ('seven' is not a name in the program)" in out
    assert "✓ right" in out


def test_json_score(cli):
    code, out, err = cli("quiz", "--sample", "branch", "--format", "json", input="\n".join(BRANCH) + "\n")
    data = json.loads(out)
    assert data["right"] == 9 and data["asked"] == 9 and data["stopped"] is False
    assert "✓ right" in err  # the dialogue goes to stderr


def test_formulas_level(cli):
    code, out, _ = cli("quiz", "--sample", "linear", "--level", "formulas",
                       input="7\n9/2\n1/2\n2*(y - t)\n1\n-1\n1\n1\nx\nw\n")
    assert "Local derivative ∂(w*x)/∂w of w*x, as a formula?" in out
    assert out.count("✓ right") == 10


def test_chinese(cli):
    code, out, _ = cli("quiz", "--sample", "branch", "--lang", "zh", input="\n".join(BRANCH[:-1]) + "\n3\n5\n")
    assert "有 2 条路径到达 b（经过 c, d）。那么 ∂e/∂b = ?" in out
    assert "提示：这只是经过 d 的那条路径；还要加上经过 c 的路径" in out
    assert "得分：9 题中答对 8 题（89%）。" in out


# ---------------------------------------------------------------- issue 12 item 6, issue 11


def lines(out):
    return out.splitlines()


def test_the_inputs_come_first_and_every_forward_value_is_stated(cli):
    code, out, _ = cli("quiz", "--sample", "branch", input="3\nskip\n5\n6\nq\n")
    assert code == 0, out
    got = lines(out)
    start = got.index("Inputs: a = 2, b = 1.")
    assert got[start:start + 17] == [
        "Inputs: a = 2, b = 1.",
        "Forward pass",
        "c = a + b. What is its value?",
        "> 3",
        "✓ right",
        "So c = 3.",
        "d = b + 1. What is its value?",
        "> skip",
        "skipped; the answer is 2: b + 1 = 2",
        "So d = 2.",  # stated, though skipped, before e = c * d needs it
        "e = c * d. What is its value?",
        "> 5",
        "✗ not quite",
        "hint: evaluate c * d with the values above",
        "> 6",
        "✓ right",
        "So e = 6.",
    ]
    assert all("What is its value?" not in line for line in got[:start])  # nothing asked before the inputs


def test_a_value_given_up_on_is_stated_before_the_backward_pass(cli):
    code, out, _ = cli("quiz", "--sample", "linear", input="7\n4\n5\n1/2\nq\n")
    assert "\n> 5\n✗ not quite\nthe answer is 9/2 = 4.5: (y - t)^2 / 2 = 9/2 = 4.5\nSo L = 9/2 = 4.5.\n" \
           "Backward pass, from the output ∂L/∂L = 1 down\n" in out


def test_inputs_in_chinese_and_an_unbound_input(cli):
    code, out, _ = cli("quiz", "--sample", "branch", "--lang", "zh", input="q\n")
    assert "输入：a = 2, b = 1。" in lines(out)
    code, out, _ = cli("quiz", "f = x*y", "--at", "x=1/2", input="q\n")
    assert "Inputs: x = 1/2 = 0.5, y (no value)." in lines(out)


def answers_until(kind, program, at, lang="en"):
    """The right answers (as the quiz words them) up to the first question of `kind`, and that question's."""
    quiz = prepare(Request(from_text(program), at=[BindingText(at, "--at")]))
    words = Words(quiz, Messages(lang))
    first = next(k for k, q in enumerate(quiz.questions) if q.kind == kind)
    return [words.answer(q) for q in quiz.questions[:first]], words.answer(quiz.questions[first])


@pytest.mark.parametrize("at, right, hint", [
    ("x=2,y=-3,z=-1", "3", "hint: right size, wrong sign: in (-1) × (-3) both factors are negative, "
                           "and minus times minus is plus"),
    ("x=2,y=-3,z=2", "-6", "hint: right size, wrong sign: in 2 × (-3) exactly one factor is negative, "
                           "so the product is negative"),
    ("x=2,y=3,z=4", "12", "hint: right size, wrong sign: in 4 × 3 neither factor is negative, "
                          "so the product is positive"),
])
def test_a_product_with_the_wrong_sign_gets_a_sign_hint(cli, at, right, hint):
    before, expected = answers_until("product", PRODUCTS, at)
    assert expected == right  # by hand: upstream ∂f/∂q = z, local ∂q/∂x = y
    wrong = right[1:] if right.startswith("-") else "-" + right
    code, out, _ = cli("quiz", PRODUCTS, "--at", at, input="\n".join(before + [wrong, right, "q"]) + "\n")
    assert f"> {wrong}\n✗ not quite\n{hint}\n> {right}\n✓ right\n" in out


PRODUCTS = "q = x*y; f = q*z"


def test_the_sign_hint_for_a_product_and_a_sum_in_both_languages(cli):
    answers = LINEAR[:4] + ["3"] + LINEAR[4:]
    code, out, _ = cli("quiz", "--sample", "linear", input="\n".join(answers) + "\n")
    assert ("hint: right size, wrong sign: in 1/2 × (-6) exactly one factor is negative, so the product is negative"
            in lines(out))
    code, out, _ = cli("quiz", "--sample", "linear", "--lang", "zh", input="\n".join(answers) + "\n")
    assert "提示：大小对了，符号错了：1/2 × (-6) 中恰好有一个负因子，所以乘积是负的" in lines(out)
    answers = BRANCH[:-1] + ["-5", "5"]
    code, out, _ = cli("quiz", "--sample", "branch", input="\n".join(answers) + "\n")
    assert "> -5\n✗ not quite\nhint: right size, wrong sign: add each path's contribution with its own sign\n> 5\n" in out
    code, out, _ = cli("quiz", "--sample", "branch", "--lang", "zh", input="\n".join(answers) + "\n")
    assert "提示：大小对了，符号错了：相加时每条路径的贡献都要带上它自己的符号" in lines(out)


def test_a_wrong_product_of_the_right_sign_keeps_the_chain_rule_hint(cli):
    answers = LINEAR[:4] + ["-6"] + LINEAR[4:]
    code, out, _ = cli("quiz", "--sample", "linear", input="\n".join(answers) + "\n")
    assert "> -6\n✗ not quite\nhint: the chain rule: multiply the upstream gradient by the local derivative\n" in out


def test_json_records_what_the_student_typed(cli):
    answers = ["3", "?", "2", "6", "2", "-3", "3", "1", "skip", "1", "-5", "7"]
    code, out, err = cli("quiz", "--sample", "branch", "--format", "json", input="\n".join(answers) + "\n")
    assert code == 0, err
    data = json.loads(out)
    assert [step["typed"] for step in data["steps"]] == [
        ["3"], ["?", "2"], ["6"], ["2"], ["-3", "3"], ["1"], ["skip"], ["1"], ["-5", "7"]]
    assert data["steps"][-1] == {"kind": "sum", "question": "b is reached by 2 paths (through c, d). So ∂e/∂b = ?",
                                 "answer": "5", "right": False, "attempts": 2, "skipped": False, "typed": ["-5", "7"]}
    assert data["inputs"] == {"a": "2", "b": "1"}
    assert data["answers_read"] == 12 and data["unfinished"] is None
    code, out, err = cli("quiz", "--sample", "branch", "--format", "json", input="3\n4\n")
    data = json.loads(out)
    assert data["unfinished"] == {"kind": "value", "question": "d = b + 1. What is its value?", "typed": ["4"]}
    assert data["asked"] == 1 and data["stopped"] is True


@pytest.mark.parametrize("stdin", ["", "\n\n  \n"])
def test_empty_stdin_says_no_answers_were_read(cli, stdin):
    code, out, err = cli("quiz", "--sample", "branch", input=stdin)
    assert code == 0, out + err
    assert lines(out)[-4:] == [
        "> ", "Stopped.", "",
        "No answers were read: standard input was empty. Run the quiz in a terminal, or pipe the answers in, "
        "one per line."]
    assert "Score:" not in out
    code, out, err = cli("quiz", "--sample", "branch", "--lang", "zh", input=stdin)
    assert lines(out)[-1] == "没有读到任何答案：标准输入是空的。请在终端里运行练习，或用管道传入答案，每行一个。"
    code, out, err = cli("quiz", "--sample", "branch", "--format", "json", input=stdin)
    assert code == 0 and json.loads(out)["answers_read"] == 0
    assert "No answers were read" in err and "Score:" not in err


def test_an_early_q_is_not_an_empty_stdin(cli):
    code, out, _ = cli("quiz", "--sample", "branch", input="q\n")
    assert "Score: 0 of 0 right (0%)." in out and "No answers were read" not in out


def test_pipes_are_read_line_by_line_and_terminals_with_readline(cli, monkeypatch):
    from backprop_cli.render import quiz_view

    assert quiz_view._line_editing() is False  # CliRunner's stdin is no terminal: the bounded read
    typed = iter(["3", "x" * 10_001])
    monkeypatch.setattr(quiz_view, "_line_editing", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: next(typed))
    code, out, err = cli("quiz", "--sample", "branch", input="")
    assert code == 2 and "✓ right" in out
    assert err == ("error: the answer has more than 10,000 characters; the limit is 10,000\n"
                   "hint: answer with one number or formula per line\n")

    def end(prompt):
        raise EOFError

    monkeypatch.setattr("builtins.input", end)  # Ctrl-D at the terminal
    code, out, _ = cli("quiz", "--sample", "branch", input="")
    assert code == 0 and "No answers were read" in out


def test_the_core_imports_no_view():
    import ast
    import inspect

    from backprop_cli import quiz

    tree = ast.parse(inspect.getsource(quiz))
    imported = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert not [name for name in imported if name and "render" in name]
