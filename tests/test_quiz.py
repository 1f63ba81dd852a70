"""The tutor, driven through stdin exactly as a pipe or a teacher's script would."""

import json

import pytest

from backprop_cli.engine import Request
from backprop_cli.i18n import Messages
from backprop_cli.quiz import prepare
from backprop_cli.render.quiz_view import Words
from backprop_cli.source import from_sample

# Hand-worked answers, independent of the engine.
LINEAR = ["7", "9/2", "1/2", "-6", "-3", "1", "-1", "1", "1", "2", "-6", "3", "-9"]
BRANCH = ["3", "2", "6", "2", "3", "1", "1", "1", "5"]


def answers_for(sample):
    quiz = prepare(Request(from_sample(sample)))
    words = Words(quiz, Messages("en"))
    return [words.answer(q).split(" ≈ ")[-1] for q in quiz.questions]


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
