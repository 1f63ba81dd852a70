"""Every module imports: a name renamed in one module and still imported by another fails here,
not first in a user's run (views are imported lazily, on the command that needs them)."""

import importlib
import pkgutil

import pytest

import backprop_cli

MODULES = sorted(m.name for m in pkgutil.walk_packages(backprop_cli.__path__, "backprop_cli."))


@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name):
    importlib.import_module(name)
