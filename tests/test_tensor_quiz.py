"""The tutor on tensor programs, driven through stdin as a pipe or a teacher's script would:
each statement's value, then for each gradient its shape, its rule over δ and its values."""

import json

import pytest

from backprop_cli.engine import Request
from backprop_cli.i18n import Messages
from backprop_cli.quiz import prepare
from backprop_cli.render.quiz_view import words_for
from backprop_cli.source import BindingText, from_sample, from_text

# The seed's network as the two-layer-matrix sample first had it, its pre-activations unnamed
# (the sample now names them z1 and z2; its own quiz is test_the_sample_itself_scores_full):
# the hand-worked answers below follow this program's questions.
TWO_LAYER_TEXT = """# at: x=[1, 2], W1=[[1/2, -1/4], [-1, 1/2]], b1=[0, 1/2], W2=[[1, -1]], b2=[1/4], t=[1]
h = tanh(W1 @ x + b1)
y = tanh(W2 @ h + b2)
J = sum((y - t)^2) / 2
"""
TWO_LAYER_PROGRAM = (TWO_LAYER_TEXT,)  # the program as the command's argument, its bindings in it

# two-layer-matrix, worked by hand: W1 = [[1/2, -1/4], [-1, 1/2]], x = [1, 2], b1 = [0, 1/2],
# W2 = [[1, -1]], b2 = [1/4], t = [1]. Then W1 @ x + b1 = [0, 1/2], h = [0, tanh(1/2)],
# y = [Y] with Y = tanh(1/4 - tanh(1/2)); D = ∂J/∂(W2 @ h + b2) = (Y - 1)*(1 - Y^2), and
# g = ∂J/∂(W1 @ x + b1) = (W2.T @ [D]) * (1 - h^2) = [D, -D*(1 - tanh(1/2)^2)].
Y = "tanh(1/4 - tanh(1/2))"
D = f"(({Y} - 1)*(1 - {Y}^2))"
G1 = f"(-{D}*(1 - tanh(1/2)^2))"
TWO_LAYER = [
    "[0, tanh(1/2)]", f"[{Y}]", f"({Y} - 1)^2/2",  # h, y, J
    "(1,)", "δ", f"[{Y} - 1]",  # ∂J/∂y: through y - t
    "(1,)", "-δ", f"[1 - {Y}]",  # ∂J/∂t
    "(1,)", "δ", f"[{D}]",  # ∂J/∂b2
    "(1, 2)", "outer(δ, h)", f"[[0, {D}*tanh(1/2)]]",  # ∂J/∂W2
    "(2,)", "W2.T @ δ", f"[{D}, -{D}]",  # ∂J/∂h
    "(2,)", "δ", f"[{D}, {G1}]",  # ∂J/∂b1
    "(2, 2)", "outer(δ, x)", f"[[{D}, 2*{D}], [{G1}, 2*{G1}]]",  # ∂J/∂W1
    "(2,)", "W1.T @ δ", f"[{D}/2 - {G1}, -{D}/4 + {G1}/2]",  # ∂J/∂x
]
# The same in decimals, rounded by hand to four or five digits (within the 0.1% tolerance).
TWO_LAYER_DECIMALS = [
    "[0, 0.4621]", "[-0.20899]", "0.73083",
    "(1,)", "delta", "[-1.209]",
    "1", "-d", "[1.209]",
    "1", "d", "[-1.1562]",
    "1x2", "outer(delta, h)", "[[0, -0.5343]]",
    "2", "W2.T @ delta", "[-1.1562, 1.1562]",
    "(2,)", "δ", "[-1.1562, 0.90928]",
    "2x2", "outer(δ, x)", "[[-1.1562, -2.3124], [0.90928, 1.8186]]",
    "(2,)", "W1.T @ δ", "[-1.4874, 0.74369]",
]
SCORE = f"Score: {len(TWO_LAYER)} of {len(TWO_LAYER)} right (100%)."


def feed(answers):
    return "\n".join(answers) + "\n"


def replaced(answers, at, *new):
    """The right answers with the one at index `at` replaced by `new` (one or more lines)."""
    return answers[:at] + list(new) + answers[at + 1:]


def lines(out):
    return out.splitlines()


