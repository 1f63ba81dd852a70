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


def test_no_module_imports_sympy_when_imported():
    """SymPy loads on first use (lazy.py), so a numeric run that never asks for it never pays its
    import; only the modules that are SymPy work through and through import it outright: the
    printer of SymPy's expressions and the symbolic matrix formulas."""
    import subprocess
    import sys

    names = [name for name in MODULES if name not in ("backprop_cli.printing", "backprop_cli.tensor_formulas")]
    script = f"import importlib, sys\nfor name in {names!r}:\n    importlib.import_module(name)\nprint('sympy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr
