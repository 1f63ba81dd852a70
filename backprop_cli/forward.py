"""Graph + bindings → the value of every node.

One loop over the nodes in topological order. Each operation looks up its
derived template (primitives.template) and is evaluated on both tracks of
`Value`: exactly with SymPy while the result stays small, and always as a
decimal with mpmath, which is also where domain errors are caught.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mpmath
import sympy as sp

from backprop_cli import limits
from backprop_cli.errors import BackpropError
from backprop_cli.graph import Graph, Node, NodeKind
from backprop_cli.numbers import Value, compiled, exact_is_small, expression_size, power_is_small, to_mpf
from backprop_cli.primitives import PRIMITIVES, Template, template


@dataclass
class Forward:
    graph: Graph
    bindings: dict[str, sp.Expr]  # input name → exact bound value
    values: list[Value]
    templates: list[Template | None]  # per operation node
    abbreviations: dict[str, int] = field(default_factory=dict)  # symbol → node, for big formulas
    decimal_nodes: list[int] = field(default_factory=list)  # nodes whose exact form was dropped

    @property
    def symbolic(self) -> bool:
        return any(v.approx is None for v in self.values)


def _describe(node: Node) -> str:
    text = node.text if len(node.text) <= 40 else node.text[:39] + "…"
    return f"{node.name} = {text}" if node.name else f"'{text}'"


def domain_error(node: Node, detail: str) -> BackpropError:
    return BackpropError(f"{_describe(node)} is undefined at this point: {detail}", node.span,
                         hint="check the bindings (--at) against the domain of each function")


def check_decimal(node: Node, result: object) -> mpmath.mpf:
    """Turn an mpmath result into a real decimal, or a domain error naming the node."""
    if isinstance(result, mpmath.mpc):
        if result.imag != 0:
            raise domain_error(node, f"the value would be complex ({mpmath.nstr(result, 6)})")
        result = result.real
    if not isinstance(result, mpmath.mpf):
        result = mpmath.mpf(result)
    if mpmath.isnan(result) or mpmath.isinf(result):
        raise domain_error(node, "the value is not a finite number")
    if result != 0:
        magnitude = mpmath.log10(abs(result))
        if abs(magnitude) > limits.MAX_MAGNITUDE_DIGITS:
            shown = f"{int(magnitude):,}" if abs(magnitude) < 10**15 else mpmath.nstr(magnitude, 3)
            raise BackpropError(
                f"{_describe(node)} is about 10^{shown}; values are limited to 10^±{limits.MAX_MAGNITUDE_DIGITS:,}",
                node.span)
    return result


def evaluate_decimal(node: Node, tmpl: Template, expr: sp.Expr, args: list[mpmath.mpf]) -> mpmath.mpf:
    function = compiled(expr, tmpl.variables)
    try:
        result = function(*args)
    except ZeroDivisionError:
        raise domain_error(node, "division by zero") from None
    except (ValueError, OverflowError, TypeError) as exc:
        raise domain_error(node, str(exc) or type(exc).__name__) from None
    return check_decimal(node, result)


def operation_template(node: Node, values: list[Value], graph: Graph) -> Template:
    constants = tuple(
        values[a].exact if not graph.nodes[a].depends_on_input and values[a].exact is not None else None
        for a in node.args
    )
    tmpl = template(node.op, constants)
    if tmpl.value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):  # log(x, 1), x^(1/0): no value anywhere
        raise domain_error(node, "its constant arguments make it undefined")
    return tmpl


def run_forward(graph: Graph, bindings: dict[str, sp.Expr]) -> Forward:
    values: list[Value] = []
    templates: list[Template | None] = []
    forward = Forward(graph, bindings, values, templates)
    with mpmath.workdps(limits.DECIMAL_DIGITS):
        for node in graph.nodes:
            if node.kind is NodeKind.CONSTANT:
                values.append(Value(node.constant, to_mpf(node.constant)))
                templates.append(None)
            elif node.kind is NodeKind.INPUT:
                if node.name in bindings:
                    bound = bindings[node.name]  # a number, or a formula when a claim is evaluated
                    values.append(Value(bound, None if bound.free_symbols else to_mpf(bound)))
                else:
                    values.append(Value(sp.Symbol(node.name, real=True), None))
                templates.append(None)
            else:
                tmpl = operation_template(node, values, graph)
                templates.append(tmpl)
                values.append(_operation_value(node, tmpl, values, forward))
    return forward


def _operation_value(node: Node, tmpl: Template, values: list[Value], forward: Forward) -> Value:
    args = [values[node.args[p]] for p in tmpl.variable_positions]
    approx = None
    if all(a.approx is not None for a in args):
        approx = evaluate_decimal(node, tmpl, tmpl.value, [a.approx for a in args])
    exact = None
    if all(a.exact is not None for a in args):
        exact = _exact_value(node, tmpl, [a.exact for a in args])
        if exact is not None and approx is not None and not exact_is_small(exact):
            exact = None
    if exact is None and approx is not None:
        forward.decimal_nodes.append(node.index)
    if approx is None and exact is not None and not exact.free_symbols:
        # A constant the decimal track could not see (should not happen); keep both honest.
        approx = check_decimal(node, to_mpf(exact))
    if approx is None and exact is not None:
        exact = _abbreviate(node, exact, forward)
    return Value(exact, approx)


def _exact_value(node: Node, tmpl: Template, args: list[sp.Expr]) -> sp.Expr | None:
    if node.op == "pow" and len(args) == 2 and not power_is_small(args[0], args[1]):
        return None
    if node.op == "pow" and len(args) == 1 and isinstance(tmpl.value, sp.Pow):
        if not power_is_small(args[0], tmpl.value.exp):
            return None
    try:
        result = tmpl.value.xreplace(dict(zip(tmpl.variables, args)))
    except (ValueError, TypeError, ArithmeticError):
        return None  # SymPy could not evaluate it exactly (Max of an incomparable): decimal only
    if result.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise domain_error(node, "division by zero" if result.has(sp.zoo) else "the value is not finite")
    return result


def _abbreviate(node: Node, formula: sp.Expr, forward: Forward) -> sp.Expr:
    """Past a size, a symbolic formula is written with the node's own name.

    SymPy's automatic evaluation of nested formulas (exp(tanh(exp(...)))) grows
    without bound; naming intermediate results keeps every formula small.
    """
    if expression_size(formula, limits.MAX_SYMBOLIC_EXPRESSION_NODES) <= limits.MAX_SYMBOLIC_EXPRESSION_NODES:
        return formula
    name = node.name or f"n{node.index}"
    while name in forward.graph.names and forward.graph.names[name] != node.index:
        name = "_" + name
    forward.abbreviations[name] = node.index
    return sp.Symbol(name, real=True)


def evaluate_decimals(forward: Forward, overrides: dict[int, mpmath.mpf], output: int,
                      needed: list[bool]) -> mpmath.mpf:
    """The output as a decimal, with some nodes' values replaced (finite differences).

    Runs at the caller's mpmath precision over the `needed` nodes (the
    output's ancestors); bound inputs are re-converted from their exact values
    so the extra digits are real.
    """
    graph = forward.graph
    decimals: list[mpmath.mpf | None] = []
    for node, value, tmpl in zip(graph.nodes[: output + 1], forward.values, forward.templates):
        if not needed[node.index]:
            decimals.append(None)
        elif node.index in overrides:
            decimals.append(overrides[node.index])
        elif node.kind is not NodeKind.OPERATION:
            decimals.append(to_mpf(value.exact) if value.exact is not None else value.approx)
        else:
            args = [decimals[node.args[p]] for p in tmpl.variable_positions]
            decimals.append(evaluate_decimal(node, tmpl, tmpl.value, args))
    return decimals[output]


__all__ = ["Forward", "run_forward", "evaluate_decimals", "evaluate_decimal", "domain_error", "PRIMITIVES"]