def answers_for(sample, at=None):
    """The answers the quiz itself gives (for samples not worked by hand)."""
    source = from_sample(sample) if at is None else from_text(sample)
    quiz = prepare(Request(source, at=[] if at is None else [BindingText(at, "--at")]))
    words = words_for(quiz, Messages("en"))
    return [words.answer(q) for q in quiz.questions]


# ---------------------------------------------------------------- whole runs


def test_every_answer_right_by_hand_is_a_full_score(cli):
    code, out, err = cli("quiz", *TWO_LAYER_PROGRAM, input=feed(TWO_LAYER))
    assert code == 0, out + err
    assert "✗" not in out
    assert SCORE in lines(out) and "Every step right. Well done!" in lines(out)


def test_decimal_answers_and_other_spellings_are_accepted(cli):
    code, out, err = cli("quiz", *TWO_LAYER_PROGRAM, input=feed(TWO_LAYER_DECIMALS))
    assert code == 0, out + err
    assert "✗" not in out and SCORE in lines(out)


def test_the_dialogue_reads_as_a_lesson(cli):
    code, out, _ = cli("quiz", *TWO_LAYER_PROGRAM, input=feed(TWO_LAYER[:15]) + "q\n")
    got = lines(out)
    start = got.index("Inputs: W1 = [[1/2, -1/4], [-1, 1/2]], x = [1, 2], b1 = [0, 1/2], W2 = [[1, -1]], "
                      "b2 = [1/4], t = [1].")
    assert got[start + 1:start + 6] == [
        "Forward pass",
        "h = tanh(W1 @ x + b1), shape (2,). What is its value?",
        "> [0, tanh(1/2)]",
        "✓ right",
        "So h = [0, 0.4621171573].",
    ]
    w2 = got.index("What is the shape of ∂J/∂W2?")
    assert got[w2:w2 + 11] == [
        "What is the shape of ∂J/∂W2?",
        "> (1, 2)",
        "✓ right",
        "∂J/∂W2 = ? in terms of δ = ∂J/∂(W2 @ h) (1,) and the program's names",
        "> outer(δ, h)",
        "✓ right",
        "So ∂J/∂W2 = outer(δ, h), with δ = ∂J/∂(W2 @ h).",
        "∂J/∂W2 = ? (its values)",
        f"> [[0, {D}*tanh(1/2)]]",
        "✓ right",
        "So ∂J/∂W2 = [[0, -0.534293433]].",
    ]
    assert "Score: 15 of 15 right (100%)." in got


@pytest.mark.parametrize("sample", ["batch-bias", "softmax-ce"])
def test_the_other_tensor_samples_all_right(cli, sample):
    answers = answers_for(sample)
    code, out, err = cli("quiz", "--sample", sample, input=feed(answers))
    assert code == 0, out + err
    assert "✗" not in out, out
    assert f"Score: {len(answers)} of {len(answers)} right (100%)." in out


def test_per_gradient_three_questions_in_the_reverse_pass_order():
    quiz = prepare(Request(from_text(TWO_LAYER_TEXT)))
    kinds = [(q.kind, quiz.trace.node(q.node).label) for q in quiz.questions]
    assert kinds[:3] == [("value", "h"), ("value", "y"), ("value", "J")]
    assert [name for kind, name in kinds[3::3]] == ["y", "t", "b2", "W2", "h", "b1", "W1", "x"]
    assert [kind for kind, _ in kinds[3:]] == ["shape", "rule", "gradient"] * 8


# ---------------------------------------------------------------- hints, word for word

W2_SHAPE, W2_RULE, W2_VALUES = 12, 13, 14
H_RULE, W1_RULE, X_RULE, W1_VALUES = 16, 22, 25, 23


