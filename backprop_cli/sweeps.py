"""Local derivatives → gradients (reverse mode) or tangents (forward mode).

Two sweeps over the same edges and the same local derivatives, in any number domain:

- the reverse sweep walks the topological order backwards: once a node's gradient is complete
  (every consumer visited), each edge into it adds `upstream × local` to its source, so a node
  feeding several others *accumulates* one contribution per path;
- the tangent sweep walks it forwards: a node's tangent is the sum over its edges of
  `local × the source's tangent`, starting from a direction on the inputs.

Nothing is stored on the graph; each sweep returns fresh columns.
"""

from __future__ import annotations

from backprop_cli.derivatives import Locals, is_undefined, local_derivatives
from backprop_cli.forward import Forward, forward_values, plan
from backprop_cli.graph import NodeKind
from backprop_cli.lazy import sp
from backprop_cli.numbers import Named
from backprop_cli.trace import Trace


def reverse_sweep(forward: Forward, output: int, locals: Locals):
    """(gradient per node, contribution per edge, the edges in the order the sweep took them)."""
    graph, domain = forward.graph, forward.domain
    edges, nodes = graph.edges, graph.nodes
    reached = graph.ancestors_of(output)
    settle = getattr(domain, "settle", None)
    gradient: list = [None] * len(nodes)
    gradient[output] = domain.one
    contribution: list = [None] * len(edges)
    order: list[int] = []
    pull, add, zero, source_of, local = domain.pull, domain.add, domain.zero, edges.source, locals.local

    def complete(index):
        value = gradient[index]
        if value is None:  # reached, but through constant-only paths
            value = zero
        elif is_undefined(value):
            return value
        elif settle is not None:
            value = settle(value)
        gradient[index] = value
        return value

    with domain.precision():
        for node in reversed(nodes[: output + 1]):
            index = node.index
            if not reached[index] or node.kind is not NodeKind.OPERATION or not node.depends_on_input:
                continue
            upstream = complete(index)
            for edge in edges.into[index]:
                source = source_of[edge]
                if is_undefined(upstream) or is_undefined(local[edge]):  # the path needs an undefined partial
                    part = upstream if is_undefined(upstream) else local[edge]
                else:
                    part = pull(upstream, local[edge])
                contribution[edge] = part
                order.append(edge)
                previous = gradient[source]
                if previous is None or is_undefined(part):
                    gradient[source] = part
                elif not is_undefined(previous):
                    gradient[source] = add(previous, part)
        for index in graph.inputs:  # their sums are complete now
            if gradient[index] is not None:
                complete(index)
    return gradient, contribution, order


def tangent_sweep(forward: Forward, output: int, locals: Locals, direction: dict[int, object]) -> list:
    """Each node's derivative along `direction` (input node → tangent; other inputs 0)."""
    graph, domain = forward.graph, forward.domain
    edges = graph.edges
    reached = graph.ancestors_of(output)
    tangent: list = [None] * len(graph.nodes)
    with domain.precision():
        for node in graph.nodes[: output + 1]:
            index = node.index
            if not reached[index]:
                continue
            if node.kind is NodeKind.INPUT:
                tangent[index] = direction.get(index, domain.zero)
                continue
            total = domain.zero
            for edge in edges.into.get(index, ()):
                local, source_tangent = locals.local[edge], tangent[edges.source[edge]]
                if is_undefined(local) or is_undefined(source_tangent):
                    total = local if is_undefined(local) else source_tangent
                    break
                total = domain.add(total, domain.push(local, source_tangent))
            tangent[index] = total
    return tangent


def run_backward(forward: Forward, output: int | None = None) -> Trace:
    output = forward.graph.output if output is None else output
    if forward.flat is not None:  # numeric mode over whole columns (vectorised.py)
        from backprop_cli.vectorised import backward

        swept = backward(forward, output)
        if swept is not None:
            return Trace(forward, output, *swept)
    locals = local_derivatives(forward, output)
    gradient, contribution, order = reverse_sweep(forward, output, locals)
    return Trace(forward, output, locals, gradient, contribution, order)


def named_trace(forward: Forward, output: int) -> Trace:
    """The same sweeps in the program's own names (numbers.Named): the gradients of symbolic mode
    as a textbook writes them, beside the expanded forms of `forward`."""
    graph = forward.graph
    domain = Named()
    leaves = {i: sp.Symbol(graph.nodes[i].name, real=True) for i in graph.inputs}
    leaves.update({i: v.exact for i, v in forward.constants.items() if v.exact is not None})
    column = forward_values(plan(graph, forward.templates, domain, leaves, output), domain, leaves, len(graph.nodes))
    domain.own = column
    named = Forward(graph, forward.bindings, domain, column, forward.templates, forward.constants)
    locals = local_derivatives(named, output)
    gradient, contribution, order = reverse_sweep(named, output, locals)
    return Trace(named, output, locals, gradient, contribution, order)
