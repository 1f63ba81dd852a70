"""One entry of a tensor gradient as its scalar chain of products (`explain --entry W1[0,1]`).

∂L/∂W1[0,1] is a sum, over the edges out of W1 and the entries of each consumer, of
`∂L/∂consumer[c] × ∂consumer[c]/∂W1[0,1]`. Each linear map of tensors.py says which consumer
entries reach a given entry and by which scalar factor; following them up to the output gives
the chain a textbook writes entry by entry, δ1[0]·x[1], with the gradients the reverse pass
already computed. No new derivative is taken here: the factors are entries of the same arrays
the maps hold (a local derivative, the other operand of @, 1/N).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from backprop_cli.errors import BackpropError
from backprop_cli.lazy import sp
from backprop_cli.numbers import Value

Entry = tuple[int, ...]


@dataclass(frozen=True)
class Term:
    """One product of the chain: ∂L/∂consumer[entry] × factor, along one edge."""

    edge: int
    consumer: int
    entry: Entry  # of the consumer
    factor: Value
    factor_text: str  # the factor in the program's names, entry by entry: x[1], (1 - h[0]^2), 1/3


@dataclass(frozen=True)
class EntryLink:
    """∂L/∂node[entry] = Σ terms; `terms` empty at the output (where it is 1)."""

    node: int
    entry: Entry
    gradient: Value
    terms: list[Term]


def parse_entry(text: str, trace) -> tuple[int, Entry]:
    """`W1[0,1]` → (node, (0, 1)), checked against the node's shape."""
    match = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*\[\s*(-?\d+(?:\s*,\s*-?\d+)*)\s*\]\s*", text)
    if match is None:
        raise BackpropError(f"--entry {text}: write a name and an index, e.g. W1[0,1] or b1[0]")
    name = match.group(1)
    graph = trace.graph
    if name not in graph.names:
        raise BackpropError(f"--entry {text}: the program has no name '{name}'",
                            hint="names: " + ", ".join(graph.names))
    index = graph.names[name]
    shape = trace.shape(index)
    entry = tuple(int(k) for k in match.group(2).split(","))
    if len(entry) != len(shape) or any(not 0 <= k < n for k, n in zip(entry, shape)):
        raise BackpropError(f"--entry {text}: {name} has shape {tuple(shape)}, which has no entry "
                            f"[{','.join(map(str, entry))}]")
    return index, entry


def entry_label(label: str, entry: Entry) -> str:
    if not entry:
        return label
    return f"{label}[{','.join(map(str, entry))}]"


def _value(domain, x) -> Value:
    if isinstance(x, Value):
        return x
    return Value(None, x if domain.entry.key != "float" else float(x))


def terms_into(trace, index: int, entry: Entry) -> list[Term]:
    """The products that add up to ∂L/∂node[entry], one per (edge, consumer entry)."""
    graph = trace.graph
    domain = trace.forward.domain
    terms: list[Term] = []
    reached = graph.ancestors_of(trace.output)
    for edge in graph.edges.out_of.get(index, []):
        consumer = graph.edges.consumer[edge]
        if not reached[consumer]:
            continue
        local = trace.locals.local[edge]
        for c, factor, text in _factors(trace, edge, local, entry):
            terms.append(Term(edge, consumer, c, _value(domain, factor), text))
    return terms


def _label(trace, node_index: int) -> str:
    from backprop_cli.notation import grouped, node_label

    return grouped(node_label(trace.graph.nodes[node_index], 24))


