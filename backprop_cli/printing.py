"""SymPy's expressions printed in the program's notation (notation.py's formulas; imported only
by runs that hold SymPy expressions: exact and symbolic mode, and derive.py)."""

from __future__ import annotations

import sympy as sp
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter


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


PLAIN = _SharedPrinter()