@pytest.mark.parametrize("at, wrong, hint", [
    (0, "[[0, 0.4621]]", "hint: that is (1, 2), the value has shape (2,)"),
    (W2_SHAPE, "(2, 1)", "hint: that is the transpose's shape; ∂J/∂W2 has W2's own shape, entry for entry"),
    (W2_SHAPE, "(1,)", "hint: that is the shape of W2 @ h, where the gradient comes from; ∂J/∂W2 has one entry "
                       "for each entry of W2"),
    (W2_SHAPE, "(2, 2)", "hint: ∂J/∂W2 has one entry for each entry of W2"),
    (W1_RULE, "δ * x", "hint: that has shape (2,), but ∂J/∂W1 has shape (2, 2); only one product of δ (2,) and x "
                       "(2,) gives (2, 2): the outer product"),
    (W1_RULE, "outer(x, δ)", "hint: that is the transpose of ∂J/∂W1: it has W1's layout, entry [i,j] for W1[i,j]"),
    (H_RULE, "δ * W2", "hint: that has shape (1, 2), but ∂J/∂h has shape (2,); W2 is (1, 2) and δ is (1,): which "
                       "product of them has h's shape (2,)?"),
    (H_RULE, "W2 @ δ", "hint: W2 @ δ: (1, 2) @ (1,) — the inner sizes 2 and 1 differ; W2 is (1, 2) and δ is (1,): "
                       "which product of them has h's shape (2,)?"),
    (X_RULE, "W1 @ δ", "hint: the forward pass multiplies by W1; going back, the gradient flows through W1's "
                       "transpose"),
    (X_RULE, "-W1.T @ δ", "hint: right size, wrong sign; W1 is (2, 2) and δ is (2,): which product of them has "
                          "x's shape (2,)?"),
    (4, "y", "hint: the rule must use δ = ∂J/∂(y - t), the gradient arriving from above"),
    (7, "δ", "hint: right size, wrong sign; t is a term of (y - t): the gradient passes on as it is, with the "
             "term's sign"),
    (W2_VALUES, "[[0, 1]]", "hint: ∂J/∂W2 = outer(δ, h) with δ = [-1.156186098]"),
    (W2_VALUES, "[[0, 0.5343]]", "hint: right size, wrong sign; ∂J/∂W2 = outer(δ, h) with δ = [-1.156186098]"),
    (W2_VALUES, "[0, -0.5343]", "hint: that is (2,), ∂J/∂W2 has shape (1, 2)"),
    (W1_VALUES, "[[-1.156, 0.9093], [-2.312, 1.819]]",
     "hint: that is the transpose of ∂J/∂W1: it has W1's layout, entry [i,j] for W1[i,j]"),
])
def test_a_wrong_answer_gets_its_hint_then_the_right_one_goes_on(cli, at, wrong, hint):
    retry = TWO_LAYER_DECIMALS[at]  # (short: an echo longer than the terminal is wrapped)
    answers = replaced(TWO_LAYER, at, wrong, retry)
    code, out, err = cli("quiz", *TWO_LAYER_PROGRAM, input=feed(answers))
    assert code == 0, out + err
    assert f"> {wrong}\n✗ not quite\n{hint}\n> {retry}\n✓ right\n" in out
    assert f"Score: {len(TWO_LAYER) - 1} of {len(TWO_LAYER)} right (96%)." in lines(out)


def test_two_wrong_answers_give_the_answer_and_its_reason(cli):
    answers = replaced(TWO_LAYER, H_RULE, "δ * W2", "W2 @ δ")
    code, out, _ = cli("quiz", *TWO_LAYER_PROGRAM, input=feed(answers))
    assert "> W2 @ δ\n✗ not quite\nthe answer is W2.T @ δ: matmul: (2, 1) @ (1,) → (2,)\n" \
           "So ∂J/∂h = W2.T @ δ, with δ = ∂J/∂(W2 @ h).\n" in out
    answers = replaced(TWO_LAYER, W2_VALUES, "[[0, 1]]", "[[0, 2]]")
    code, out, _ = cli("quiz", *TWO_LAYER_PROGRAM, input=feed(answers))
    assert "the answer is [[0, -0.534293433]]: outer(δ, h) with δ = [-1.156186098]" in lines(out)
    assert "Steps to review:" in lines(out)


