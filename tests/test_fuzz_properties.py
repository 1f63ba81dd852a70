"""Arbitrary text, and text shaped like the grammar, never yields anything but exit 0 or 2."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from backprop_cli.cli import app

runner = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1"})

TOKENS = ["x", "y", "w", "b", "1", "2", "0", "0.5", "1e3", "pi", "E", "+", "-", "*", "/", "^", "**", "(", ")",
          ",", "=", ";", "\n", " ", "sin", "log", "sqrt", "tanh", "relu", "max", "abs", "sigmoid", "leaky_relu",
          "pow", "f", "h", "#", "9", "e"]
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(*args):
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.output)
    assert "Traceback" not in result.output
    return result.exit_code


@FAST
@given(st.text(max_size=80))
def test_arbitrary_text_is_a_result_or_a_clean_error(text):
    assert outcome("grad", text, "--timeout", "10") in (0, 2)


@FAST
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join))
def test_grammar_shaped_text_is_a_result_or_a_clean_error(text):
    code = outcome("grad", text, "--at", "x=1/3", "--timeout", "10") if "x" in text else outcome("grad", text)
    assert code in (0, 2)


@FAST
@given(st.text(max_size=40))
def test_arbitrary_bindings_and_claims(text):
    assert outcome("grad", "f = x*w", "--at", text, "--timeout", "10") in (0, 2)
    assert outcome("check", "--sample", "linear", "--expect", text, "--timeout", "10") in (0, 1, 2)
