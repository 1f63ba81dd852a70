"""The README stays honest: every command is documented and has help."""

import re
from pathlib import Path

from backprop_cli.cli import app

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def command_names():
    return [c.name or c.callback.__name__ for c in app.registered_commands]


def test_every_command_is_in_the_readme():
    for name in command_names():
        assert re.search(rf"backprop {name}\b", README), name


def test_every_command_has_a_docstring_with_an_example():
    for command in app.registered_commands:
        assert "Example: backprop" in (command.callback.__doc__ or ""), command.callback.__name__


def test_readme_has_exactly_two_setup_commands():
    setup = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", setup, flags=re.S)
    assert len(blocks) == 2
    assert "backprop explain --sample linear" in blocks[0]
    assert "pytest" in blocks[1]
