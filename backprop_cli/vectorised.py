"""Numeric mode over whole columns: the graph as flat arrays, each pass one numpy operation per
group of nodes that share a level and a template.

A node's level is one more than its deepest argument's, so the nodes of one level depend only on
lower levels; nodes of one level with the same derived template (the same op, folded constants
and signs: every `w*h` of a layer, every 96-term sum) are evaluated together by the template's
value and partials compiled for numpy (numbers.compile_part — the same expression trees the
per-node float path compiles, so the same IEEE operations in the same order, and math's own
functions entry by entry where numpy's would differ in the last bit).

The per-node path (forward.forward_values, derivatives.node_locals, sweeps.reverse_sweep) stays
the reference: it runs, node by node, where this one cannot vouch for its numbers — the first
node whose value is not finite (evaluated alone, so the error names it, as the per-node pass
would), a partial with no value, a switch at zero (a possible kink, judged by the per-node
code) — and whole for graphs whose groups are too small to pay.
The reverse sweep adds each node's contributions in the per-node sweep's order (consumers from
last to first), one addition at a time, so its gradients are the per-node path's to the last bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain

import mpmath
import numpy as np

from backprop_cli.derivatives import Locals, is_undefined, node_locals, switch_functions
from backprop_cli.graph import Graph, NodeKind
from backprop_cli.templates import Template
from backprop_cli.double_double import DIGITS as DOUBLE_DOUBLE_DIGITS, DoubleDouble
from backprop_cli.numbers import (FLOAT_LIBRARY, LIBRARIES, MODULE_FUNCTIONS, Float, Library, NotCompilable, compile_part,
                                  as_fraction, compile_form, float_pow, is_wide, to_mpf)
from backprop_cli.tensors import NUMPY_LIBRARY


def _as_math_computes(function, arguments: int = 1):
    """A function entry by entry as the per-node path computes it (numpy's own exp, tanh and even
    x**2 differ from math's in the last bit for some arguments). An entry outside the function's
    domain is nan, one past float's range inf: in the branch of a Piecewise not taken (elu(800)'s
    exp) it is dropped, in a value the columns do not vouch for it and the per-node pass words it."""

    def safe(*args):
        try:
            return function(*args)
        except OverflowError:
            return math.inf
        except (ValueError, ZeroDivisionError):
            return math.nan

    entrywise = np.frompyfunc(safe, arguments, 1)
    return lambda *args: np.asarray(entrywise(*args), dtype=np.float64)


def _first_maximum(a, b):
    """Python's max(a, b): a unless b is larger (np.maximum(0.0, -0.0) may give -0.0)."""
    return np.where(b > a, b, a)


def _first_minimum(a, b):
    return np.where(b < a, b, a)


COLUMNS_LIBRARY = Library(np, {
    **NUMPY_LIBRARY.aliases, "maximum": _first_maximum, "minimum": _first_minimum,
    **{name: _as_math_computes(FLOAT_LIBRARY.function(name)) for name in MODULE_FUNCTIONS},
}, FLOAT_LIBRARY.constant, _as_math_computes(float_pow, 2), vectorised=True,
    integer_power=_as_math_computes(pow, 2))
LIBRARIES["float-columns"] = COLUMNS_LIBRARY

ARITHMETIC_ERRORS = (ValueError, ZeroDivisionError, OverflowError, TypeError)

# With fewer nodes per group on average (a long chain), the per-node path is as fast.
MIN_GROUP_SIZE = 8


@dataclass
class Group:
    """Nodes of one level sharing one template: evaluated as one numpy operation per part."""

    template: Template
    nodes: np.ndarray  # node indices, ascending
    args: np.ndarray  # (variables, nodes): each node's argument node for each template variable
    edges: np.ndarray  # (variables, nodes): the edge carrying it (-1: an argument depending on no input)


@dataclass
class FlatGraph:
    """The graph's operations as groups in level order, and its edges as arrays."""

    groups: list[Group]
    size: int  # nodes
    source: np.ndarray  # per edge
    consumer: np.ndarray  # per edge


