"""Tensors in words: values as legible nested lists, shapes, and each edge's rule in the
program's notation (`∂L/∂W2 = outer(δ, h)`, `∂L/∂h = W2.T @ δ`, `δ * (1 - h^2)`).

A view model shared by the tree, Markdown and JSON: it reads the trace (a step's linear map,
its shapes, the values) and words it; it computes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from backprop_cli.notation import grouped, node_label
from backprop_cli.render.common import exact_string, local_formula_text, value_text
from backprop_cli.render.common import number_text as scalar_number_text
from backprop_cli.shapes import broadcast_axes, shape_text

# A tensor is printed whole up to this many entries (rows up to MAX_ROW entries); larger ones
# show their shape and their first entries.
MAX_SHOWN_ENTRIES = 36
MAX_ROW = 8
DELTA = "δ"


def number_entry_text(value, exact: bool = True) -> str:
    """One entry: its exact form where short, else its decimal."""
    text = scalar_number_text(value) if exact else value_text(value)
    return text


def tensor_text(tensor, width: int | None = None) -> str:
    """[[1/2, -1/4], [-1, 1/2]], or for a big one `(128, 784) [[0.01, -0.2, …], …]`."""
    shape = tensor.shape
    if not shape:
        return number_entry_text(tensor.entries[()])
    big = len(tensor.entries.flat) > MAX_SHOWN_ENTRIES or shape[-1] > MAX_ROW

    def row(vector) -> str:
        items = [number_entry_text(v) for v in (vector[:MAX_ROW] if big else vector)]
        if big and len(vector) > MAX_ROW:
            items.append("…")
        return "[" + ", ".join(items) + "]"

    if len(shape) == 1:
        text = row(tensor.entries)
    else:
        rows = [row(r) for r in (tensor.entries[:3] if big else tensor.entries)]
        if big and shape[0] > 3:
            rows.append("…")
        text = "[" + ", ".join(rows) + "]"
    return f"{shape_text(shape)} {text}" if big else text


def json_entries(tensor, field: str):
    """Nested lists of a tensor's `exact` strings or `float` numbers (SPEC §4)."""
    import numpy as np

    if float_array(tensor) is not None:  # numeric mode: straight from the floats
        floats = tensor.array.tolist()
        if field == "float":
            return floats
        return _reprs(floats)

    def one(v):
        if field == "exact":
            return None if v.exact is None and v.approx is None else exact_string(v)
        return v.float()

    if not tensor.shape:
        return one(tensor.entries[()])
    return np.vectorize(one, otypes=[object])(tensor.entries).tolist()


def float_array(tensor):
    """A numeric tensor's entries as its float64 array, or None where they are `Value`s (exact or
    decimal entries, or floats one of which was set on its own: the output's seed is exactly 1)."""
    return tensor.array if tensor._entries is None else None


def json_lists(tensor) -> tuple[str, str] | None:
    """A numeric tensor's `exact` and `float` nested lists (json_entries) as JSON text, written
    from its float64 array: each entry's repr made once, at C speed, for both (json writes a
    float by its repr). None where that does not hold: entries that are Values, an empty tensor,
    and NaN or infinity (which json writes as NaN and Infinity, their repr as nan and inf)."""
    import numpy as np

    array = float_array(tensor)
    if array is None or array.size == 0 or not np.isfinite(array).all():
        return None
    if array.ndim == 0:
        text = float.__repr__(float(array))
        return f'"{text}"', text

    def nested(rows, depth: int) -> tuple[str, str]:
        if depth == 1:
            texts = list(map(float.__repr__, rows))
            return '["' + '", "'.join(texts) + '"]', "[" + ", ".join(texts) + "]"
        inner = [nested(row, depth - 1) for row in rows]
        return "[" + ", ".join(e for e, _ in inner) + "]", "[" + ", ".join(f for _, f in inner) + "]"

    return nested(array.tolist(), array.ndim)


def _reprs(floats):
    """The `exact` text of float entries: their repr, as for scalars in numeric mode."""
    if isinstance(floats, list):
        return [_reprs(x) for x in floats]
    return repr(floats)


@dataclass(frozen=True)
class EdgeRule:
    """How one edge carries the gradient back, in words: the rule's name (a key of the
    messages), the formula in the program's notation, the shape arithmetic and whether the
    result has the source's shape."""

    name: str  # "matmul", "entrywise", "broadcast", "transpose", "sum", "mean", "outer", "softmax", ...
    formula: str  # ∂L/∂source = <this>, over δ (the upstream) and the program's names
    shapes: str  # (2,) outer (2,) → (2, 2)
    result_shape: tuple[int, ...]
    source_shape: tuple[int, ...]
    broadcast_terms: str | None = None  # a broadcast operand: δ[0] + δ[1] + δ[2]

    @property
    def fits(self) -> bool:
        return tuple(self.result_shape) == tuple(self.source_shape)


