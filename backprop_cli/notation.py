"""Formulas and labels in the program's notation: how the tool writes what SymPy derives.

Shared by the views and by the core's own messages (an error that names a local derivative):
`^` for powers, the program's function names, `1 if z > 0, else 0`, operands in the user's own
text. Never SymPy's `**`, `Heaviside`, `Piecewise`, `sign` or `Max` (SPEC §6).
"""

from __future__ import annotations

import re
from functools import lru_cache

import sympy as sp
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

from backprop_cli.graph import Node

LABEL_WIDTH = 48
_SIMPLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$|^-?[0-9.]+$|^\(.*\)$")


def shorten(text: str, width: int = LABEL_WIDTH) -> str:
    """Long labels keep their start and end; nothing is dropped silently."""
    if len(text) <= width:
        return text
    keep = (width - 1) // 2
    return text[:keep] + "…" + text[-(width - 1 - keep):]


def node_label(node: Node, width: int = LABEL_WIDTH) -> str:
    return shorten(node.label, width)


def grouped(label: str) -> str:
    """A label as an operand: `w*x` becomes `(w*x)`; names and bracketed text stay."""
    if label.isidentifier():
        return label
    if _SIMPLE.match(label) and (not label.startswith("(") or _balanced_outer(label)):
        return label
    return f"({label})"


def _balanced_outer(text: str) -> bool:
    depth = 0
    for i, char in enumerate(text):
        depth += char == "("
        depth -= char == ")"
        if depth == 0 and i < len(text) - 1:
            return False
    return True


def derivative(out: Node, node: Node) -> str:
    return f"∂{grouped(node_label(out, 24))}/∂{grouped(node_label(node, 32))}"


class _LabelPrinter(StrPrinter):
    """SymPy's expressions in the program's notation (`^`, abs, max, `1 if z > 0, else 0`), with
    placeholders shown as the user's operands. Never `**`, `Heaviside`, `Piecewise`, `sign`, `Max`."""

    def __init__(self, labels: dict[sp.Symbol, str], call_labels: dict[sp.Symbol, str] | None = None):
        super().__init__()
        self.labels = labels
        self.call_labels = call_labels or {}  # a placeholder alone as a function's argument

    def doprint(self, expr) -> str:
        # Only SymPy's own text and operand markers are printed here (user text is filled in
        # afterwards), so every `**` is a power.
        return super().doprint(expr).replace("**", "^")

    def _print_Symbol(self, expr):
        return self.labels.get(expr, expr.name)

    def _print_Add(self, expr, order=None):
        """Terms with a plus sign first, as a person writes them: `y - t`, not `-t + y`."""
        terms = self._as_ordered_terms(expr, order=order)
        terms = [t for t in terms if not t.could_extract_minus_sign()] + [t for t in terms if t.could_extract_minus_sign()]
        parts: list[str] = []
        for term in terms:
            text = self._print(term)
            sign = "+"
            if text.startswith("-"):
                sign, text = "-", text[1:]
            if precedence(term) < precedence(expr):
                text = f"({text})"
            parts += [sign, text]
        first = parts.pop(0)
        return ("-" if first == "-" else "") + " ".join(parts)

    def _print_Function(self, expr):
        name = expr.func.__name__
        if name == "matmul":  # symbolic tensors (tensor_formulas.py): `a @ b`, bracketed inside others
            return "(" + " @ ".join(self._matmul_operand(a) for a in expr.args) + ")"
        if name == "T":
            arg = expr.args[0]
            text = self._print(arg)
            return f"{text}.T" if arg.is_Symbol or (isinstance(arg, sp.Function) and text[-1] == ")") \
                else f"({text}).T"
        args = [self.call_labels[arg] if arg in self.call_labels else self._print(arg) for arg in expr.args]
        args = [text[1:-1] if isinstance(arg, sp.Function) and arg.func.__name__ == "matmul" else text
                for arg, text in zip(expr.args, args)]  # f(W @ x), not f((W @ x))
        if name == "entry":
            return f"{args[0]}[{args[1]}]"
        return f"{name}({', '.join(args)})"

    def _matmul_operand(self, arg) -> str:
        text = self._print(arg)
        return f"({text})" if isinstance(arg, (sp.Add, sp.Mul)) else text

    def _print_Abs(self, expr):
        return f"abs({self._argument(expr.args[0])})"

    def _print_Max(self, expr):
        return f"max({', '.join(self._print(a) for a in expr.args)})"

    def _print_Min(self, expr):
        return f"min({', '.join(self._print(a) for a in expr.args)})"

    def _argument(self, arg) -> str:
        return self.call_labels[arg] if arg in self.call_labels else self._print(arg)

    def _comparison(self, arg, relation: str) -> str:
        """`a - b > 0` as `a > b`; `z > 0` as it is."""
        if isinstance(arg, sp.Add) and len(arg.args) == 2:
            positive = [t for t in arg.args if not t.could_extract_minus_sign()]
            negative = [-t for t in arg.args if t.could_extract_minus_sign()]
            if len(positive) == 1 and len(negative) == 1:
                return f"{self._print(positive[0])} {relation} {self._print(negative[0])}"
        return f"{self._print(arg)} {relation} 0"

    def _print_Heaviside(self, expr):
        # max/min: the gradient goes to the larger (smaller) input; a tie splits it evenly
        arg = expr.args[0]
        return f"(1 if {self._comparison(arg, '>')}, 1/2 if {self._comparison(arg, '=')}, else 0)"

    def _print_sign(self, expr):
        arg = expr.args[0]
        return f"(1 if {self._comparison(arg, '>')}, -1 if {self._comparison(arg, '<')}, else 0)"

    def _print_Piecewise(self, expr):
        parts = []
        for value, condition in expr.args:
            if condition == sp.true:
                parts.append(f"else {self._print(value)}" if parts else self._print(value))
            else:
                parts.append(f"{self._print(value)} if {self._print(condition)}")
        return "(" + ", ".join(parts) + ")"


