"""The report as JSON (SPEC §4). Keys listed there never change; more may be added.

The report is written as text in pieces (`json_pieces`), which the output streams as they come:
a 100,000-node graph's 55 MB is never one string. The head (output, gradients, check, inputs)
and the tail (notes, forward mode, the step) are dicts and lists encoded by `json`; what is big
is already JSON text (`Raw`), written directly: the node and edge records, one per node and per
edge (at 100,000 nodes building 800,000 small dicts and walking them again with the encoder took
2.7 s, writing the records takes 1.2 s), and a numeric tensor's nested lists, from its float64
array (`tensor_text.json_lists`). Up to PRETTY_JSON_MAX_NODES nodes the whole text is read back
and indented for people to read.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from fractions import Fraction
from itertools import islice
from json.encoder import encode_basestring as _string  # a JSON string literal, non-ASCII kept
from typing import Iterable, Iterator

from backprop_cli.graph import NodeKind
from backprop_cli.limits import MAX_LABEL_CHARS
from backprop_cli.engine import Report
from backprop_cli.i18n import Messages
from backprop_cli.settings import EXACT_MODE_MAX_NODES as PRETTY_JSON_MAX_NODES
from backprop_cli.numbers import Value
from backprop_cli.render.common import EdgeFormulas, exact_string, exact_text
from backprop_cli.render.notes import notes_lines
from backprop_cli.render.tensor_text import edge_rule, json_entries, json_lists


class Raw:
    """A part of the report that is JSON text already (a tensor's nested lists, the records), as
    one text or as pieces; `json_pieces` places it as it is."""

    __slots__ = ("pieces",)

    def __init__(self, pieces: str | Iterable[str]):
        self.pieces = pieces


_encode = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(obj, ensure_ascii=False)


def _plain(obj: dict | list) -> bool:
    """Whether a dict or list holds no Raw part (json then encodes it whole)."""
    for item in (obj.values() if type(obj) is dict else obj):
        kind = type(item)
        if kind is Raw or ((kind is dict or kind is list) and not _plain(item)):
            return False
    return True


def _pieces(obj) -> Iterator[str]:
    """obj as compact JSON text in pieces, the same text json.dumps writes, Raw parts as they are."""
    kind = type(obj)
    if kind is Raw:
        if isinstance(obj.pieces, str):
            yield obj.pieces
        else:
            yield from obj.pieces
    elif (kind is dict or kind is list) and not _plain(obj):
        yield from _members(obj)
    else:
        yield _encode(obj)


def _members(obj: dict | list) -> Iterator[str]:
    """A dict or list that holds Raw parts, member by member."""
    separator = ""
    if type(obj) is dict:
        yield "{"
        for key, value in obj.items():
            yield f"{separator}{_string(key)}: "
            yield from _pieces(value)
            separator = ", "
        yield "}"
        return
    yield "["
    for item in obj:
        yield separator
        yield from _pieces(item)
        separator = ", "
    yield "]"


RECORDS_PER_PIECE = 1_000


def _array(records: Iterator[str]) -> Raw:
    """A JSON array of records written as text, in pieces of RECORDS_PER_PIECE records."""
    def pieces() -> Iterator[str]:
        yield "["
        separator = ""
        while batch := list(islice(records, RECORDS_PER_PIECE)):
            yield separator + ", ".join(batch)
            separator = ", "
        yield "]"
    return Raw(pieces())


def _number(value: Value | None) -> dict | None:
    if value is None:
        return None
    number = value.float()
    if number is not None and not math.isfinite(number):
        number = None
    # SPEC §4: a symbolic value too big to expand into the inputs has `exact` null (its formula
    # in the program's names is given beside it)
    exact = None if value.exact is None and value.approx is None else exact_string(value)
    return {"exact": exact, "float": number, "is_exact": value.exact is not None}


def _number_text(value: Value | None) -> str:
    """_number as JSON text; the numeric mode's plain floats without a dict on the way."""
    if value is not None and value.exact is None and type(value.approx) is float:
        x = value.approx
        if x - x == 0.0:  # finite
            text = repr(x)
            return f'{{"exact": "{text}", "float": {text}, "is_exact": false}}'
    number = _number(value)
    if number is None:
        return "null"
    floating = "null" if number["float"] is None else repr(number["float"])  # json writes floats by repr
    return (f'{{"exact": {_null_or_string(number["exact"])}, "float": {floating}, '
            f'"is_exact": {"true" if number["is_exact"] else "false"}}}')


def _finite(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _null_or_string(text: str | None) -> str:
    return "null" if text is None else _string(text)


def _tensor(value, record: bool = False) -> dict | None:
    """A tensor value: its shape, and `exact` and `float` as nested lists of that shape (SPEC §4).
    In node and edge records a tensor of more than RECORD_MAX_ENTRIES entries gives its shape only
    (`abbreviated`): a 100,000-weight layer's records would otherwise be 50 MB of text. So does an
    input under `inputs` (`record` there too): the caller has the weights it passed; echoing them
    doubled a matrix network's report. The gradients are always whole."""
    if value is None:
        return None
    if record and math.prod(value.shape) > RECORD_MAX_ENTRIES:
        return {"shape": list(value.shape), "exact": None, "float": None, "abbreviated": True}
    lists = json_lists(value)
    if lists is not None:  # numeric: the text straight from the float64 array
        return {"shape": list(value.shape), "exact": Raw(lists[0]), "float": Raw(lists[1])}
    return {"shape": list(value.shape), "exact": json_entries(value, "exact"), "float": json_entries(value, "float")}


RECORD_MAX_ENTRIES = 1_000


def _tensor_node_records(report: Report) -> Iterator[str]:
    trace = report.trace
    for node in trace.graph.nodes[: trace.output + 1]:
        yield "".join(_pieces({"id": node.index, "name": node.name, "label": node.text, "kind": node.kind.value,
                               "op": node.op, "args": list(node.args), "shape": list(trace.shape(node.index)),
                               "value": _tensor(trace.values[node.index], record=True),
                               "gradient": _tensor(trace.gradients.get(node.index), record=True)}))


def _tensor_edge_records(report: Report) -> Iterator[str]:
    trace = report.trace
    for step in trace.steps:
        rule = edge_rule(trace, step)
        yield "".join(_pieces({"from": step.source, "to": step.consumer, "position": step.position,
                               "rule": rule.name, "local_formula": rule.formula, "shapes": rule.shapes,
                               "upstream": _tensor(step.upstream, record=True),
                               "contribution": _tensor(step.contribution, record=True),
                               "kink": step.kink}))


def _float_texts(numbers: list) -> list[str | None]:
    """Each finite float of a column as its JSON number record (as _column_number_text writes it),
    None for any other number: 100,000 of them in one comprehension, not a call each."""
    return [f'{{"exact": "{r}", "float": {r}, "is_exact": false}}' if type(x) is float and x - x == 0.0
            and (r := repr(x)) else None for x in numbers]


class _ColumnTexts:
    """A column's numbers as JSON text by index: the finite floats written at once (_float_texts),
    any other number (None, undefined, beyond floats) as _column_number_text writes it."""

    __slots__ = ("_trace", "_numbers", "_texts")

    def __init__(self, trace, numbers: list):
        self._trace, self._numbers, self._texts = trace, numbers, _float_texts(numbers)

    def __getitem__(self, index: int) -> str:
        text = self._texts[index]
        if text is None:
            text = self._texts[index] = _column_number_text(self._trace, self._numbers[index])
        return text


class _NumericGradientTexts(_ColumnTexts):
    """A numeric scalar run's gradients as JSON text, from its gradient column (the output's seed
    and any gradient that is not a plain float as trace.gradient_of gives it)."""

    def __init__(self, trace):
        super().__init__(trace, trace.gradient_column)
        self._texts[trace.output] = _number_text(trace.gradient_of(trace.output))  # the seed: exactly 1
        for index, number in enumerate(self._numbers):
            if type(number) is not float:  # not reached (null), or undefined
                self._texts[index] = _number_text(trace.gradient_of(index))


@dataclass
class _Texts:
    """What several parts of a report write alike, made once: each node's gradient (for its node
    record, the records of the edges into it, the head's gradients) and, for a numeric scalar run,
    each input's value (the head's inputs, the inputs' node records)."""

    gradients: "_GradientTexts | _NumericGradientTexts"
    inputs: dict[int, str]


def _texts(trace) -> _Texts:
    if trace.numeric and not trace.tensor:
        return _Texts(_NumericGradientTexts(trace), _input_texts(trace))
    return _Texts(_GradientTexts(trace), {})


class _GradientTexts(dict):
    """node -> its gradient as JSON text, written once for its node record and the records of the
    edges into it (their upstream)."""

    def __init__(self, trace):
        super().__init__()
        self._trace = trace

    def __missing__(self, index: int) -> str:
        text = self[index] = _number_text(self._trace.gradient_of(index))
        return text


def _node_records(report: Report, texts: _Texts) -> Iterator[str]:
    if report.trace.tensor:
        yield from _tensor_node_records(report)
        return
    trace = report.trace
    constants, numeric = trace.forward.constants, trace.numeric
    # a numeric run's operation is a plain float of the column; inputs and constants keep exact values
    column = _ColumnTexts(trace, trace.forward.column) if numeric else None
    operation, source = NodeKind.OPERATION, trace.graph.source
    kinds = {kind: _string(kind.value) for kind in NodeKind}
    ops: dict = {None: "null"}
    for node in trace.graph.nodes[: trace.output + 1]:
        index = node.index
        if numeric and node.kind is operation and index not in constants:
            value = column[index]
        else:
            value = texts.inputs.get(index) or _number_text(trace.value_of(index))
        span = node.span
        text = source[span.start:span.end]
        # node.text collapses blanks and shortens: a short text on one line, single-spaced, is as it is
        label = _string(text if len(text) <= MAX_LABEL_CHARS and text.isprintable() and "  " not in text
                        and text[:1] != " " and text[-1:] != " " else node.text)
        op = ops.get(node.op)
        if op is None:
            op = ops[node.op] = _string(node.op)
        yield (f'{{"id": {index}, "name": {"null" if node.name is None else _string(node.name)}, '
               f'"label": {label}, "kind": {kinds[node.kind]}, "op": {op}, '
               f'"args": [{", ".join(map(str, node.args))}], "value": {value}, '
               f'"gradient": {texts.gradients[index]}}}')



def _edge_records(report: Report, texts: _Texts) -> Iterator[str]:
    if report.trace.tensor:
        yield from _tensor_edge_records(report)
        return
    trace = report.trace
    edges = trace.graph.edges
    source, consumer, position = edges.source, edges.consumer, edges.position
    local_texts, contributions = _ColumnTexts(trace, trace.locals.local), _ColumnTexts(trace, trace.contributions)
    kinks = trace.locals.kink
    formulas: dict = {}
    for edge, formula in zip(trace.order, EdgeFormulas(trace).of_edges(trace.order)):
        to = consumer[edge]  # upstream: the consumer's gradient
        quoted = formulas.get(formula)
        if quoted is None:
            quoted = formulas[formula] = _string(formula)
        yield (f'{{"from": {source[edge]}, "to": {to}, "position": {position[edge]}, '
               f'"local_formula": {quoted}, "local": {local_texts[edge]}, "upstream": {texts.gradients[to]}, '
               f'"contribution": {contributions[edge]}, "kink": {"true" if kinks[edge] else "false"}}}')


def _column_number_text(trace, number) -> str:
    """A column's number as JSON text: a numeric run's finite float directly, else as a Value."""
    if type(number) is float and number - number == 0.0:
        text = repr(number)
        return f'{{"exact": "{text}", "float": {text}, "is_exact": false}}'
    return _number_text(trace.as_value(number))


def _head(report: Report, messages: Messages, texts: _Texts) -> tuple[dict, dict]:
    """The keys before the node and edge records, and those after them."""
    trace = report.trace
    graph = trace.graph
    if trace.numeric and not trace.tensor and trace.named is None:  # 33,250 gradients: as text, not dicts
        return _numeric_head(report, messages, texts)
    gradients = {}
    for check in report.checks:
        if trace.tensor:
            gradients[graph.nodes[check.node].label] = _tensor_gradient(trace, check)
            continue
        entry = _number(trace.gradient_of(check.node))
        if trace.formula(check.node) is not None:  # SPEC §4: in the program's own names
            entry["formula"] = exact_text(trace.formula(check.node))
        entry.update({"fd": _finite(check.estimate), "error": check.error, "ok": check.ok,
                      "status": check.status.value})
        gradients[graph.nodes[check.node].label] = entry
    skipped = all(c.ok is None and c.status.value == "skipped" for c in report.checks)
    before = {
        "of": graph.nodes[trace.output].label,
        "value": _tensor(trace.values[trace.output]) if trace.tensor else _number(trace.value_of(trace.output)),
        "gradients": gradients,
        "check": {"method": report.method, "ok": None if skipped and report.checks else report.ok},
        "inputs": {graph.nodes[i].label: _tensor(trace.values[i], record=True) if trace.tensor
                   else _number(trace.value_of(i)) for i in graph.inputs},
    }
    return before, _tail(report, messages)


def _tail(report: Report, messages: Messages) -> dict:
    """The keys after the node and edge records: notes, forward-mode passes, a gradient step."""
    trace = report.trace
    graph = trace.graph
    number = _tensor if trace.tensor else _number
    after: dict = {"notes": notes_lines(report, messages)}
    if report.tangent_passes:
        after["forward"] = [_tangent_record(report, p) for p in report.tangent_passes]
        after["passes"] = report.passes
    if report.learning_rate is not None:
        after["step"] = {
            "lr": exact_string(Value(report.learning_rate, None)),
            "updates": {graph.nodes[u.node].label: {"old": number(u.old), "new": number(u.new)}
                        for u in report.updates},
        }
    return after


def _numeric_head(report: Report, messages: Messages, texts: _Texts) -> tuple[dict, dict]:
    """_head for a numeric scalar run: the gradients and inputs written as text from the columns
    (the same text json writes for the dicts _head makes; tests/test_streamed_output.py)."""
    trace = report.trace
    graph = trace.graph
    verdicts: dict = {}  # one text for the many inputs a directional check gives one verdict
    gradients = ", ".join(
        f'{_string(graph.nodes[check.node].label)}: {texts.gradients[check.node][:-1]}, {_verdict_text(check, verdicts)}'
        for check in report.checks)
    inputs = ", ".join(f"{_string(graph.nodes[i].label)}: {texts.inputs[i]}" for i in graph.inputs)
    skipped = all(c.ok is None and c.status.value == "skipped" for c in report.checks)
    before = {
        "of": graph.nodes[trace.output].label,
        "value": _number(trace.value_of(trace.output)),
        "gradients": Raw("{" + gradients + "}"),
        "check": {"method": report.method, "ok": None if skipped and report.checks else report.ok},
        "inputs": Raw("{" + inputs + "}"),
    }
    return before, _tail(report, messages)


_JSON_TRUTH = {True: "true", False: "false", None: "null"}


def _verdict_text(check, verdicts: dict) -> str:
    """A gradient's `fd`, `error`, `ok` and `status` as JSON text, written once per verdict."""
    key = (check.estimate, check.error, check.status)
    text = verdicts.get(key)
    if text is None:
        text = verdicts[key] = (f'"fd": {_json_number(_finite(check.estimate))}, "error": {_json_number(check.error)}, '
                                f'"ok": {_JSON_TRUTH[check.ok]}, "status": {_encode(check.status.value)}}}')
    return text


def _input_texts(trace) -> dict[int, str]:
    """A numeric scalar run's inputs as JSON number records: each bound exact number beside its
    float (_number_text of its Value, without one)."""
    column, bindings, nodes = trace.forward.column, trace.bindings, trace.graph.nodes
    texts = {}
    for index in trace.graph.inputs:
        bound, x = bindings.get(nodes[index].name), column[index]
        if type(bound) is Fraction and type(x) is float and x - x == 0.0:
            texts[index] = f'{{"exact": "{bound}", "float": {x!r}, "is_exact": true}}'
        else:
            texts[index] = _number_text(trace.value_of(index))
    return texts


def _json_number(x) -> str:
    """A float or None as json writes it (a finite float as its repr)."""
    if type(x) is float and x - x == 0.0:
        return repr(x)
    return _encode(x)


def _tensor_gradient(trace, check) -> dict:
    """SPEC §4: shape, nested `exact`/`float`/`fd`, the largest entry error, `ok` for every entry."""
    entry = _tensor(trace.gradients[check.node])
    fd = None
    if check.estimates is not None:
        import numpy as np
        fd = np.frompyfunc(_finite, 1, 1)(check.estimates).tolist() if entry["shape"] \
            else _finite(check.estimates[()])
    worst = None
    if check.worst is not None:
        worst = graph_label(trace, check.node) + ("[" + ",".join(map(str, check.worst)) + "]" if check.worst else "")
    entry.update({"fd": fd, "error": check.error, "ok": check.ok, "status": check.status.value, "worst": worst})
    return entry


def graph_label(trace, index: int) -> str:
    return trace.graph.nodes[index].label


def _tangent_record(report: Report, tangent_pass) -> dict:
    """SPEC §4: one forward-mode pass (`fd`, `error`, `ok` beside, as for gradients)."""
    graph = report.trace.graph
    if report.trace.tensor:  # shapes, and nested lists of exact and float entries
        return {
            "direction": {graph.nodes[i].label: json_entries(v, "exact") for i, v in tangent_pass.direction.items()},
            "tangents": [{"id": i, **_tensor(t)} for i, t in sorted(tangent_pass.tangents.items())],
            "result": _tensor(tangent_pass.result), "reverse": _tensor(tangent_pass.reverse),
            "agrees": tangent_pass.agrees,
            "fd": _finite(tangent_pass.estimate), "error": tangent_pass.error, "ok": tangent_pass.ok,
        }
    return {
        "direction": {graph.nodes[i].label: exact_string(v) for i, v in tangent_pass.direction.items()},
        "tangents": [{"id": i, "exact": exact_string(t), "float": _finite(t.float())}
                     for i, t in sorted(tangent_pass.tangents.items())],
        "result": _number(tangent_pass.result),
        "reverse": _number(tangent_pass.reverse),
        "agrees": tangent_pass.agrees,
        "fd": _finite(tangent_pass.estimate), "error": tangent_pass.error, "ok": tangent_pass.ok,
    }


def json_pieces(report: Report, messages: Messages | None = None) -> Iterator[str]:
    """The report's JSON text in pieces, for the output to stream: compact past
    PRETTY_JSON_MAX_NODES nodes, indented for reading below (then as one piece)."""
    messages = messages or Messages("en")
    if report.symbolic_tensors:  # symbolic tensors
        from backprop_cli.render.formulas import formulas_json
        yield formulas_json(report, messages)
        return
    trace = report.trace
    pretty = trace.graph.size[0] <= PRETTY_JSON_MAX_NODES and (
        not trace.tensor or trace.forward.shapes.entries <= PRETTY_JSON_MAX_NODES)
    texts = _texts(trace)
    before, after = _head(report, messages, texts)
    document = {**before, "nodes": _array(_node_records(report, texts)),
                "edges": _array(_edge_records(report, texts)), **after}
    if pretty:
        yield json.dumps(json.loads("".join(_members(document))), indent=2, ensure_ascii=False) + "\n"
        return
    yield from _members(document)
    yield "\n"


def render_json(report: Report, messages: Messages | None = None) -> str:
    """The report's JSON as one text (json_pieces joined)."""
    return "".join(json_pieces(report, messages))
