"""Forward values → the reverse pass, recorded step by step.

The whole chain rule is one reversed loop over the topological order: a
node's gradient is complete once every consumer has been visited, then each
of its edges adds `upstream × local` into its argument. A node feeding
several others therefore *accumulates* one contribution per path, and the
trace keeps each contribution so renderers can show `path + path = total`.
The result is a fresh `Trace`; nothing is stored on the graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mpmath
import sympy as sp

from backprop_cli import limits
from backprop_cli.errors import BackpropError
from backprop_cli.evaluate import compile_template, template_function
from backprop_cli.forward import Forward, check_decimal, domain_error, evaluate_decimal, evaluate_float
from backprop_cli.graph import NodeKind
from backprop_cli.numbers import ONE, Value, exact_is_small, expression_size


# Not frozen: a run makes one per edge (130,000 for a 100,000-node graph), and a frozen
# dataclass sets each of its eight fields through object.__setattr__, 8x slower. Nothing
# changes a step after the reverse pass.
@dataclass(slots=True)
class EdgeStep:
    """Gradient flowing from `consumer` back into its argument `source`."""

    source: int
    consumer: int
    position: int  # which argument of the consumer
    local_formula: sp.Expr  # ∂consumer/∂argument over the template placeholders
    local: Value
    upstream: Value  # ∂out/∂consumer
    contribution: Value  # upstream × local
    kink: bool  # the local derivative was taken at a non-differentiable point


@dataclass
class Trace:
    forward: Forward
    output: int
    gradients: dict[int, Value]  # ∂out/∂node for every node the output depends on
    steps: list[EdgeStep]  # in the order the reverse pass took them
    paths_into: dict[int, list[int]]  # node → indices into `steps` that add into it
    kinks: list[int] = field(default_factory=list)  # nodes evaluated at a kink
    # name → the full formula it stands for, for symbolic gradients past the size limit
    gradient_abbreviations: dict[str, sp.Expr] = field(default_factory=dict)


def _product(a: Value, b: Value) -> Value:
    approx = a.approx * b.approx if a.approx is not None and b.approx is not None else None
    exact = None
    if a.exact is not None and b.exact is not None:
        exact = a.exact * b.exact
        if approx is not None and not exact_is_small(exact):
            exact = None
    return Value(exact, approx)


def _sum(a: Value, b: Value) -> Value:
    approx = a.approx + b.approx if a.approx is not None and b.approx is not None else None
    exact = None
    if a.exact is not None and b.exact is not None:
        exact = a.exact + b.exact
        if approx is not None and not exact_is_small(exact):
            exact = None
    return Value(exact, approx)


def _switches(formula: sp.Expr) -> list[sp.Expr]:
    """Where a local derivative jumps: arguments of Heaviside/sign, Piecewise borders."""
    points: list[sp.Expr] = []
    for atom in formula.atoms(sp.Heaviside, sp.sign, sp.Abs):
        points.append(atom.args[0])
    for piecewise in formula.atoms(sp.Piecewise):
        for _, condition in piecewise.args:
            if isinstance(condition, sp.core.relational.Relational):
                points.append(condition.lhs - condition.rhs)
    return points


def _at_kink(formula: sp.Expr, variables, exact_args, decimal_args) -> bool:
    for point in _switches(formula):
        if exact_args is not None:
            if point.xreplace(dict(zip(variables, exact_args))) == 0:
                return True
        elif decimal_args is not None:
            value = compile_template(point, tuple(variables), "mpmath")(*decimal_args)
            if abs(value) <= mpmath.mpf(10) ** (-(limits.DECIMAL_DIGITS - 5)):
                return True
    return False


def run_backward(forward: Forward, output: int | None = None) -> Trace:
    graph = forward.graph
    output = graph.output if output is None else output
    values = forward.values
    reached = graph.ancestors_of(output)
    gradients: dict[int, Value] = {output: ONE if not forward.numeric else Value(sp.Integer(1), 1.0)}
    steps: list[EdgeStep] = []
    paths_into: dict[int, list[int]] = {}
    kinks: list[int] = []
    trace = Trace(forward, output, gradients, steps, paths_into, kinks)
    if forward.numeric:
        _backward_numeric(trace, reached)
        return trace
    with mpmath.workdps(limits.DECIMAL_DIGITS):
        for node in reversed(graph.nodes[: output + 1]):
            if not reached[node.index] or node.kind is not NodeKind.OPERATION or not node.depends_on_input:
                continue
            upstream = _finish_gradient(trace, node.index)
            tmpl = forward.templates[node.index]
            args = [values[node.args[p]] for p in tmpl.variable_positions]
            exact_args = [a.exact for a in args] if all(a.exact is not None for a in args) else None
            decimal_args = [a.approx for a in args] if all(a.approx is not None for a in args) else None
            node_has_kink = False
            for variable_index, position in enumerate(tmpl.variable_positions):
                source = node.args[position]
                if not graph.nodes[source].depends_on_input:
                    continue
                formula = tmpl.partials[variable_index]
                local = _local_value(node, tmpl, variable_index, exact_args, decimal_args)
                kink = decimal_args is not None and _at_kink(formula, tmpl.variables, exact_args, decimal_args)
                node_has_kink = node_has_kink or kink
                contribution = _product(upstream, local)
                steps.append(EdgeStep(source, node.index, position, formula, local, upstream, contribution, kink))
                paths_into.setdefault(source, []).append(len(steps) - 1)
                gradients[source] = contribution if source not in gradients else _sum(gradients[source], contribution)
            if node_has_kink:
                kinks.append(node.index)
    for node in graph.nodes:  # inputs and leaves: their sums are complete now
        if node.index in gradients and (node.kind is NodeKind.INPUT):
            _finish_gradient(trace, node.index)
    return trace


def _backward_numeric(trace: Trace, reached: list[bool]) -> None:
    """The same reversed loop on floats: one compiled function per derived partial."""
    forward = trace.forward
    graph, values, gradients, steps, paths_into = forward.graph, forward.values, trace.gradients, trace.steps, trace.paths_into
    nodes = graph.nodes
    zero = Value(None, 0.0)
    for node in reversed(nodes[: trace.output + 1]):
        index = node.index
        if not reached[index] or node.kind is not NodeKind.OPERATION or not node.depends_on_input:
            continue
        upstream = gradients.get(index)
        if upstream is None:
            upstream = gradients[index] = zero
        upstream_float = upstream.approx
        tmpl = forward.templates[index]
        compiled_partials = tmpl.compiled.get("float partials")
        if compiled_partials is None:
            compiled_partials = tmpl.compiled["float partials"] = [
                (template_function(tmpl, i, "float"),
                 [compile_template(z, tmpl.variables, "float") for z in _switches(p)], p)
                for i, p in enumerate(tmpl.partials)]
        args = [values[node.args[p]].approx for p in tmpl.variable_positions]
        node_has_kink = False
        for (function, switches, formula), position in zip(compiled_partials, tmpl.variable_positions):
            source = node.args[position]
            if not nodes[source].depends_on_input:
                continue
            local_float = _local_float(node, function, args)
            kink = False
            if switches:
                kink = any(switch(*args) == 0 for switch in switches)
                node_has_kink = node_has_kink or kink
            # + 0.0 turns -0.0 (a negative upstream through a dead relu) into 0: "-0" reads as a sign.
            contribution_float = upstream_float * local_float + 0.0
            contribution = Value(None, contribution_float)
            steps.append(EdgeStep(source, index, position, formula, Value(None, local_float), upstream,
                                  contribution, kink))
            paths = paths_into.get(source)
            if paths is None:
                paths_into[source] = [len(steps) - 1]
            else:
                paths.append(len(steps) - 1)
            previous = gradients.get(source)
            gradients[source] = contribution if previous is None else Value(None, previous.approx + contribution_float)
        if node_has_kink:
            trace.kinks.append(index)


def _local_float(node, function, args) -> float:
    """A local derivative on floats: a float (sign(0) gives an int), or the error naming the node."""
    try:
        return float(evaluate_float(node, function, args))
    except BackpropError:
        raise _infinite_derivative(node) from None


def _finish_gradient(trace: Trace, index: int) -> Value:
    """The node's gradient, now complete; a big symbolic one gets a name of its own."""
    gradient = trace.gradients.get(index)
    if gradient is None:  # reached, but through constant-only paths
        gradient = Value(sp.Integer(0), mpmath.mpf(0))
    elif gradient.approx is None and gradient.exact is not None:
        limit = limits.MAX_SYMBOLIC_EXPRESSION_NODES
        if expression_size(gradient.exact, limit) > limit:
            node = trace.forward.graph.nodes[index]
            out = trace.forward.graph.nodes[trace.output]
            name = f"d{out.name or 'f'}_d{node.name or 'n' + str(index)}"
            trace.gradient_abbreviations[name] = gradient.exact
            gradient = Value(sp.Symbol(name, real=True), None)
    trace.gradients[index] = gradient
    return gradient


def _local_value(node, tmpl, variable_index, exact_args, decimal_args) -> Value:
    formula = tmpl.partials[variable_index]
    exact = None
    if exact_args is not None:
        exact = formula.xreplace(dict(zip(tmpl.variables, exact_args)))
        if exact.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise _infinite_derivative(node)
    approx = None
    if decimal_args is not None:
        try:
            approx = evaluate_decimal(node, template_function(tmpl, variable_index, "mpmath"), decimal_args)
        except BackpropError:
            raise _infinite_derivative(node) from None
        if exact is not None and not exact_is_small(exact):
            exact = None
    elif exact is not None and not exact.free_symbols:
        approx = check_decimal(node, exact.evalf(limits.DECIMAL_DIGITS))
    return Value(exact, approx)


def _infinite_derivative(node) -> BackpropError:
    error = domain_error(node, "its derivative is infinite or undefined here")
    return error
