"""Forward values → each edge's local derivative at the point, and whether it sits at a kink.

One step of its own, apart from any accumulation: the reverse sweep and the tangent sweep
(sweeps.py) both read these numbers. A local derivative is a template's partial (derived by
SymPy in primitives.py) evaluated in the run's number domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from backprop_cli.errors import BackpropError
from backprop_cli.forward import Forward
from backprop_cli.graph import NodeKind
from backprop_cli.numbers import infinite_derivative


@dataclass
class Locals:
    """Per edge of the graph (indexed as `graph.edges`): None where the consumer is not reached."""

    local: list
    kink: list[bool]
    variable: list[int]  # which of the consumer template's variables the edge's source is
    kinks: list[int]  # consumers evaluated at a kink, in reverse topological order


@lru_cache(maxsize=16384)
def switches(formula: sp.Expr) -> tuple[sp.Expr, ...]:
    """Where a local derivative jumps: arguments of Heaviside/sign/Abs, Piecewise borders."""
    points: list[sp.Expr] = [atom.args[0] for atom in formula.atoms(sp.Heaviside, sp.sign, sp.Abs)]
    for piecewise in formula.atoms(sp.Piecewise):
        for _, condition in piecewise.args:
            if isinstance(condition, sp.core.relational.Relational):
                points.append(condition.lhs - condition.rhs)
    return tuple(points)


def _switch_functions(tmpl, which: int, domain) -> list:
    key = (domain.key, "switches", which)
    found = tmpl.compiled.get(key)
    if found is None:
        found = tmpl.compiled[key] = [domain.switch(z, tmpl.variables) for z in switches(tmpl.partials[which])]
    return found


def _variable_of(tmpl) -> dict[int, int]:
    """Argument position → index of the template variable it feeds (folded constants have none)."""
    found = tmpl.compiled.get("variable of")
    if found is None:
        found = tmpl.compiled["variable of"] = {p: i for i, p in enumerate(tmpl.variable_positions)}
    return found


def local_derivatives(forward: Forward, output: int) -> Locals:
    graph, domain, values, templates = forward.graph, forward.domain, forward.column, forward.templates
    edges = graph.edges
    reached = graph.ancestors_of(output)
    size = len(edges)
    local: list = [None] * size
    kink = [False] * size
    variable = [0] * size
    kinks: list[int] = []
    with domain.precision():
        for node in reversed(graph.nodes[: output + 1]):
            index = node.index
            if not reached[index] or node.kind is not NodeKind.OPERATION or not node.depends_on_input:
                continue
            tmpl = templates[index]
            args = [values[node.args[p]] for p in tmpl.variable_positions]
            node_has_kink = False
            variable_of = _variable_of(tmpl)
            for edge in edges.into[index]:
                which = variable[edge] = variable_of[edges.position[edge]]
                try:
                    local[edge] = domain.function(tmpl, which)(node, args)
                except BackpropError:
                    raise infinite_derivative(node) from None
                for switch in _switch_functions(tmpl, which, domain):
                    if domain.at_kink(switch(*args)):
                        kink[edge] = node_has_kink = True
                        break
            if node_has_kink:
                kinks.append(index)
    return Locals(local, kink, variable, kinks)
