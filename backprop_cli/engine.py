"""The core: one call from a request to a report.

text → parse → graph → forward → backward → check. The CLI builds a
`Request`, calls `run`, and hands the `Report` to a renderer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction
from typing import Callable

import mpmath

from backprop_cli import deadline, limits, settings
from backprop_cli.derivatives import is_undefined
from backprop_cli.lazy import sp
from backprop_cli.sweeps import named_trace, run_backward, tangent_sweep
from backprop_cli.trace import TangentPass, Trace
from backprop_cli.bindings import constant_value, parse_bindings, resolve
from backprop_cli.finite_difference import CheckKind, CheckStatus, GradientCheck, along_direction, run_check
from backprop_cli.errors import BackpropError
from backprop_cli.forward import run_forward
from backprop_cli.graph import Graph, NodeKind, build_graph
from backprop_cli.notation import derivative, exact_text, parts_text
from backprop_cli.numbers import Value, as_sympy, exact_is_small, to_mpf
from backprop_cli.parse import parse_program, suggest
from backprop_cli.primitives import TENSOR_OPS
from backprop_cli.shapes import Shapes, infer_shapes
from backprop_cli.source import BindingText, ProgramSource


class NumberMode(str, Enum):
    AUTO = "auto"
    EXACT = "exact"
    NUMERIC = "numeric"


@dataclass(frozen=True)
class Request:
    source: ProgramSource
    at: list[BindingText] = field(default_factory=list)
    of: str | None = None
    wrt: list[str] | None = None
    lr: str | None = None
    mode: NumberMode = NumberMode.AUTO
    check: CheckKind = CheckKind.AUTO
    forward_mode: bool = False  # explain --forward: tangents along one direction per pass
    tangent: str | None = None  # --tangent "x=1, y=-1": the direction (else one per --wrt input)
    entry: str | None = None  # explain --entry W1[0,1]: one tensor entry's scalar chain
    shape: str | None = None  # --shape "W1=2x2, x=2": shapes of unbound tensors (symbolic tensors)


@dataclass(frozen=True)
class Update:
    node: int
    old: Value
    new: Value


@dataclass(frozen=True)
class GradientEntry:
    """One row of a gradient table: a scalar input, or one entry of a tensor (`W1[0,1]`)."""

    node: int
    label: str
    value: Value
    gradient: Value
    estimate: object | None
    error: float | None
    status: CheckStatus

    @property
    def ok(self) -> bool | None:
        return {CheckStatus.OK: True, CheckStatus.MISMATCH: False}.get(self.status)


@dataclass(frozen=True)
class OmittedEntries:
    """The entries of a big tensor a table leaves out (CSV and JSON give every one)."""

    node: int
    label: str
    count: int


def _first_entries(shape: tuple[int, ...], most: int) -> list[tuple[int, ...]]:
    """The first `most` entries of a shape, row-major, without listing the others."""
    import itertools

    return list(itertools.islice(itertools.product(*(range(n) for n in shape)), most))


@dataclass
class Report:
    trace: Trace
    wrt: list[int]  # the nodes whose gradients are reported, in order
    checks: list[GradientCheck]
    method: str
    learning_rate: sp.Expr | None = None
    updates: list[Update] = field(default_factory=list)
    tangent_passes: list[TangentPass] = field(default_factory=list)  # forward mode, when asked
    entry_chain: list = field(default_factory=list)  # explain --entry: entries.EntryLink, chosen entry first
    # tensor programs: ∂out/∂node as a matrix formula in the program's names, for every node reached
    # (None past TENSOR_FORMULA_MAX_NODES nodes). In symbolic tensor mode (--shape, no values) they
    # are the answer, and the trace is the reverse pass at the first random point they were checked at.
    given_formulas: dict[int, sp.Expr] | None = None
    symbolic_tensors: bool = False
    _formulas: object = field(default=None, repr=False)  # derived on first use (a view that shows them)

    @property
    def formulas(self) -> dict[int, sp.Expr] | None:
        """The matrix formulas: given (symbolic tensors), or derived by SymPy when a view or a claim
        first asks (grad's table, CSV and JSON never do, so they never pay for it)."""
        if self.given_formulas is not None:
            return self.given_formulas
        if self._formulas is None:
            trace = self.trace
            self._formulas = (tensor_gradient_formulas(trace) if trace.tensor and
                              len(trace.graph.nodes) <= TENSOR_FORMULA_MAX_NODES else False)
        return self._formulas or None

    @property
    def passes(self) -> dict[str, int]:
        """The passes a full gradient costs: forward mode one per input (one per entry of a tensor
        input), reverse mode one."""
        trace = self.trace
        return {"forward": sum(math.prod(trace.shape(i)) for i in trace.graph.inputs), "reverse": 1}

    def entries(self, most: int | None = None) -> list:
        """Each reported gradient, a tensor's entry by entry (row-major), with its check. With `most`,
        a tensor gives its first `most` entries and those its check took one by one, then an
        `OmittedEntries` for the rest (a table of a million rows helps no one)."""
        trace = self.trace
        rows: list = []
        for check in self.checks:
            node = trace.graph.nodes[check.node]
            gradient, value = trace.gradients[check.node], trace.values[check.node]
            if not trace.tensor:
                rows.append(GradientEntry(check.node, node.label, value, gradient, check.estimate, check.error,
                                          check.status))
                continue
            indices = entry_indices(gradient.shape) if most is None else _first_entries(gradient.shape, most)
            if most is not None and check.errors is not None:  # and every entry checked on its own
                import numpy as np
                checked = np.asarray(np.frompyfunc(lambda e: e is not None, 1, 1)(check.errors), dtype=bool)
                shown = set(indices)
                indices += [e for e in map(tuple, np.argwhere(checked).tolist()) if e not in shown]
            for index in indices:
                estimate = check.estimates[index] if check.estimates is not None else None
                error = check.errors[index] if check.errors is not None else None
                status = check.status
                if check.entry_status is not None and check.entry_status[index] is not None:
                    status = check.entry_status[index]
                label = node.label + ("[" + ",".join(map(str, index)) + "]" if index else "")
                rows.append(GradientEntry(check.node, label, value.entries[index], gradient.entries[index],
                                          estimate, error, status))
            total = math.prod(gradient.shape)
            if len(indices) < total:
                rows.append(OmittedEntries(check.node, node.label, total - len(indices)))
        return rows

    @property
    def ok(self) -> bool:
        return (all(c.ok is not False for c in self.checks)
                and all(p.ok is not False and p.agrees is not False for p in self.tangent_passes))


def entry_indices(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """A shape's entries in row-major order: () for a scalar."""
    indices = [()]
    for size in shape:
        indices = [index + (k,) for index in indices for k in range(size)]
    return indices


def parse_wrt(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return names or None


Stage = Callable[[str], None]  # told the name of each stage as it starts (progress display)


def _silent(stage: str) -> None:
    pass


def load(request: Request, stage: Stage = _silent) -> tuple[Graph, dict[str, sp.Expr]]:
    """Parse the program, build its graph and resolve the bindings."""
    source = request.source
    stage("parse")
    statements = parse_program(source.text)
    stage("graph")
    graph = build_graph(statements, source.text, of=request.of)
    stage("bindings")
    return graph, resolve(graph, source.bindings, request.at)


def choose_numeric(graph: Graph, bindings: dict[str, sp.Expr], mode: NumberMode, shapes: Shapes | None = None) -> bool:
    """Numeric (floats) past EXACT_MODE_MAX_NODES nodes or edges (a sum of 5,000 terms is one node
    with 5,000 edges) — for a tensor program, entries in all its nodes, or an input that came as
    binary floats from .npy — or when asked; never with unbound inputs."""
    if mode is NumberMode.EXACT:
        return False
    # floats for every input, those the output does not use too (their statements still have values)
    unbound = [graph.nodes[i].name for i in graph.inputs if graph.nodes[i].name not in bindings]
    if unbound:
        if mode is NumberMode.NUMERIC:
            raise BackpropError(f"--numeric needs a value for every input; unbound: {', '.join(unbound[:10])}")
        return False
    if shapes is not None:
        floats = any(getattr(v, "dtype", object) != object for v in bindings.values() if hasattr(v, "dtype"))
        return mode is NumberMode.NUMERIC or floats or shapes.entries > settings.EXACT_MODE_MAX_NODES
    return mode is NumberMode.NUMERIC or graph.size[0] > settings.EXACT_MODE_MAX_NODES


def program_shapes(graph: Graph, bindings: dict, declared: dict[str, tuple] | None = None) -> Shapes | None:
    """Every node's shape, for a program with a tensor op, a tensor binding or a declared shape
    (else None: the scalar engine runs as it always has)."""
    tensor_inputs = {name: tuple(value.shape) for name, value in bindings.items() if hasattr(value, "shape")}
    for name, shape in (declared or {}).items():
        if name in bindings:  # a bound value has the shape it has
            raise BackpropError(f"--shape {name}: '{name}' is bound (its value has shape "
                                f"{tuple(getattr(bindings[name], 'shape', ()))}); --shape declares unbound inputs",
                                hint=f"drop {name} from --shape, or its value from --at")
        tensor_inputs[name] = shape
    if not tensor_inputs and not any(node.op in TENSOR_OPS for node in graph.nodes):
        return None
    try:
        shapes = infer_shapes(graph, tensor_inputs)
    except BackpropError as error:
        unbound = [n for n in graph.unbound_inputs(bindings) if n not in tensor_inputs]
        if unbound and (error.hint is None or "scalar" in error.message):
            error.hint = (f"{', '.join(unbound[:4])} {'has' if len(unbound) == 1 else 'have'} no value, so "
                          f"{'it is' if len(unbound) == 1 else 'they are'} taken for scalars; bind "
                          f"{'it' if len(unbound) == 1 else 'them'} (--at {unbound[0]}=[[1, 0], [0, 1]]) "
                          f"or declare the shape (--shape {unbound[0]}=2x2)")
        raise
    return shapes if shapes.tensor else None


def parse_shapes(text: str | None, graph: Graph) -> dict[str, tuple[int, ...]]:
    """--shape "W1=2x2, x=2, c=1" → {W1: (2, 2), x: (2,), c: (1,)}; `()` declares a scalar."""
    if not text:
        return {}
    inputs = [graph.nodes[i].name for i in graph.inputs]
    declared: dict[str, tuple[int, ...]] = {}
    for piece in text.split(","):
        name, equals, shape = (part.strip() for part in piece.partition("="))
        if not equals or not name:
            raise BackpropError(f"--shape {piece.strip()}: write name=shape, e.g. W1=2x3, x=3",
                                hint="a matrix is ROWSxCOLUMNS, a vector its length, a scalar ()")
        if name not in inputs:
            raise BackpropError(f"--shape {name}: '{name}' is not an input; the inputs are: {', '.join(inputs)}")
        if shape == "()":
            declared[name] = ()
            continue
        sizes = shape.lower().replace("×", "x").split("x")
        if not all(re.fullmatch(r"[0-9]+", size.strip()) and 0 < int(size) <= limits.MAX_DECLARED_SIZE
                   for size in sizes) or len(sizes) > 2:
            raise BackpropError(f"--shape {name}={shape}: a shape is N (a vector) or MxN (a matrix) with sizes "
                                f"from 1 to {limits.MAX_DECLARED_SIZE:,}")
        declared[name] = tuple(int(size) for size in sizes)
    entries = sum(math.prod(shape) for shape in declared.values())
    if entries > limits.MAX_ARRAY_ENTRIES:
        raise BackpropError(f"--shape declares {entries:,} entries; the limit is {limits.MAX_ARRAY_ENTRIES:,}")
    return declared


def analyse(graph: Graph, bindings: dict[str, sp.Expr], wrt: list[str] | None = None,
            check: CheckKind = CheckKind.AUTO, mode: NumberMode = NumberMode.AUTO, stage: Stage = _silent,
            declared: dict[str, tuple] | None = None) -> Report:
    """Forward, backward and the finite-difference check (CheckKind.NONE skips it)."""
    try:
        shapes = program_shapes(graph, bindings, declared)
        if shapes is not None and graph.unbound_inputs(bindings):
            return _symbolic_tensors(graph, bindings, shapes, wrt, check)
        stage("forward")
        numeric = choose_numeric(graph, bindings, mode, shapes)
        forward = run_forward(graph, bindings, numeric=numeric, shapes=shapes)
        stage("backward")
        trace = run_backward(forward)
        if graph.unbound_inputs(bindings):  # symbolic mode: the gradients in the program's own names too
            trace.named = named_trace(forward, trace.output)
        reported = _reported_nodes(trace, wrt)
        stage("check")
        checks, method = run_check(check, trace, reported)
    except BackpropError as error:
        raise error.located(graph.source, "program") if error.span is not None else error
    return Report(trace, reported, checks, method)


def _symbolic_tensors(graph: Graph, bindings: dict, shapes: Shapes, wrt, check: CheckKind) -> Report:
    """Unbound tensors of declared shapes: every gradient as a matrix formula in the program's
    names, checked at SYMBOLIC_TENSOR_POINTS random points against the reverse pass there."""
    import numpy as np

    from backprop_cli.forward import fold_constants
    from backprop_cli.tensor_formulas import formula_error, named_gradients
    from backprop_cli.finite_difference import TensorCheck

    templates, constants = fold_constants(graph, shapes)
    formulas = named_gradients(graph, templates, constants, shapes, graph.output)
    unbound = graph.unbound_inputs(bindings)
    rng = np.random.default_rng(settings.SYMBOLIC_TENSOR_SEED)
    traces = []
    for _ in range(settings.SYMBOLIC_TENSOR_POINTS):
        for positive in (False, True):  # inside every function's domain, if signs matter (log, sqrt)
            point = dict(bindings)
            for name in unbound:
                x = rng.normal(size=shapes[graph.names[name]]) * 0.5
                point[name] = np.abs(x) + 0.1 if positive else x
            try:
                traces.append(run_backward(run_forward(graph, point, numeric=True, shapes=shapes)))
                break
            except BackpropError:
                deadline.check()
                continue
    if not traces:
        raise BackpropError("no random point inside the functions' domains was found to check the formulas at",
                            hint="bind the inputs whose values matter (--at)")
    trace = traces[0]
    reported = _reported_nodes(trace, wrt)
    checks = []
    for index in reported:
        worst = 0.0
        formula = formulas.get(index, sp.Integer(0))
        for at in traces:
            error = None if formula is None else formula_error(formula, at, index)
            if error is None:  # no formula, or one our evaluator cannot read
                worst = None
                break
            worst = max(worst, error)
        status = CheckStatus.SKIPPED if check is CheckKind.NONE or worst is None else (
            CheckStatus.OK if worst <= settings.SYMBOLIC_TENSOR_TOLERANCE else CheckStatus.MISMATCH)
        checks.append(TensorCheck(index, trace.gradients.get(index), None, None,
                                  None if status is CheckStatus.SKIPPED else worst, None, status))
    method = SYMBOLIC_TENSOR_METHOD.format(n=len(traces), tol=f"{settings.SYMBOLIC_TENSOR_TOLERANCE:g}")
    return Report(trace, reported, checks, method, given_formulas=formulas, symbolic_tensors=True)


TENSOR_FORMULA_MAX_NODES = 300  # a tensor program's gradients are also written as formulas up to here


def tensor_gradient_formulas(trace: Trace) -> dict[int, sp.Expr] | None:
    """Every gradient of a tensor program as a matrix formula in its names (None if SymPy balks)."""
    from backprop_cli.forward import fold_constants
    from backprop_cli.tensor_formulas import named_gradients

    from backprop_cli.tensor_formulas import formula_error

    shapes = trace.forward.shapes
    templates, constants = fold_constants(trace.graph, shapes)
    try:
        formulas = named_gradients(trace.graph, templates, constants, shapes, trace.output)
    except (TypeError, ValueError, NotImplementedError, AttributeError):
        return None
    # shown only where it gives the reverse pass's numbers at this point (and within the language)
    for index, formula in formulas.items():
        if formula is None or _invented(formula):
            formulas[index] = None
            continue
        error = formula_error(formula, trace, index)
        if error is None or error > settings.SYMBOLIC_TENSOR_TOLERANCE:
            formulas[index] = None
    return formulas


def _invented(formula) -> bool:
    """A formula with a function the language does not have (ones, a literal's entry, array)."""
    return any(type(f).__name__ in ("ones", "entry", "array") for f in formula.atoms(sp.Function))


SYMBOLIC_TENSOR_METHOD = ("each formula evaluated at {n} random points of the declared shapes and compared entry by "
                          "entry with the reverse pass there (float64), tolerance {tol} relative to max(1, |entry|)")


def run(request: Request, stage: Stage = _silent) -> Report:
    graph, bindings = load(request, stage)
    report = analyse(graph, bindings, request.wrt, request.check, request.mode, stage,
                     parse_shapes(request.shape, graph))
    stage("output")
    if request.lr is not None:
        _gradient_step(report, request.lr)
    if request.entry is not None:
        if not report.trace.tensor:
            raise BackpropError(f"--entry {request.entry}: the program has no vectors or matrices",
                                hint="every gradient of a scalar program is one number; explain shows its chain")
        from backprop_cli.entries import entry_chain, parse_entry
        report.entry_chain = entry_chain(report.trace, *parse_entry(request.entry, report.trace))
    if request.forward_mode:
        report.tangent_passes = [_tangent_pass(report, v) for v in _directions(report, request)]
    return report


def picture_trace(request: Request, picture: bool) -> Trace:
    """The trace a picture draws (no finite-difference check): pictures are limited to
    MAX_PICTURE_NODES nodes or edges (Graphviz needs minutes for a 10,000-node layout, and no
    one can read it); DOT text is not."""
    graph, bindings = load(request)
    size, unit = graph.size
    if picture and size > limits.MAX_PICTURE_NODES:
        raise BackpropError(f"the graph has {size:,} {unit}; pictures are limited to {limits.MAX_PICTURE_NODES:,}",
                            hint="use --format dot for the whole graph, or --of NAME to draw a part of it")
    return analyse(graph, bindings, check=CheckKind.NONE).trace


MAX_FORWARD_PASSES = 12  # explain --forward --wrt W: one pass per entry of a tensor input, up to here


def _tensor_directions(report: Report, request: Request) -> list[dict]:
    """A tensor program's directions: --tangent "W=[[1, 0], [0, 0]], x=[0, 1]" (inputs left out
    have tangent 0), or one pass per entry of each --wrt input (a unit matrix at a time)."""
    import numpy as np

    from backprop_cli.bindings import read_bindings

    trace = report.trace
    graph = trace.graph
    inputs = [graph.nodes[i].name for i in graph.inputs]
    if request.tangent is not None:
        direction = {}
        for name, value, _ in read_bindings(BindingText(request.tangent, "--tangent")):
            if name not in inputs:
                raise BackpropError(f"--tangent {name}: '{name}' is not an input; the inputs are: {', '.join(inputs)}",
                                    hint="forward mode starts from the inputs")
            index = graph.names[name]
            shape = tuple(getattr(value, "shape", ()))
            if shape != trace.shape(index):
                raise BackpropError(f"--tangent {name}: the direction has shape {shape}, and {name} has shape "
                                    f"{trace.shape(index)}", hint="give a direction of the input's own shape")
            direction[index] = value
        return [direction]
    directions = []
    for index in report.wrt:
        node = graph.nodes[index]
        if node.kind is not NodeKind.INPUT:
            raise BackpropError(f"--wrt {node.name}: forward mode starts from an input, and '{node.name}' is assigned",
                                hint='name an input, or give a direction with --tangent "x=[1, 0]"')
        shape = trace.shape(index)
        for entry in entry_indices(shape):
            if len(directions) >= MAX_FORWARD_PASSES:
                raise BackpropError(f"forward mode needs one pass per entry: more than {MAX_FORWARD_PASSES} here",
                                    hint=f'--wrt one small input, or one direction: --tangent "{node.name}=[...]"')
            if not shape:
                directions.append({index: Fraction(1)})
                continue
            unit = np.full(shape, Fraction(0), dtype=object)
            unit[entry] = Fraction(1)
            directions.append({index: unit})
    return directions


def _directions(report: Report, request: Request) -> list[dict[int, sp.Expr]]:
    """--tangent "x=1, y=-1" is one direction; otherwise each reported input is one (a unit vector)."""
    if report.trace.tensor:
        return _tensor_directions(report, request)
    graph = report.trace.graph
    if request.tangent is not None:
        direction: dict[int, sp.Expr] = {}
        inputs = [graph.nodes[i].name for i in graph.inputs]
        for name, text, origin in parse_bindings(BindingText(request.tangent, "--tangent")):
            if name not in inputs:
                raise BackpropError(f"--tangent {name}: '{name}' is not an input; the inputs are: {', '.join(inputs)}",
                                    hint="forward mode starts from the inputs")
            direction[graph.names[name]] = constant_value(text, origin)
        return [direction]
    directions = []
    for index in report.wrt:
        if graph.nodes[index].kind is not NodeKind.INPUT:
            raise BackpropError(f"--wrt {graph.nodes[index].name}: forward mode starts from an input, "
                                f"and '{graph.nodes[index].name}' is assigned",
                                hint="name an input, or give a direction with --tangent \"x=1, y=-1\"")
        directions.append({index: Fraction(1)})
    return directions


def _tensor_tangent_pass(report: Report, direction: dict) -> TangentPass:
    """Forward mode over tensors: every input gets a tangent of its shape (0 unless in the direction),
    the tangent sweep pushes them through the same linear maps the reverse pass pulls back through."""
    import numpy as np

    from backprop_cli.finite_difference import tensor_along_direction
    from backprop_cli.forward import tensor_leaf
    from backprop_cli.tensors import TensorValue

    trace = report.trace
    graph = trace.graph
    forward, domain = trace.forward, trace.forward.domain
    arrays = domain.arrays
    with domain.precision():
        seeds = {}
        for index in graph.inputs:
            shape = trace.shape(index)
            component = direction.get(index)
            if component is None:
                component = np.full(shape, Fraction(0), dtype=object) if shape else Fraction(0)
            seeds[index] = tensor_leaf(domain, graph.nodes[index].name, component)
        tangents = tangent_sweep(forward, trace.output, trace.locals, seeds)
        reverse = domain.zero
        for index in direction:
            gradient = trace.gradient_column[index]
            if gradient is not None:
                reverse = domain.add(reverse, arrays.sum(arrays.mul(gradient, seeds[index])))
    result = tangents[trace.output]
    if is_undefined(result):
        raise BackpropError("forward mode along this direction needs a local derivative that has no value here",
                            hint="the reverse pass (explain without --forward) names it")
    estimate, error, status = tensor_along_direction(trace, direction, domain.value(result))
    shown = {}
    for index, component in direction.items():
        exact = np.asarray(component, dtype=object)
        entries = np.empty(exact.shape, dtype=object)
        for entry in np.ndindex(exact.shape):
            entries[entry] = Value(exact[entry], None)
        shown[index] = TensorValue(exact.shape, entries)
    return TangentPass(shown, {i: domain.value(t) for i, t in enumerate(tangents) if t is not None},
                       domain.value(result), domain.value(reverse), domain.close(result, reverse),
                       estimate, error, status)


def _tangent_pass(report: Report, direction: dict[int, sp.Expr]) -> TangentPass:
    """One forward-mode pass: the tangent sweep over the trace's local derivatives, checked
    against the reverse pass (∇f·v) and a central difference along the direction."""
    if report.trace.tensor:
        return _tensor_tangent_pass(report, direction)
    trace = report.trace
    forward, domain = trace.forward, trace.forward.domain
    with domain.precision():
        seeds = {i: (float(v) if domain.numeric else Value(as_sympy(v), to_mpf(v))) for i, v in direction.items()}
        tangents = tangent_sweep(forward, trace.output, trace.locals, seeds)
        reverse = domain.zero
        for index, component in seeds.items():
            gradient = trace.gradient_column[index]
            if gradient is not None:
                reverse = domain.add(reverse, domain.mul(gradient, component))
    result = tangents[trace.output]
    estimate, error, status = along_direction(trace, direction, domain.value(result))
    return TangentPass({i: Value(v, None) for i, v in direction.items()},
                       {i: domain.value(t) for i, t in enumerate(tangents) if t is not None},
                       domain.value(result), domain.value(reverse), domain.close(result, reverse),
                       estimate, error, status)


def _reported_nodes(trace: Trace, names: list[str] | None) -> list[int]:
    """Every input by default (0 where the output does not depend on it), or the --wrt names."""
    graph = trace.graph
    if names is None:
        indices = list(graph.inputs)
    else:
        indices = []
        for name in names:
            if name not in graph.names:
                guess = suggest(name, graph.names)
                raise BackpropError(f"--wrt {name}: the program has no name '{name}'"
                                    + (f" (did you mean '{guess}'?)" if guess else ""),
                                    hint="names: " + ", ".join(graph.names))
            index = graph.names[name]
            if not graph.nodes[index].depends_on_input:
                raise BackpropError(f"--wrt {name}: '{name}' is a constant; it has no gradient to report")
            if index not in indices:  # (--wrt w,w: w once; a repeated input would count twice in the check)
                indices.append(index)
    undefined = [i for i in indices if i in trace.undefined]
    if undefined:
        raise _undefined_gradient(trace, undefined, indices)
    reached = graph.ancestors_of(trace.output)
    for index in indices:
        if not reached[index]:
            trace.gradients.setdefault(index, trace.zero_gradient(index))
    return indices


def _undefined_gradient(trace: Trace, undefined: list[int], asked: list[int]) -> BackpropError:
    """Only the gradients that need an undefined partial fail: the error names the partial and
    where it is undefined, and how to get the others."""
    graph = trace.graph
    cause = trace.undefined[undefined[0]]
    consumer = graph.nodes[cause.consumer]
    source = graph.nodes[consumer.args[cause.position]]
    tmpl = trace.template(cause.consumer)
    local = parts_text(tmpl.plain_of(cause.which), [graph.nodes[consumer.args[p]].label for p in tmpl.variable_positions])
    names = ", ".join(derivative(graph.nodes[trace.output], graph.nodes[i]) for i in undefined)
    if trace.tensor:  # somewhere among the entries: the tensors' shapes say which
        point = "an entry of " + ", ".join(f"{graph.nodes[a].label} {trace.shape(a)}" for a in dict.fromkeys(consumer.args))
    else:
        point = ", ".join(f"{graph.nodes[a].label} = {exact_text(trace.values[a].exact)}"
                          for a in dict.fromkeys(consumer.args) if trace.values[a].exact is not None)
    others = [graph.nodes[i].name for i in asked if i not in trace.undefined and graph.nodes[i].name]
    return BackpropError(
        f"{names} is undefined here: it needs the local derivative {derivative(consumer, source)} = {local}, "
        f"which has no value at {point}",
        consumer.span, hint=(f"--wrt {','.join(others)} reports the others" if others else
                             "check the bindings (--at) against the domain of each function"))


def _gradient_step(report: Report, lr_text: str) -> None:
    """One step of gradient descent: new = old − η·∂L/∂p for each reported input."""
    eta = constant_value(lr_text, "--lr")
    if not report.trace.numeric:
        eta = as_sympy(eta)  # exact mode's arithmetic is SymPy's
    report.learning_rate = eta
    values = report.trace.forward.values
    graph = report.trace.forward.graph
    with mpmath.workdps(settings.DECIMAL_DIGITS):
        eta_decimal = to_mpf(eta)
        for index in report.wrt:
            if graph.nodes[index].kind is not NodeKind.INPUT:
                continue
            old, gradient = values[index], report.trace.gradients[index]
            name = graph.nodes[index].name
            if report.trace.tensor:  # entry by entry, each as a scalar is updated
                entries = old.entries.copy()
                for entry in entry_indices(old.shape):
                    entries[entry] = _descent(old.entries[entry], gradient.entries[entry], eta, eta_decimal, name)
                new = type(old)(old.shape, entries)
            else:
                new = _descent(old, gradient, eta, eta_decimal, name)
            report.updates.append(Update(index, old, new))


def _descent(old: Value, gradient: Value, eta: sp.Expr, eta_decimal: mpmath.mpf, name: str) -> Value:
    """new = old − η·gradient, exact while small, and its decimal."""
    exact = None
    if old.exact is not None and gradient.exact is not None:
        exact = old.exact - eta * gradient.exact
        if old.approx is not None and not exact_is_small(exact):
            exact = None
    approx = None
    if old.approx is not None and gradient.approx is not None:
        approx = mpmath.mpf(old.approx) - eta_decimal * mpmath.mpf(gradient.approx)
        _within_magnitude(name, approx)
    return Value(exact, approx)


def _within_magnitude(name: str, x: mpmath.mpf) -> None:
    """The magnitude limit holds for an updated value as for every value of a pass."""
    if x != 0 and abs(mpmath.log10(abs(x))) > limits.MAX_MAGNITUDE_DIGITS:
        raise BackpropError(f"the updated {name} is about 10^{int(mpmath.log10(abs(x))):,}; "
                            f"values are limited to 10^±{limits.MAX_MAGNITUDE_DIGITS:,}",
                            hint="choose a smaller --lr")