def test_a_question_mark_gives_the_hint(cli):
    answers = replaced(TWO_LAYER, H_RULE, "?", TWO_LAYER[H_RULE])
    code, out, _ = cli("quiz", *TWO_LAYER_PROGRAM, input=feed(answers))
    assert "> ?\nhint: W2 is (1, 2) and δ is (1,): which product of them has h's shape (2,)?\n> W2.T @ δ\n✓ right\n" \
           in out
    assert SCORE in lines(out)  # a hint asked for is not a wrong answer
    answers = replaced(TWO_LAYER, 1, "?", TWO_LAYER[1])
    code, out, _ = cli("quiz", *TWO_LAYER_PROGRAM, input=feed(answers))
    assert "> ?\nhint: evaluate tanh(W2 @ h + b2) with the values above\n" in out


# ---------------------------------------------------------------- reading answers


@pytest.mark.parametrize("answer", ["[0, 0.4621]", "[0, 0.46209]", "[0.0, 4.621e-1]", "[0, tanh(0.5)]",
                                    "tanh(W1 @ x + b1)", "[0, tanh(1/2)]"])
def test_exact_and_decimal_values_are_accepted(cli, answer):
    code, out, _ = cli("quiz", *TWO_LAYER_PROGRAM, input=f"{answer}\nq\n")
    assert f"> {answer}\n✓ right\n" in out


# Decimals count within 0.1% of max(1, |entry|), entry by entry, as for scalars; an exact answer must be exact.
@pytest.mark.parametrize("answer", ["[0, 0.4635]", "[0, 0.46]", "[0, 1/2]", "[1/100, 0.4621]",
                                    "[0, 4621171573/10000000000]"])
def test_a_value_outside_the_tolerance_is_wrong(cli, answer):
    code, out, _ = cli("quiz", *TWO_LAYER_PROGRAM, input=f"{answer}\nq\n")
    assert f"> {answer}\n✗ not quite\nhint: evaluate tanh(W1 @ x + b1) with the values above\n" in out


def test_the_tolerance_can_be_widened(cli):
    code, out, _ = cli("quiz", *TWO_LAYER_PROGRAM, "--tol", "0.01", input="[0, 0.4635]\nq\n")
    assert "> [0, 0.4635]\n✓ right\n" in out


@pytest.mark.parametrize("rule", ["W2.T @ δ", "W2.T @ delta", "W2.T @ d", "δ @ W2", "transpose(W2) @ δ",
                                  "(δ @ W2).T", "W2.T @ δ + 0*h"])
def test_a_rule_is_judged_by_its_values_so_equivalent_spellings_pass(cli, rule):
    answers = replaced(TWO_LAYER, H_RULE, rule)
    code, out, _ = cli("quiz", *TWO_LAYER_PROGRAM, input=feed(answers[:H_RULE + 1]) + "q\n")
    assert f"> {rule}\n✓ right\n" in out


@pytest.mark.parametrize("rule", ["h @ δ", "W2.T", "W2.T @ [-1.156186098]"])
def test_a_rule_right_only_at_the_run_s_delta_is_wrong(cli, rule):
    answers = replaced(TWO_LAYER, H_RULE, rule)
    code, out, _ = cli("quiz", *TWO_LAYER_PROGRAM, input=feed(answers[:H_RULE + 1]) + "q\n")
    assert f"> {rule}\n✗ not quite\n" in out


def test_a_shape_is_written_in_several_ways(cli):
    for shape in ("(2, 2)", "(2,2)", "2x2", "2 × 2", "[2, 2]", "2*2"):
        answers = replaced(TWO_LAYER, 21, shape)
        code, out, _ = cli("quiz", *TWO_LAYER_PROGRAM, input=feed(answers[:22]) + "q\n")
        assert f"> {shape}\n✓ right\n" in out, shape
    for shape in ("(2,)", "2", "[2]"):
        answers = replaced(TWO_LAYER, 15, shape)
        code, out, _ = cli("quiz", *TWO_LAYER_PROGRAM, input=feed(answers[:16]) + "q\n")
        assert f"> {shape}\n✓ right\n" in out, shape


@pytest.mark.parametrize("at, answer, message", [
    (0, "[[1, 2]", "I could not read that as a value (a number, or a list such as [[1, 2], [3, 4]]) "
                   "('[' is never closed); try again, or ? for a hint"),
    (0, "[0, h]", "I could not read that as a value (a number, or a list such as [[1, 2], [3, 4]]) "
                  "(a value cannot use the name 'h'); try again, or ? for a hint"),
    (W2_VALUES, "outer(δ, h)", "I could not read that as a value (a number, or a list such as [[1, 2], [3, 4]]) "
                               "(δ is for the rules; here, the values); try again, or ? for a hint"),
    (W2_SHAPE, "one by two", "I could not read that as a shape such as (2, 3), 2x3, (3,) or () "
                             "('one by two' is not a shape); try again, or ? for a hint"),
    (W2_RULE, "outer(δ, k)", "I could not read that as a formula in δ and the program's names "
                             "('k' is not a name in the program); try again, or ? for a hint"),
])
def test_a_malformed_answer_is_said_so_and_the_quiz_goes_on(cli, at, answer, message):
    answers = replaced(TWO_LAYER, at, answer, TWO_LAYER[at])
    code, out, err = cli("quiz", *TWO_LAYER_PROGRAM, input=feed(answers))
    assert code == 0, out + err
    assert f"> {answer}\n{message}\n> {TWO_LAYER[at]}\n✓ right\n" in out
    assert SCORE in lines(out)  # an unreadable answer is not a wrong one


def test_control_characters_in_an_answer_are_made_visible(cli):
    code, out, _ = cli("quiz", *TWO_LAYER_PROGRAM, input="[0, \x1b[2J]\nq\n")
    assert "\x1b" not in out
    assert "\\x1b" in out


# ---------------------------------------------------------------- other programs


def test_a_big_tensor_is_asked_one_entry():
    quiz = prepare(Request(from_sample("softmax-ce")))
    words = words_for(quiz, Messages("en"))
    question = next(q for q in quiz.questions if q.kind == "gradient" and quiz.trace.node(q.node).name == "W")
    assert question.entry is not None and quiz.trace.shape(question.node) == (3, 4)
    prompt = words.prompt(question)
    assert prompt.startswith("∂L/∂W has 12 entries; just one: ∂L/∂W[") and prompt.endswith("] = ?")


def test_a_big_tensor_s_entry_hint(cli):
    quiz = prepare(Request(from_sample("softmax-ce")))
    answers = answers_for("softmax-ce")
    k = next(k for k, q in enumerate(quiz.questions) if q.kind == "gradient" and q.entry is not None)
    i, j = quiz.questions[k].entry
    code, out, _ = cli("quiz", "--sample", "softmax-ce", input=feed(replaced(answers, k, "7", answers[k])))
    assert (f"> 7\n✗ not quite\nhint: ∂L/∂W[{i},{j}] is entry [{i},{j}] of outer(δ, x) with δ = "
            "[0.3071958857, -0.8136762768, 0.5064803911]\n") in out
    assert f"Score: {len(answers) - 1} of {len(answers)} right" in out


def test_an_entry_read_with_its_indices_swapped():
    from dataclasses import replace

    quiz = prepare(Request(from_sample("softmax-ce")))
    words = words_for(quiz, Messages("en"))
    question = next(q for q in quiz.questions if q.kind == "gradient" and q.entry is not None)
    question = replace(question, entry=(1, 2))  # by hand: ∂L/∂W = outer(p - y, x), x = [1, 2, -1, 1/2]
    gradient = quiz.trace.gradients[question.node].entries
    assert quiz.verdict(question, "-0.81368 * -1") == (True, None)  # (p - y)[1] * x[2]
    right, trap = quiz.verdict(question, f"{float(gradient[2, 1].approx):.6f}")
    assert not right and trap.hint == "entry_transposed"
    assert words.hint(question, trap) == "that is entry [2,1]; ∂L/∂W[1,2] is row 1, column 2"


def test_the_bias_of_a_batch_sums_delta_over_the_rows(cli):
    answers = answers_for("batch-bias")
    quiz = prepare(Request(from_sample("batch-bias")))
    k = next(k for k, q in enumerate(quiz.questions) if q.kind == "rule" and quiz.trace.node(q.node).name == "b")
    assert answers[k] == "sum(δ, 0)"
    code, out, _ = cli("quiz", "--sample", "batch-bias", input=feed(replaced(answers, k, "δ", "δ[0] + δ[1]")))
    assert ("> δ\n✗ not quite\nhint: that has shape (3, 2), but ∂L/∂b has shape (2,); in Y, b (2,) is "
            "copied to fill (3, 2): each copy gets its part of δ, so add the copies back up to (2,)\n") in out
    for right in ("sum(δ, 0)", "sum(delta, 0)", "[1, 1, 1] @ δ", "δ.T @ [1, 1, 1]"):
        code, out, _ = cli("quiz", "--sample", "batch-bias", input=feed(replaced(answers, k, right)))
        assert f"> {right}\n✓ right\n" in out, right