def flatten(graph: Graph, templates: list, leaves: dict[int, object]) -> FlatGraph | None:
    """The groups of the operations not given as leaves, or None where vectorising would not pay."""
    nodes = graph.nodes
    level = [0] * len(nodes)
    keyed: dict[tuple[int, int], list[int]] = {}
    operations = 0
    level_of = level.__getitem__
    operation = NodeKind.OPERATION
    for node in nodes:
        if node.kind is not operation or node.index in leaves:
            continue
        level[node.index] = depth = max(map(level_of, node.args)) + 1
        keyed.setdefault((depth, id(templates[node.index])), []).append(node.index)
        operations += 1
    if operations < MIN_GROUP_SIZE * len(keyed):
        return None
    # every node's arguments in one array of slots; each edge is at its consumer's slot for its position
    counts = np.fromiter((len(n.args) for n in nodes), dtype=np.int64, count=len(nodes))
    offset = np.zeros(len(nodes), dtype=np.int64)
    np.cumsum(counts[:-1], out=offset[1:])
    slot_arg = np.fromiter(chain.from_iterable(n.args for n in nodes), dtype=np.int64, count=int(counts.sum()))
    edges = graph.edges
    source = np.asarray(edges.source, dtype=np.int64)
    consumer = np.asarray(edges.consumer, dtype=np.int64)
    slot_edge = np.full(len(slot_arg), -1, dtype=np.int64)
    slot_edge[offset[consumer] + np.asarray(edges.position, dtype=np.int64)] = np.arange(len(source))
    groups = []
    for (_, _), members in sorted(keyed.items(), key=lambda item: item[0][0]):
        tmpl = templates[members[0]]
        members = np.asarray(members, dtype=np.int64)
        slots = offset[members][None, :] + np.asarray(tmpl.variable_positions, dtype=np.int64)[:, None]
        groups.append(Group(tmpl, members, slot_arg[slots], slot_edge[slots]))
    return FlatGraph(groups, len(nodes), source, consumer)


def _evaluate(tmpl, which, arguments, count: int, library: str = "float-columns"):
    """A template's value or partial over a group: `arguments` holds one row per variable."""
    function = compile_part(tmpl, which, library)
    result = function(arguments) if is_wide(tmpl) else function(*[arguments[k] for k in range(len(arguments))])
    if library == "float-columns":
        result = np.asarray(result, dtype=np.float64)
        return np.full(count, result) if result.shape != (count,) else result
    result = DoubleDouble.of(result)
    if result.shape != (count,):  # a constant part
        result = DoubleDouble(np.broadcast_to(result.hi, (count,)), np.broadcast_to(result.lo, (count,)))
    return result


@dataclass
class NotFinite:
    """The columns' forward pass met a value that is not a finite number: `first` is the first
    node in the per-node pass's order whose own evaluation gave one (its arguments are finite), so
    evaluating that one node per node words the error the per-node pass would."""

    first: int
    column: list  # every node's float (nan, inf where not finite)


def forward_column(flat: FlatGraph, leaves: dict[int, float]) -> list | NotFinite | None:
    """Every node's float value (None for nodes neither leaf nor planned); NotFinite when a value is
    not a finite number; None when a group cannot be computed over columns (the per-node pass runs)."""
    values = np.zeros(flat.size)
    known = np.zeros(flat.size, dtype=bool)
    if leaves:
        indices = np.fromiter(leaves.keys(), dtype=np.int64, count=len(leaves))
        values[indices] = np.fromiter(leaves.values(), dtype=np.float64, count=len(leaves))
        known[indices] = True
    first_bad = None
    with np.errstate(all="ignore"):
        for group in flat.groups:
            try:
                result = _evaluate(group.template, "value", values[group.args], len(group.nodes))
            except ARITHMETIC_ERRORS:  # a form the columns cannot compute: the per-node pass runs
                return None
            bad = ~np.isfinite(result)
            if bad.any():  # a node past it is fed a nan, and so comes later in the per-node order
                first = int(group.nodes[bad].min())
                first_bad = first if first_bad is None else min(first_bad, first)
            values[group.nodes] = result
            known[group.nodes] = True
    if first_bad is not None:
        return NotFinite(first_bad, values.tolist())
    column = values.tolist()
    if not known.all():
        for index in np.flatnonzero(~known).tolist():
            column[index] = None
    return column


def backward(forward, output: int):
    """(Locals, gradient column, contribution per edge, the edges in the sweep's order) — as
    sweeps.run_backward computes them — or None where a partial has no value at the point (the
    per-node sweep carries it along the paths that need it)."""
    flat: FlatGraph = forward.flat
    graph = forward.graph
    reached = np.asarray(graph.ancestors_of(output), dtype=bool)
    values = np.asarray([np.nan if v is None else v for v in forward.column], dtype=np.float64)
    locals = _local_derivatives(flat, forward, values, reached)
    if locals is None:
        return None
    local = np.asarray([np.nan if x is None else x for x in locals.local], dtype=np.float64)
    gradient, contribution, order = _reverse_sweep(flat, graph, output, local, reached)
    return locals, gradient, contribution, order