_MARKER = re.compile("\u27e8(\\d+)\u27e9|\u27e6(\\d+)\u27e7")


@lru_cache(maxsize=4096)
def _formula_parts(formula: sp.Expr, variables: tuple) -> tuple:
    """The formula printed once, cut at its operands: literal text, and (i, alone_in_a_call)
    where operand i goes. Printing with SymPy is the slow part; filling in is a join."""
    labels = {v: f"\u27e8{i}\u27e9" for i, v in enumerate(variables)}
    call_labels = {v: f"\u27e6{i}\u27e7" for i, v in enumerate(variables)}
    text = _LabelPrinter(labels, call_labels).doprint(formula)
    parts: list = []
    position = 0
    for match in _MARKER.finditer(text):
        parts.append(text[position:match.start()])
        parts.append((int(match.group(1) or match.group(2)), match.group(2) is not None))
        position = match.end()
    parts.append(text[position:])
    return tuple(part for part in parts if part != "")


@lru_cache(maxsize=4096)
def _constant_text(formula: sp.Expr) -> str:
    return _LabelPrinter({}).doprint(formula)


def _fill(parts: tuple, operands: list[tuple[str, str]]) -> str:
    """operands[i] is (as a bracketed operand, as a call's only argument)."""
    return "".join(part if type(part) is str else operands[part[0]][part[1]] for part in parts)


def _operand_forms(operand_text: str) -> tuple[str, str]:
    short = shorten(operand_text, 32)
    return grouped(short), short


def formula_text(formula: sp.Expr, variables, operands: list[str]) -> str:
    """A local derivative in the user's operands: `1 - tanh(w*x + b)**2`, `2*(y - t)`."""
    return _fill(_formula_parts(formula, tuple(variables)), [_operand_forms(text) for text in operands])


def exact_text(expr: sp.Expr | None) -> str:
    if expr is None:
        return ""
    text = _printed(expr)
    if isinstance(expr, sp.Function) and expr.func.__name__ == "matmul":
        return text[1:-1]  # a whole formula that is one product needs no brackets
    return text


@lru_cache(maxsize=8192)
def _printed(expr: sp.Expr) -> str:
    """Printed once: a symbolic walkthrough shows the same formula as one edge's contribution,
    the next edge's upstream and a node's gradient."""
    return _PLAIN.doprint(expr)


class _SharedPrinter(_LabelPrinter):
    """The printer without operand labels, remembering each part it printed: a chain's gradients
    are products that share their factors (1 if a1 - y > 0, else 0)·…, printed once each."""

    def __init__(self):
        super().__init__({})
        self._parts: dict = {}

    def _print(self, expr, **kwargs) -> str:
        if kwargs or not isinstance(expr, sp.Basic) or expr.is_Atom:
            return super()._print(expr, **kwargs)
        text = self._parts.get(expr)
        if text is None:
            if len(self._parts) > 100_000:
                self._parts.clear()
            text = self._parts[expr] = super()._print(expr)
        return text


_PLAIN = _SharedPrinter()