def test_a_transpose_node_and_a_matrix_product_in_a_batch(cli):
    answers = answers_for("batch-bias")
    quiz = prepare(Request(from_sample("batch-bias")))
    k = next(k for k, q in enumerate(quiz.questions) if q.kind == "rule" and quiz.trace.node(q.node).name == "W")
    assert answers[k] == "δ.T"
    code, out, _ = cli("quiz", "--sample", "batch-bias", input=feed(replaced(answers, k, "δ", "δ.T")))
    assert "> δ\n✗ not quite\nhint: that is the transpose of ∂L/∂W: it has W's layout, entry [i,j] for W[i,j]\n" in out
    x = next(k for k, q in enumerate(quiz.questions) if q.kind == "rule" and quiz.trace.node(q.node).name == "X")
    assert answers[x] == "δ @ W"
    code, out, _ = cli("quiz", "--sample", "batch-bias", input=feed(replaced(answers, x, "δ @ W.T", "δ @ W")))
    assert "> δ @ W.T\n✗ not quite\nhint: the forward pass multiplies by W.T; going back, the gradient flows " \
           "through W.T's transpose\n" in out


@pytest.mark.parametrize("program, at, rule, accepted", [
    ("h = W @ x; L = sum(h)", "W=[[1, 2], [3, 4]], x=[1, -1]", "δ", True),
    ("h = W @ x; L = sum(h)", "W=[[1, 2], [3, 4]], x=[1, -1]", "δ * [1, 1]", True),
    ("h = W @ x; L = mean(h)", "W=[[1, 2], [3, 4]], x=[1, -1]", "δ / 2", True),
    ("h = W @ x; L = mean(h)", "W=[[1, 2], [3, 4]], x=[1, -1]", "δ", False),
    ("h = W @ x; L = sum(h^2)", "W=[[1, 2], [3, 4]], x=[1, -1]", "δ * 2*h", True),  # δ = ∂L/∂(h^2)
    ("h = W @ x; L = sum(h^2)", "W=[[1, 2], [3, 4]], x=[1, -1]", "2*h", False),
])
def test_reductions_copy_delta_back(cli, program, at, rule, accepted):
    answers = answers_for(program, at)
    quiz = prepare(Request(from_text(program), at=[BindingText(at, "--at")]))
    k = next(k for k, q in enumerate(quiz.questions) if q.kind == "rule" and quiz.trace.node(q.node).name == "h")
    code, out, _ = cli("quiz", program, "--at", at, input=feed(answers[:k] + [rule, "q"]))
    assert f"> {rule}\n{'✓ right' if accepted else '✗ not quite'}\n" in out


def test_a_name_used_twice_asks_each_path_then_the_sum(cli):
    program, at = "h = W @ x; L = sum(h * h) + sum(W)", "W=[[1, 2], [3, 4]], x=[1, -1]"
    quiz = prepare(Request(from_text(program), at=[BindingText(at, "--at")]))
    words = words_for(quiz, Messages("en"))
    asked = [words.prompt(q) for q in quiz.questions if quiz.trace.node(q.node).name == "h" and q.kind != "value"]
    assert asked == [
        "What is the shape of ∂L/∂h?",
        "Path 1 of 2, through (h * h) (as its argument 1): its part of ∂L/∂h = ? in terms of δ = ∂L/∂(h * h) (2,) "
        "and the program's names",
        "Path 2 of 2, through (h * h) (as its argument 2): its part of ∂L/∂h = ? in terms of δ = ∂L/∂(h * h) (2,) "
        "and the program's names",
        "∂L/∂h = ? (its values)",
    ]
    answers = answers_for(program, at)
    k = next(k for k, q in enumerate(quiz.questions) if q.kind == "gradient" and quiz.trace.node(q.node).name == "h")
    # by hand: h = W @ x = [-1, -1], δ = ∂L/∂(h * h) = [1, 1]; each path gives δ * h = [-1, -1]
    assert words.answer(quiz.questions[k]) == "[-2, -2]"
    code, out, _ = cli("quiz", program, "--at", at, input=feed(replaced(answers, k, "[-1, -1]", answers[k])))
    assert ("> [-1, -1]\n✗ not quite\nhint: that is only the path through (h * h) (as its argument 1); add the path "
            "through (h * h) (as its argument 2) too\n") in out
    w = next(k for k, q in enumerate(quiz.questions) if q.kind == "gradient" and quiz.trace.node(q.node).name == "W")
    assert words.hint(quiz.questions[w]) == ("∂L/∂W adds its paths: through h, outer(δ, x) with δ = [-2, -2]; "
                                             "through (sum(W)), δ with δ = 1")