def edge_rule(trace, step) -> EdgeRule:
    """The rule of a tensor edge (step.local is its linear map)."""
    graph = trace.graph
    consumer = graph.nodes[step.consumer]
    local = step.local
    up = trace.shape(step.consumer)
    own = trace.shape(step.source)
    args = [graph.nodes[a] for a in consumer.args]
    labels = [grouped(node_label(a, 24)) for a in args]
    kind = local.rule
    d = DELTA
    if kind == "entrywise":
        formula = local_formula_text(trace, step)
        if formula in ("1",):
            text = d
        elif formula == "-1":
            text = f"-{d}"
        else:
            text = f"{d} * {grouped(formula)}"
        grown = tuple(local.local.shape) if hasattr(local.local, "shape") else ()
        broadcast_shape = tuple(up) if len(up) >= len(grown) else grown
        if tuple(own) != tuple(broadcast_shape):
            summed = sorted(broadcast_axes(own, broadcast_shape))
            terms = None
            if len(summed) == 1 and broadcast_shape[summed[0]] <= 4:
                terms = " + ".join(f"{d}[{k}]" if summed[0] == 0 else f"{d}[:, {k}]"
                                   for k in range(broadcast_shape[summed[0]]))
            summed_text = text
            for axis in sorted(summed, reverse=True):
                summed_text = f"sum({summed_text}, {axis})"
            return EdgeRule("broadcast", summed_text if own else f"sum({text})",
                            f"{shape_text(broadcast_shape)} → {shape_text(own)}", own, own, terms)
        return EdgeRule("entrywise", text, f"{shape_text(up)} ⊙ {shape_text(broadcast_shape)}", up, own)
    if kind == "matmul_left":
        b, b_shape = labels[1], trace.shape(consumer.args[1])
        if len(own) == 2 and len(b_shape) == 1:
            formula, arithmetic = f"outer({d}, {b})", f"outer({shape_text(up)}, {shape_text(b_shape)})"
            result = (up[0], b_shape[0])
        elif len(own) == 2:
            formula, arithmetic = f"{d} @ {_transposed(b)}", f"{shape_text(up)} @ {shape_text(tuple(reversed(b_shape)))}"
            result = (up[0], b_shape[0])
        elif len(b_shape) == 2:
            formula, arithmetic = f"{b} @ {d}", f"{shape_text(b_shape)} @ {shape_text(up)}"
            result = (b_shape[0],)
        else:
            formula, arithmetic, result = f"{d} * {b}", f"() * {shape_text(b_shape)}", b_shape
        return EdgeRule("matmul", formula, f"{arithmetic} → {shape_text(result)}", result, own)
    if kind == "matmul_right":
        a, a_shape = labels[0], trace.shape(consumer.args[0])
        if len(a_shape) == 2:
            formula = f"{_transposed(a)} @ {d}"
            arithmetic = f"{shape_text(tuple(reversed(a_shape)))} @ {shape_text(up)}"
            result = (a_shape[1],) + tuple(up[1:])
        elif len(own) == 2:
            formula, arithmetic, result = f"outer({a}, {d})", f"outer({shape_text(a_shape)}, {shape_text(up)})", \
                (a_shape[0], up[0])
        else:
            formula, arithmetic, result = f"{d} * {a}", f"() * {shape_text(a_shape)}", a_shape
        return EdgeRule("matmul", formula, f"{arithmetic} → {shape_text(result)}", result, own)
    if kind == "transpose":
        return EdgeRule("transpose", f"{d}.T", f"{shape_text(up)}.T → {shape_text(tuple(reversed(up)))}",
                        tuple(reversed(up)), own)
    if kind == "reduce":
        name = "mean" if local.mean else "sum"
        formula = d if not local.mean else f"{d} / {local.count}"
        return EdgeRule(name, formula, f"{shape_text(up)} → {shape_text(own)}", own, own)
    if kind == "outer_left":
        return EdgeRule("outer", f"{d} @ {labels[1]}", f"{shape_text(up)} @ {shape_text(trace.shape(consumer.args[1]))}"
                        f" → {shape_text(own)}", own, own)
    if kind == "outer_right":
        return EdgeRule("outer", f"{d}.T @ {labels[0]}", f"{shape_text(tuple(reversed(up)))} @ "
                        f"{shape_text(trace.shape(consumer.args[0]))} → {shape_text(own)}", own, own)
    if kind == "softmax":
        s = grouped(node_label(consumer, 24))
        return EdgeRule("softmax", f"{s} * ({d} - sum({d} * {s}, -1))", f"{shape_text(up)} → {shape_text(own)}",
                        own, own)
    if kind == "log_softmax":
        return EdgeRule("log_softmax", f"{d} - softmax({labels[0]}) * sum({d}, -1)",
                        f"{shape_text(up)} → {shape_text(own)}", own, own)
    # a literal's entry
    return EdgeRule("literal", f"{d}[{step.position}]", f"{shape_text(up)} → ()", (), own)


def _transposed(label: str) -> str:
    """label.T, and W for W.T: (W.T).T is W."""
    match = re.fullmatch(r"\(?([A-Za-z_][A-Za-z0-9_]*)\.T\)?", label)
    if match and (label[0] == "(") == (label[-1] == ")"):
        return match.group(1)
    return f"{label}.T"
