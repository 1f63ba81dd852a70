"""Forward values → each edge's local derivative at the point, and whether it sits at a kink.

One step of its own, apart from any accumulation: the reverse sweep and the tangent sweep
(sweeps.py) both read these numbers. A local derivative is a template's partial (derived by
SymPy in primitives.py) evaluated in the run's number domain.
"""

from __future__ import annotations

from dataclasses import dataclass

from backprop_cli import deadline
from backprop_cli.errors import BackpropError
from backprop_cli.forward import Forward
from backprop_cli.graph import NodeKind
from backprop_cli.lazy import sp


@dataclass(frozen=True)
class Undefined:
    """A local derivative that has no value at the point (∂(x^y)/∂y = x^y·log(x) at x = -2):
    only the gradients whose paths need it are undefined; the others are reported."""

    consumer: int
    position: int
    which: int  # the consumer template's variable: its partial is the one with no value


def is_undefined(x) -> bool:
    return type(x) is Undefined


@dataclass
class Locals:
    """Per edge of the graph (indexed as `graph.edges`): None where the consumer is not reached."""

    local: list
    kink: list[bool]
    variable: list[int]  # which of the consumer template's variables the edge's source is
    kinks: list[int]  # consumers evaluated at a kink, in reverse topological order


def switch_functions(tmpl, which: int, domain) -> list:
    """(where the partial may jump, the values of its branches there), compiled for the domain: a
    Piecewise border where both branches agree is no kink (elu' at 0 is 1 from either side)."""
    key = (domain.key, "switches", which)
    found = tmpl.compiled.get(key)
    if found is None:
        if tmpl.partials[which] is None:  # a tensor op's rule: smooth, no switches
            found = []
        else:
            arity = tmpl.arity
            found = [(domain.switch(switch, arity), tuple(domain.switch(b, arity) for b in branches))
                     for switch, branches in tmpl.switches[which]]
        tmpl.compiled[key] = found
    return found


def _continuous(domain, branches, args) -> bool:
    values = [branch(*args) for branch in branches]
    return bool(values) and all(domain.close(values[0], value) is True for value in values[1:])


def _variable_of(tmpl) -> dict[int, int]:
    """Argument position → index of the template variable it feeds (folded constants have none)."""
    found = tmpl.compiled.get("variable of")
    if found is None:
        found = tmpl.compiled["variable of"] = {p: i for i, p in enumerate(tmpl.variable_positions)}
    return found


def _limit(domain, tmpl, which: int, args, consumer: int, position: int):
    """A partial with no value at the point may still have a limit there, from the side where the
    function is defined: ∂(x^y)/∂y = x^y·log(x) → 0 as x → 0+ (as PyTorch and central differences
    say). Exact mode only; otherwise, or where SymPy finds no finite limit, it is Undefined."""
    undefined = Undefined(consumer, position, which)
    if domain.key != "tracked" or any(a.exact is None or a.exact.free_symbols for a in args):
        return undefined
    formula = tmpl.symbolic.partials[which]
    point = dict(zip(tmpl.symbolic.variables, (a.exact for a in args)))
    for variable in formula.free_symbols:
        rest = formula.xreplace({v: x for v, x in point.items() if v != variable})
        try:
            value = sp.limit(rest, variable, point[variable], "+")
        except (NotImplementedError, ValueError, TypeError, ArithmeticError):
            continue
        if value.is_real and value.is_finite:
            return domain.constant(value)
    return undefined


def local_derivatives(forward: Forward, output: int) -> Locals:
    graph, domain, values, templates = forward.graph, forward.domain, forward.column, forward.templates
    reached = graph.ancestors_of(output)
    size = len(graph.edges)
    locals = Locals([None] * size, [False] * size, [0] * size, [])
    with domain.precision():
        for node in reversed(graph.nodes[: output + 1]):
            if reached[node.index] and node.kind is NodeKind.OPERATION and node.depends_on_input:
                if node_locals(domain, graph, templates[node.index], node, values, locals):
                    locals.kinks.append(node.index)
    return locals


def node_locals(domain, graph, tmpl, node, values, locals: Locals) -> bool:
    """One node's edges: each one's local derivative, whether it sits at a kink, and which of the
    template's variables it is (written into `locals`); True when one of them is at a kink.
    (vectorised.py calls it for the few nodes its whole-column arithmetic cannot settle.)"""
    edges, index = graph.edges, node.index
    args = [values[node.args[p]] for p in tmpl.variable_positions]
    node_has_kink = False
    variable_of = _variable_of(tmpl)
    for edge in edges.into[index]:
        which = locals.variable[edge] = variable_of[edges.position[edge]]
        try:
            locals.local[edge] = domain.function(tmpl, which)(node, args)
        except BackpropError:
            deadline.check()  # the time limit is not a partial without a value
            locals.local[edge] = _limit(domain, tmpl, which, args, index, edges.position[edge])
            if is_undefined(locals.local[edge]):
                continue
        for switch, branches in switch_functions(tmpl, which, domain):
            if domain.at_kink(switch(*args)) and not _continuous(domain, branches, args):
                locals.kink[edge] = node_has_kink = True
                break
    return node_has_kink