def _factors(trace, edge: int, local, entry: Entry):
    """(consumer entry, factor, factor text) for one edge into the chosen entry."""
    graph = trace.graph
    consumer = graph.nodes[graph.edges.consumer[edge]]
    up_shape = trace.shape(consumer.index)
    rule = local.rule
    if rule == "entrywise":
        # the consumer entries this operand entry is copied to (all of them, where it was broadcast)
        offset = len(up_shape) - len(entry)
        for c in np.ndindex(*up_shape):
            own = tuple(0 if trace.shape(graph.edges.source[edge])[k] == 1 else c[k + offset] for k in range(len(entry)))
            if own != entry:
                continue
            factor = local.local[c] if getattr(local.local, "shape", ()) else local.local[()]
            yield c, factor, _entrywise_text(trace, edge, c)
        return
    if rule in ("matmul_left", "matmul_right"):
        yield from _matmul_factors(trace, consumer, rule, local, entry, up_shape)
        return
    if rule == "transpose":
        yield tuple(reversed(entry)), trace.forward.domain.entry.one, "1"
        return
    if rule == "reduce":
        c = () if local.axis is None else tuple(k for i, k in enumerate(entry) if i != local.axis)
        one = trace.forward.domain.entry.one
        if local.mean:
            entry_domain = trace.forward.domain.entry
            yield c, entry_domain.mul(one, entry_domain.constant(sp.Rational(1, local.count))), f"1/{local.count}"
        else:
            yield c, one, "1"
        return
    if rule in ("outer_left", "outer_right"):
        other = local.other
        label = _label(trace, consumer.args[1 if rule == "outer_left" else 0])
        for k in range(other.shape[0]):
            c = (entry[0], k) if rule == "outer_left" else (k, entry[0])
            yield c, other[k], f"{label}[{k}]"
        return
    if rule in ("softmax", "log_softmax"):
        s = local.s
        row = entry[:-1]
        j = entry[-1]
        own = _label(trace, consumer.index) if rule == "softmax" else "softmax(" + _label(trace, consumer.args[0]) + ")"
        arrays = trace.forward.domain.arrays
        for k in range(up_shape[-1]):
            c = row + (k,)
            s_j = s[row + (j,)]
            kronecker = arrays.entry.one if k == j else arrays.entry.zero
            minus_s_j = arrays.entry.mul(s_j, arrays.entry.constant(sp.Integer(-1)))
            difference = arrays.entry.add(kronecker, minus_s_j)
            if rule == "softmax":
                factor = arrays.entry.mul(s[c], difference)
                text = f"{own}{_index(c)}*({int(k == j)} - {own}{_index(row + (j,))})"
            else:
                factor = difference
                text = f"{int(k == j)} - {own}{_index(row + (j,))}"
            yield c, factor, text
        return
    if rule == "literal":
        position = local.position
        c = tuple(int(k) for k in _unravel(position, local.layout))
        yield c, trace.forward.domain.entry.one, "1"
        return
    raise AssertionError(rule)  # pragma: no cover


def _matmul_factors(trace, consumer, rule, local, entry, up_shape):
    other = local.other
    left = trace.shape(consumer.args[0])
    right = trace.shape(consumer.args[1])
    if rule == "matmul_left":  # c = a @ b, a's entry
        label = _label(trace, consumer.args[1])
        if len(left) == 2:
            i, j = entry
            if len(right) == 1:
                yield (i,), other[j], f"{label}[{j}]"
            else:
                for k in range(right[1]):
                    yield (i, k), other[j, k], f"{label}[{j},{k}]"
        else:
            (j,) = entry
            if len(right) == 1:
                yield (), other[j], f"{label}[{j}]"
            else:
                for k in range(right[1]):
                    yield (k,), other[j, k], f"{label}[{j},{k}]"
        return
    label = _label(trace, consumer.args[0])  # b's entry
    if len(right) == 1:
        (j,) = entry
        if len(left) == 2:
            for i in range(left[0]):
                yield (i,), other[i, j], f"{label}[{i},{j}]"
        else:
            yield (), other[j], f"{label}[{j}]"
    else:
        j, k = entry
        if len(left) == 2:
            for i in range(left[0]):
                yield (i, k), other[i, j], f"{label}[{i},{j}]"
        else:
            yield (k,), other[j], f"{label}[{j}]"


def _entrywise_text(trace, edge: int, c: Entry) -> str:
    from backprop_cli.render.common import local_formula_text  # the textbook form, in the graph's names

    step = trace.step(edge)
    text = local_formula_text(trace, step)
    if not c:
        return text
    graph = trace.graph
    consumer = graph.nodes[graph.edges.consumer[edge]]
    names = {graph.nodes[a].name for a in consumer.args if graph.nodes[a].name} | {consumer.name}
    for name in sorted((n for n in names if n), key=len, reverse=True):
        shape = trace.shape(graph.names[name])
        if shape:
            own = tuple(0 if n == 1 else c[len(c) - len(shape) + k] for k, n in enumerate(shape))
            text = re.sub(rf"\b{re.escape(name)}\b(?!\[)", f"{name}{_index(own)}", text)
    return text


def _index(entry: Entry) -> str:
    return "[" + ",".join(map(str, entry)) + "]" if entry else ""


def _unravel(position: int, layout) -> Entry:
    entry = []
    for n in reversed(layout):
        entry.append(position % n)
        position //= n
    return tuple(reversed(entry))


MAX_CHAIN_LINKS = 200


def entry_chain(trace, index: int, entry: Entry) -> list[EntryLink]:
    """The links from the chosen entry up to the output, each entry once, in the order a reader
    follows them (the chosen entry first)."""
    links: list[EntryLink] = []
    seen: set[tuple[int, Entry]] = set()
    queue = [(index, entry)]
    while queue and len(links) < MAX_CHAIN_LINKS:
        node, e = queue.pop(0)
        if (node, e) in seen:
            continue
        seen.add((node, e))
        gradient = trace.gradients[node].entries[e]
        terms = [] if node == trace.output else terms_into(trace, node, e)
        links.append(EntryLink(node, e, gradient, terms))
        queue.extend((t.consumer, t.entry) for t in terms)
    return links
