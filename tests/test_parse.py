from fractions import Fraction

import pytest

from backprop_cli.errors import BackpropError
from backprop_cli.parse import BinaryOp, Call, Name, Number, UnaryOp, parse_expression, parse_program


def only(text):
    (statement,) = parse_program(text)
    return statement.expr


def test_statements_split_on_semicolons_and_newlines_and_comments():
    statements = parse_program("y = w*x + b  # a comment\nL = (y - t)^2/2; f = L")
    assert [s.target for s in statements] == ["y", "L", "f"]


def test_power_binds_tighter_than_unary_minus_and_is_right_associative():
    neg = only("-x^2")
    assert isinstance(neg, UnaryOp) and neg.op == "neg" and neg.operand.op == "pow"
    chain = only("x^y**z")
    assert chain.op == "pow" and isinstance(chain.left, Name) and chain.right.op == "pow"
    negative_exponent = only("2^-1")
    assert negative_exponent.right.op == "neg"


def test_operators_keep_their_identity():
    expr = only("a - b/c")
    assert expr.op == "sub" and expr.right.op == "div"


def test_numbers_are_exact():
    assert only("0.1").value == Fraction(1, 10)
    assert only("2e-3").value == Fraction(1, 500)
    assert only(".5").value == Fraction(1, 2)
    assert only("123456789012345678901234567890").value == 123456789012345678901234567890


def test_spans_point_at_the_source():
    expr = only("y = (a + b)^2".split("= ")[1])
    assert (expr.span.start, expr.span.end) == (0, 9)
    assert (expr.left.span.start, expr.left.span.end) == (0, 7)  # the brackets belong to the node


def test_calls_check_their_arguments():
    assert isinstance(only("log(x, 10)"), Call)
    with pytest.raises(BackpropError, match="takes 1 argument, given 2"):
        parse_program("sin(x, y)")
    with pytest.raises(BackpropError, match="takes 2 arguments, given 1"):
        parse_program("max(x)")


@pytest.mark.parametrize(
    "text, message, caret",
    [
        ("L = sigmod(w*x)", "unknown function 'sigmod' (did you mean 'sigmoid'?)", "      ^^^^^^"),
        ("y = 2x", "a number cannot run into a name: '2x'", "      ^^"),
        ("y = (x + 1", "'(' is never closed", "      ^"),
        ("y = x + 1)", "unmatched ')'", "           ^"),
        ("y = x +", "expected a value, found the end of the program", "         ^"),
        ("y = 'x'", "unexpected character '''", "      ^"),
        ("y = x.real", "unknown attribute '.real'", "       ^^^^^"),
        ("y = W.shape", "unknown attribute '.shape'", "       ^^^^^^"),
        ("y = x 2", "expected an operator before '2'", "        ^"),
    ],
)
def test_errors_point_at_the_problem(text, message, caret):
    with pytest.raises(BackpropError) as info:
        parse_program(text)
    assert message in info.value.message
    assert info.value.caret_lines()[-1] == caret


def test_error_in_a_later_line_names_the_line():
    with pytest.raises(BackpropError) as info:
        parse_program("y = w*x\nL = sigmod(y)")
    lines = info.value.caret_lines()
    assert lines[0] == "  --> program, line 2, column 5"
    assert lines[1:] == ["  L = sigmod(y)", "      ^^^^^^"]


def test_bare_expression_only_last():
    with pytest.raises(BackpropError, match="only be the last statement"):
        parse_program("x + 1; y = 2")


def test_nesting_is_limited_not_a_crash():
    with pytest.raises(BackpropError, match="nests more than 500 levels"):
        parse_program("(" * 5000 + "x" + ")" * 5000)
    with pytest.raises(BackpropError, match="nests more than 500 levels"):
        parse_program("-" * 100000 + "x")
    with pytest.raises(BackpropError, match="nests more than 500 levels"):
        parse_program("x" + "^x" * 5000)


def test_long_chains_do_not_recurse():
    statements = parse_program("x" + "+x" * 100000)
    assert statements[0].expr.op == "add"


def test_fullwidth_letters_get_a_hint():
    with pytest.raises(BackpropError) as info:
        parse_program("ｓｉｎ(x)")
    assert info.value.hint == "this looks like 's'; type it in plain ASCII"


def test_parse_expression_rejects_statements():
    with pytest.raises(BackpropError):
        parse_expression("x = 1", "--at")
    assert isinstance(parse_expression("1/3", "--at"), BinaryOp)
    assert isinstance(parse_expression("3", "--at"), Number)
