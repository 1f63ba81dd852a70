"""Graph + bindings → the value of every node.

One loop over the nodes in topological order. Each operation looks up its
derived template (primitives.template) and is evaluated on both tracks of
`Value`: exactly with SymPy while the result stays small, and always as a
decimal with mpmath, which is also where domain errors are caught.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import mpmath
import sympy as sp

from backprop_cli import limits
from backprop_cli.errors import BackpropError
from backprop_cli.evaluate import template_function
from backprop_cli.graph import Graph, Node, NodeKind
from backprop_cli.numbers import Value, exact_is_small, expression_size, power_is_small, to_mpf
from backprop_cli.primitives import PRIMITIVES, Template, template


@dataclass
class Forward:
    graph: Graph
    bindings: dict[str, sp.Expr]  # input name → exact bound value
    values: list[Value]
    templates: list[Template | None]  # per operation node
    abbreviations: dict[str, int] = field(default_factory=dict)  # symbol → node, for big formulas
    decimal_nodes: list[int] = field(default_factory=list)  # nodes whose exact form was dropped
    numeric: bool = False  # numeric mode: operation values are floats, not exact
    # output node → its operations' compiled mpmath functions (evaluate_decimals), built on first use
    decimal_plans: dict[int, list[tuple]] = field(default_factory=dict, repr=False)

    def values_by_name(self) -> dict[str, Value]:
        """Every input's and assigned name's value (claims and answers are evaluated in these)."""
        return {name: self.values[index] for name, index in self.graph.names.items()}


def _describe(node: Node) -> str:
    text = node.text if len(node.text) <= 40 else node.text[:39] + "…"
    return f"{node.name} = {text}" if node.name else f"'{text}'"


def domain_error(node: Node, detail: str) -> BackpropError:
    return BackpropError(f"{_describe(node)} is undefined at this point: {detail}", node.span,
                         hint="check the bindings (--at) against the domain of each function")


# Binary exponents safely inside 10^±MAX_MAGNITUDE_DIGITS: a value whose exponent lies in this
# range passes without comparing mpmath numbers (the common case, cheaply); others are measured.
_SAFE_BINARY_EXPONENT = int(limits.MAX_MAGNITUDE_DIGITS * math.log2(10)) - 2


def check_decimal(node: Node, result: object) -> mpmath.mpf:
    """Turn an mpmath result into a real decimal, or a domain error naming the node."""
    if type(result) is mpmath.mpf:
        _, mantissa, exponent, bits = result._mpf_
        if not mantissa and not bits:  # zero (nan and inf have bits = -1/-2 and no mantissa)
            return result
        if mantissa and -_SAFE_BINARY_EXPONENT <= exponent + bits <= _SAFE_BINARY_EXPONENT:
            return result
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


def evaluate_decimal(node: Node, function, args: list[mpmath.mpf]) -> mpmath.mpf:
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
    if not tmpl.defined:
        raise domain_error(node, "its constant arguments make it undefined")
    return tmpl


def run_forward(graph: Graph, bindings: dict[str, sp.Expr], numeric: bool = False) -> Forward:
    """Every node's value: exact (SymPy, with 50-digit decimals beside) or, in numeric mode, floats."""
    if numeric:
        return _run_numeric(graph, bindings)
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


def check_float(node: Node, result: object) -> float:
    if isinstance(result, complex):
        raise domain_error(node, "the value would be complex")
    if result != result or result in (math.inf, -math.inf):
        raise domain_error(node, "the value is not a finite number (or beyond the range of floats; try --exact)")
    return result


def evaluate_float(node: Node, function, args: list[float]) -> float:
    try:
        return check_float(node, function(*args))
    except ZeroDivisionError:
        raise domain_error(node, "division by zero") from None
    except OverflowError:
        raise domain_error(node, "the value is beyond the range of floats (try --exact)") from None
    except (ValueError, TypeError) as exc:
        raise domain_error(node, str(exc) or type(exc).__name__) from None


def _float_of(exact: sp.Expr) -> float:
    """A bound value as a float. For a rational, p/q: Python rounds it correctly, and 20 times
    faster than SymPy's float(), which goes through mpmath (33,000 weights in a network)."""
    if isinstance(exact, sp.Rational):
        try:
            return exact.p / exact.q
        except OverflowError:  # beyond floats: infinite, as float() says; the caller reports it
            return math.inf if exact.p > 0 else -math.inf
    return float(exact)


def _run_numeric(graph: Graph, bindings: dict[str, sp.Expr]) -> Forward:
    """The numeric mode: one pass over the nodes with floats and compiled templates.

    Inputs keep their exact bound values for display; constant-only arithmetic
    (2*pi, 1/3) stays exact so templates can fold it in; everything else is a float.
    """
    values: list[Value] = []
    templates: list[Template | None] = []
    forward = Forward(graph, bindings, values, templates, numeric=True)
    append_value, append_template = values.append, templates.append
    with mpmath.workdps(limits.DECIMAL_DIGITS):
        for node in graph.nodes:
            kind = node.kind
            if kind is NodeKind.OPERATION and node.depends_on_input:
                tmpl = operation_template(node, values, graph)
                function = template_function(tmpl, "value", "float")
                args = [values[node.args[p]].approx for p in tmpl.variable_positions]
                append_template(tmpl)
                append_value(Value(None, evaluate_float(node, function, args)))
            elif kind is NodeKind.INPUT:
                bound = bindings[node.name]
                number = _float_of(bound)
                if number - number != 0.0:
                    raise BackpropError(f"{node.name} = {sp.N(bound, 3)} is beyond the range of floats "
                                        "(about 1.8e308), which the numeric mode uses",
                                        hint="--exact keeps exact numbers (up to 2,000 nodes is the default)")
                append_value(Value(bound, number))
                append_template(None)
            elif kind is NodeKind.CONSTANT:
                append_value(Value(node.constant, float(node.constant)))
                append_template(None)
            else:  # arithmetic on constants only: exact, as in the exact mode
                tmpl = operation_template(node, values, graph)
                append_template(tmpl)
                decimal_args = {a: Value(values[a].exact, to_mpf(values[a].exact)) for a in node.args}
                value = _operation_value(node, tmpl, decimal_args, forward)
                append_value(Value(value.exact, float(value.approx)))
    return forward


def _operation_value(node: Node, tmpl: Template, values, forward: Forward) -> Value:
    args = [values[node.args[p]] for p in tmpl.variable_positions]
    approx = None
    if all(a.approx is not None for a in args):
        approx = evaluate_decimal(node, template_function(tmpl, "value", "mpmath"), [a.approx for a in args])
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


def leaf_decimals(forward: Forward, needed: list[bool]) -> dict[int, mpmath.mpf]:
    """Inputs and constants as decimals at the caller's precision, computed once for many passes."""
    leaves: dict[int, mpmath.mpf] = {}
    for node, value in zip(forward.graph.nodes, forward.values):
        if needed[node.index] and node.kind is not NodeKind.OPERATION:
            exact = value.exact
            if isinstance(exact, sp.Rational):
                leaves[node.index] = mpmath.mpf(int(exact.p)) / int(exact.q)
            elif exact is not None:
                leaves[node.index] = to_mpf(exact)
            else:
                leaves[node.index] = mpmath.mpf(value.approx)
    return leaves


def _decimal_plan(forward: Forward, output: int, needed: list[bool]) -> list[tuple]:
    """The operations the output depends on, each with its compiled mpmath function and its
    argument nodes: built once per output, then every finite-difference pass is one flat loop."""
    plan = forward.decimal_plans.get(output)
    if plan is None:
        nodes, templates = forward.graph.nodes, forward.templates
        functions: dict[int, object] = {}  # id(template) → its compiled value
        plan = []
        for index in range(output + 1):
            node = nodes[index]
            if needed[index] and node.kind is NodeKind.OPERATION:
                tmpl = templates[index]
                function = functions.get(id(tmpl))
                if function is None:
                    function = functions[id(tmpl)] = template_function(tmpl, "value", "mpmath")
                positions = tmpl.variable_positions
                arg_nodes = node.args if len(positions) == len(node.args) else tuple(node.args[p] for p in positions)
                plan.append((index, node, function, arg_nodes))
        forward.decimal_plans[output] = plan
    return plan


def evaluate_decimals(forward: Forward, overrides: dict[int, mpmath.mpf], output: int,
                      needed: list[bool], leaves: dict[int, mpmath.mpf] | None = None) -> mpmath.mpf:
    """The output as a decimal, with some nodes' values replaced (finite differences).

    Runs at the caller's mpmath precision over the `needed` nodes (the
    output's ancestors); `leaves` (from leaf_decimals, at the same precision)
    gives inputs and constants their full digits.
    """
    leaves = leaf_decimals(forward, needed) if leaves is None else leaves
    decimals: list[mpmath.mpf | None] = [None] * (output + 1)
    for index, value in leaves.items():
        decimals[index] = value
    for index, value in overrides.items():
        decimals[index] = value
    for index, node, function, arg_nodes in _decimal_plan(forward, output, needed):
        if index in overrides:
            continue
        decimals[index] = evaluate_decimal(node, function, [decimals[a] for a in arg_nodes])
    return decimals[output]


__all__ = ["Forward", "run_forward", "evaluate_decimals", "evaluate_decimal", "domain_error", "PRIMITIVES"]
