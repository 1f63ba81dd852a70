"""SymPy, imported the first time a run needs it.

Numeric mode runs on the forms generated into derived.py and on Python's own numbers, so a
numeric run never imports SymPy (0.2 s of every run went to importing it: a small numeric
run now takes under half its former time).
Modules write `from backprop_cli.lazy import sp` and use `sp.Rational`, `sp.diff`, ... as
usual; the first attribute asked for imports SymPy, and each one found is kept on the object,
so later uses cost a plain attribute lookup.
"""

from __future__ import annotations


class _SymPy:
    def __getattr__(self, name: str):
        import sympy

        found = getattr(sympy, name)
        setattr(self, name, found)  # found once; afterwards an ordinary attribute
        return found


sp = _SymPy()