# ---------------------------------------------------------------- languages, formats, exit codes


def test_chinese(cli):
    answers = replaced(TWO_LAYER, W1_RULE, "δ * x", TWO_LAYER[W1_RULE])
    answers = replaced(answers, W2_SHAPE, "(2, 1)", TWO_LAYER[W2_SHAPE])
    code, out, err = cli("quiz", *TWO_LAYER_PROGRAM, "--lang", "zh", input=feed(answers) + "q\n")
    assert code == 0, out + err
    got = lines(out)
    for line in ("h = tanh(W1 @ x + b1)，形状 (2,)。它的值是多少？",
                 "∂J/∂W2 的形状是什么？",
                 "提示：这是转置后的形状；∂J/∂W2 的形状与 W2 本身相同，元素一一对应",
                 "∂J/∂W2 = ?（用 δ = ∂J/∂(W2 @ h) (1,) 和程序里的名字表示）",
                 "所以 ∂J/∂W2 = outer(δ, h)，其中 δ = ∂J/∂(W2 @ h)。",
                 "∂J/∂W2 的值 = ?",
                 "所以 ∂J/∂W2 = [[0, -0.534293433]]。",
                 "提示：它的形状是 (2,)，但 ∂J/∂W1 的形状是 (2, 2)；δ (2,) 和 x (2,) 只有一种乘积能得到 (2, 2)：外积",
                 "得分：27 题中答对 25 题（93%）。"):
        assert line in got, line
    code, out, _ = cli("quiz", *TWO_LAYER_PROGRAM, "--lang", "zh", input="[[1, 2]\n[0, 0.4621]\nq\n")
    assert "无法把它读成一个值（一个数，或 [[1, 2], [3, 4]] 这样的列表）（'[' 没有闭合）；请再试一次，或输入 ? 获取提示" in lines(out)


def test_chinese_hints_for_rules():
    quiz = prepare(Request(from_sample("batch-bias")))
    words = words_for(quiz, Messages("zh"))
    hints = {quiz.trace.node(q.node).name: words.hint(q) for q in quiz.questions if q.kind == "rule"}
    assert hints["b"] == "在 Y 中，b (2,) 被广播复制成 (3, 2)：每份副本分到 δ 的一部分，所以要把副本的梯度加回到 (2,)"
    assert hints["W"] == "W.T 是 W 的转置：δ (2, 2) 经过转置回到 W 的形状 (2, 2)"
    assert hints["X"] == "W.T 是 (2, 2)，δ 是 (3, 2)：它们的哪种乘积具有 X 的形状 (3, 2)？"
    assert hints["T"] == "T 是 (Y - T) 中的一项：梯度原样传下去，带上这一项的符号"
    quiz = prepare(Request(from_text(TWO_LAYER_TEXT)))
    words = words_for(quiz, Messages("zh"))
    assert words.hint(quiz.questions[W1_RULE]) == "δ (2,) 和 x (2,) 只有一种乘积能得到 (2, 2)：外积"


def test_json_score(cli):
    answers = replaced(TWO_LAYER, W2_RULE, "outer(h, δ)", TWO_LAYER[W2_RULE])
    code, out, err = cli("quiz", *TWO_LAYER_PROGRAM, "--format", "json", input=feed(answers))
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"level", "inputs", "questions", "asked", "right", "stopped", "answers_read", "steps",
                         "unfinished"}
    assert data["questions"] == data["asked"] == 27 and data["right"] == 26 and data["stopped"] is False
    assert data["inputs"]["W1"] == [["1/2", "-1/4"], ["-1", "1/2"]] and data["inputs"]["t"] == ["1"]
    assert data["steps"][W2_RULE] == {
        "kind": "rule", "question": "∂J/∂W2 = ? in terms of δ = ∂J/∂(W2 @ h) (1,) and the program's names",
        "answer": "outer(δ, h)", "right": False, "attempts": 2, "skipped": False,
        "typed": ["outer(h, δ)", "outer(δ, h)"]}
    assert [step["kind"] for step in data["steps"][:6]] == ["value", "value", "value", "shape", "rule", "gradient"]
    assert "✓ right" in err  # the dialogue goes to stderr


def test_exit_codes(cli):
    code, out, _ = cli("quiz", *TWO_LAYER_PROGRAM, input=feed(TWO_LAYER[:3]) + "skip\n" * 30)
    assert code == 0 and "Score: 3 of 27 right (11%)." in out  # practice, not a check: 0 whatever the score
    code, out, _ = cli("quiz", *TWO_LAYER_PROGRAM, input="")
    assert code == 0 and "No answers were read" in out
    code, out, err = cli("quiz", *TWO_LAYER_PROGRAM, "--level", "formulas", input="")
    assert code == 2 and "error: --level formulas is for scalar programs" in err
    code, out, err = cli("quiz", "L = sum(W @ x)", "--at", "W=[[1, 2]]", input="")
    assert code == 2 and "error:" in err and "Traceback" not in err
    code, out, err = cli("quiz", *TWO_LAYER_PROGRAM, input="[" + "1, " * 5000 + "1]\n")
    assert code == 2 and "error: the answer has more than 10,000 characters; the limit is 10,000" in err


def test_the_time_limit_bounds_judging_a_tensor_answer(cli, monkeypatch):
    from backprop_cli import quiz as quiz_module

    real = quiz_module.TensorJudge.verdict

    def verdict(self, question, answer):
        if answer != "slow":
            return real(self, question, answer)
        for _method in range(3):  # slow, and it swallows every exception
            try:
                while True:
                    pass
            except Exception:
                pass
        return True, None

    monkeypatch.setattr(quiz_module.TensorJudge, "verdict", verdict)
    code, out, err = cli("quiz", *TWO_LAYER_PROGRAM, "--timeout", "1", input="[0, tanh(1/2)]\nslow\n")
    assert code == 2, out + err
    assert err.startswith("error: gave up after 1 s; the limit is --timeout 1\n"), err
    assert "Score: 1 of 1 right (100%)." in out


def test_a_hostile_answer_is_judged_quickly(cli):
    import time

    start = time.monotonic()
    answers = ["[9^9^9, 1]", "[0, tanh(1/2)]", "[(sqrt(2) + sqrt(3) + sqrt(5) - 3)^1000 - 6]", "q"]
    code, out, err = cli("quiz", *TWO_LAYER_PROGRAM, "--timeout", "10", input=feed(answers))
    assert code == 0, out + err
    assert time.monotonic() - start < 10
    assert "✓ right" in out and out.count("✗ not quite") + out.count("I could not read") == 2


def test_scalar_programs_keep_their_quiz():
    quiz = prepare(Request(from_sample("linear")))
    assert not quiz.tensor and quiz.tensor_judge is None
    assert [q.kind for q in quiz.questions][:3] == ["value", "value", "local"]
    assert type(words_for(quiz, Messages("en"))).__name__ == "Words"


def test_the_sample_itself_scores_full(cli):
    """two-layer-matrix as shipped (z1, z2 named): the quiz's own answers give a full score, and it
    asks about the pre-activations' gradients too (δ1, δ2)."""
    answers = answers_for("two-layer-matrix")
    code, out, err = cli("quiz", "--sample", "two-layer-matrix", input=feed(answers))
    assert code == 0, out + err
    assert f"Score: {len(answers)} of {len(answers)} right (100%)." in lines(out)
    assert "What is the shape of ∂J/∂z2?" in out and "What is the shape of ∂J/∂z1?" in out
