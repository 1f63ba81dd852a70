import json

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app


@pytest.fixture
def cli():
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""
    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "BACKPROP_LANG": None})

    def invoke(*args: str, input: str | None = None):
        result = runner.invoke(app, list(args), input=input)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return invoke


@pytest.fixture
def cli_json(cli):
    def invoke(*args: str):
        code, out, err = cli(*args, "--format", "json")
        assert code in (0, 1), err
        return json.loads(out)

    return invoke


@pytest.fixture(autouse=True)
def english_between_tests():
    """A run with --lang zh sets the process's language (errors are worded in it); in-process
    tests must not inherit it from the test before."""
    from backprop_cli import i18n

    yield
    i18n._use(i18n.DEFAULT_LANGUAGE)