def _local_derivatives(flat: FlatGraph, forward, values: np.ndarray, reached: np.ndarray) -> Locals | None:
    """Each edge's local derivative, per group; the nodes a switch puts at zero, or whose partial is
    not finite, are settled one by one by the per-node code (kinks, limits, undefined partials)."""
    size = len(flat.source)
    local = np.full(size, np.nan)
    variable = np.zeros(size, dtype=np.int64)
    recheck: set[int] = set()
    float_domain = Float()
    with np.errstate(all="ignore"):
        for group in flat.groups:
            tmpl, count = group.template, len(group.nodes)
            wanted = reached[group.nodes]
            arguments = values[group.args]
            suspect = np.zeros(count, dtype=bool)
            if tmpl.op == "sum":  # every partial a constant ±1 (a sum's terms enter with their signs)
                present = (group.edges >= 0) & wanted[None, :]
                signs = _term_signs(tmpl)
                local[group.edges[present]] = np.broadcast_to(signs, present.shape)[present]
                variable[group.edges[present]] = np.broadcast_to(
                    np.arange(len(tmpl.partials))[:, None], present.shape)[present]
                continue
            for which, carried in enumerate(group.edges):
                present = (carried >= 0) & wanted
                if not present.any():
                    continue
                try:
                    partial = _evaluate(tmpl, which, arguments, count)
                except ARITHMETIC_ERRORS:  # the per-node code settles each node (a limit, or undefined)
                    suspect |= present
                    continue
                suspect |= present & ~np.isfinite(partial)
                local[carried[present]] = partial[present]
                variable[carried[present]] = which
                for switch, _ in switch_functions(tmpl, which, _COLUMN_SWITCHES):
                    at = np.asarray(switch(*arguments))
                    suspect |= present & (np.broadcast_to(at, (count,)) == 0)
            if suspect.any():
                recheck.update(group.nodes[suspect].tolist())
    unreached = ~reached[flat.consumer]
    locals = Locals(local.tolist(), [False] * size, variable.tolist(), [])
    for edge in np.flatnonzero(unreached).tolist():  # as the per-node step: nothing past the output
        locals.local[edge], locals.variable[edge] = None, 0
    if recheck:
        column, graph = forward.column, forward.graph
        for index in sorted(recheck, reverse=True):
            node = graph.nodes[index]
            if node_locals(float_domain, graph, forward.templates[index], node, column, locals):
                locals.kinks.append(index)
        if any(is_undefined(x) for x in locals.local):
            return None
    return locals


class _ColumnSwitches:
    """What derivatives.switch_functions needs of a domain: switches compiled for the columns."""

    key = "float-columns"

    @staticmethod
    def switch(form, arity: int):
        return compile_form(form, arity, "float-columns")


_COLUMN_SWITCHES = _ColumnSwitches()


def _reverse_sweep(flat: FlatGraph, graph: Graph, output: int, local: np.ndarray, reached: np.ndarray):
    """Gradients and contributions level by level, from the output down; a node's contributions are
    added in the per-node sweep's order (its consumers from last to first, one addition at a time)."""
    size = flat.size
    source, consumer = flat.source, flat.consumer
    edge_count = len(source)
    edge_ids = np.arange(edge_count)
    # the per-node sweep's order: consumers from last to first, each one's edges in position order
    order = np.lexsort((edge_ids, -consumer))
    order = order[reached[consumer[order]]]
    # each source's contributions in that order: a run of `order` per source
    by_source = order[np.argsort(source[order], kind="stable")]
    starts = np.searchsorted(source[by_source], np.arange(size))
    counts = np.bincount(source[order], minlength=size)

    gradient = np.zeros(size)
    complete = np.zeros(size, dtype=bool)
    contribution = np.zeros(edge_count)
    gradient[output] = 1.0
    complete[output] = True
    with np.errstate(all="ignore"):
        for group in reversed(flat.groups):
            members = group.nodes[reached[group.nodes]]
            if not len(members):
                continue
            pending = members[~complete[members]]
            if len(pending):
                gradient[pending] = _ordered_sums(pending, starts, counts, by_source, contribution)
                complete[pending] = True
            edges = group.edges[(group.edges >= 0) & reached[group.nodes][None, :]]
            contribution[edges] = gradient[consumer[edges]] * local[edges] + 0.0  # as Float.pull
    inputs = np.asarray(graph.inputs, dtype=np.int64)
    fed = inputs[counts[inputs] > 0]  # an input with no contribution keeps no gradient, as per node
    gradient[fed] = _ordered_sums(fed, starts, counts, by_source, contribution)
    complete[fed] = True
    column = gradient.tolist()
    for index in np.flatnonzero(~complete).tolist():
        column[index] = None
    contributions = contribution.tolist()
    for edge in np.flatnonzero(~reached[consumer]).tolist():
        contributions[edge] = None
    return column, contributions, order.tolist()


def _ordered_sums(nodes: np.ndarray, starts, counts, by_source, contribution) -> np.ndarray:
    """Each node's contributions added one at a time in sweep order (0 for a node with none)."""
    lengths = counts[nodes]
    rank = np.argsort(-lengths, kind="stable")  # longest first: the nodes still adding are a prefix
    ordered, lengths = nodes[rank], lengths[rank]
    first = starts[ordered]
    total = np.where(lengths > 0, contribution[by_source[np.minimum(first, len(by_source) - 1)]], 0.0) \
        if len(by_source) else np.zeros(len(nodes))
    longest = int(lengths[0]) if len(lengths) else 0
    active = len(lengths)
    for k in range(1, longest):
        while active and lengths[active - 1] <= k:
            active -= 1
        total[:active] = total[:active] + contribution[by_source[first[:active] + k]]
    result = np.empty(len(nodes))
    result[rank] = total
    return result


# ---------------------------------------------------------------- the check's passes in double-double

class DoubleDoublePasses:
    """The output at perturbed inputs, the groups evaluated in double-double (double_double.py): the
    directional check's high-precision passes over whole columns."""

    def __init__(self, flat: FlatGraph, leaves: dict[int, object], inputs: list[int], output: int,
                 needed: list[bool]):
        self.output = output
        reached = np.asarray(needed, dtype=bool)
        # only what the output depends on: an unused node leaving a domain is no reason to fall back
        self.groups = []
        for group in flat.groups:
            keep = reached[group.nodes]
            if keep.any():
                self.groups.append((group.template, group.nodes[keep], group.args[:, keep]))
        fractions = {i: as_fraction(v) for i, v in leaves.items()}
        rational = [(i, f) for i, f in fractions.items() if f is not None]
        other = [(i, leaves[i]) for i, f in fractions.items() if f is None]
        self.hi, self.lo = np.zeros(flat.size), np.zeros(flat.size)
        if rational:
            indices = np.asarray([i for i, _ in rational], dtype=np.int64)
            values = DoubleDouble.rationals([f.numerator for _, f in rational], [f.denominator for _, f in rational])
            self.hi[indices], self.lo[indices] = values.hi, values.lo
        if other:
            with mpmath.workdps(DOUBLE_DOUBLE_DIGITS):
                values = DoubleDouble.from_mpf([to_mpf(v) for _, v in other])
            indices = np.asarray([i for i, _ in other], dtype=np.int64)
            self.hi[indices], self.lo[indices] = values.hi, values.lo
        self.inputs = np.asarray(inputs, dtype=np.int64)
        self.points = DoubleDouble(self.hi[self.inputs], self.lo[self.inputs])

    def output_along(self, signs: np.ndarray, step: mpmath.mpf) -> mpmath.mpf | None:
        """f(x + step·signs) to about 32 digits; None when a value is not finite (not vouched for)."""
        with mpmath.workdps(DOUBLE_DOUBLE_DIGITS):
            step = DoubleDouble.from_mpf([step])[0]
        hi, lo = self.hi.copy(), self.lo.copy()
        moved = self.points + step * DoubleDouble(signs.astype(np.float64))
        hi[self.inputs], lo[self.inputs] = moved.hi, moved.lo
        with np.errstate(all="ignore"):
            for tmpl, nodes, args in self.groups:
                arguments = DoubleDouble(hi[args], lo[args])
                try:
                    if tmpl.op == "sum":
                        result = _double_double_sum(tmpl, arguments)
                    else:
                        result = _evaluate(tmpl, "value", arguments, len(nodes), "double-double")
                except (NotCompilable, TypeError):  # a form the double-double library lacks
                    return None
                if not result.finite():
                    return None
                hi[nodes], lo[nodes] = result.hi, result.lo
        return DoubleDouble(hi[self.output], lo[self.output]).mpf()


def _double_double_sum(tmpl, arguments: DoubleDouble) -> DoubleDouble:
    """Each node's signed terms (one row per term) added pairwise, rows halving each step: a
    10,000-term sum in 14 additions of whole arrays instead of 9,999 of one entry each. (Any order
    keeps double-double's ~32 digits; the float64 passes keep the per-node order.)"""
    signs = _term_signs(tmpl)
    terms = DoubleDouble(arguments.hi * signs, arguments.lo * signs)  # ±1: exact
    while len(terms) > 1:
        if len(terms) % 2:  # an odd row out waits for the next step
            head, last = terms[:-1], terms[-1:]
            terms = head[0::2] + head[1::2]
            terms = DoubleDouble(np.concatenate([terms.hi, last.hi]), np.concatenate([terms.lo, last.lo]))
        else:
            terms = terms[0::2] + terms[1::2]
    return terms[0]


def _term_signs(tmpl) -> np.ndarray:
    """A sum's ±1 per term, as a column."""
    return np.asarray(tmpl.signs or (1,) * tmpl.arity, dtype=np.float64)[:, None]
