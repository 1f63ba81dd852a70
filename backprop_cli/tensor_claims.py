"""Tensor claims: is a claimed gradient of a matrix right, and if not, which known mistake is it?

A claim is a value (`W2=[[1.197, -1.423]]`, or an array from a file: `@grads.npz`,
`W1=@dW1.npy`) or a formula in the program's names and tensor notation
(`W2 = outer((y - t)*(1 - y^2), h)`). It is compared shape first, then entry by entry (exact, or
decimals within the tolerance); a formula also at random points of the same shapes, so that it
cannot pass by one coincidence.

A diagnosis is a *mistake made on purpose*: the reverse sweep run again with one edge's linear map
replaced by a wrong one — f′ left out or applied twice, `W.T @ δ` left out, a transpose missed, a
bias's gradient not summed over the batch (or averaged), the layer's weight used where its input
belongs — or the right answer transposed, scaled by a batch size, or another node's gradient. A
mistake is named only when its result equals the claim entry by entry, and, for a formula, at
further random points as well; a claim that differs in a way none of them describes gets none.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field

import numpy as np

from backprop_cli import deadline, settings
from backprop_cli.compare import random_rational
from backprop_cli.derivatives import Locals
from backprop_cli.errors import BackpropError
from backprop_cli.forward import evaluate_tensor_expression, fold_constants
from backprop_cli.graph import NodeKind
from backprop_cli.lazy import sp
from backprop_cli.numbers import Value
from backprop_cli.primitives import FUNCTIONS
from backprop_cli.sweeps import reverse_sweep
from backprop_cli.tensors import EntryWise, TensorValue, unbroadcast

TENSOR_POINTS = 4  # random points a formula claim is judged at, besides the program's own
DIAGNOSIS_POINTS = 3  # of those, where a formula claim's diagnosis must hold too
CLOSE = 1e-9  # exact or 50-digit values: a candidate equals the claim within this, relative
_POINT_VALUES = [(1, 2), (3, 2), (2, 3), (5, 4), (3, 5), (9, 7), (4, 9), (7, 4)]  # n/d: entries of a random point


@dataclass(frozen=True)
class TensorDiagnosis:
    """A recognised mistake, as data (render/claims_view.py words it)."""

    kind: str  # transposed | reshaped | shape_by_transpose | missing_sum | mean_not_sum | factor | sign | missing_derivative
    #            | doubled_derivative | missing_weight | untransposed | weight_for_input | wrong_input | other_node
    edge: int | None = None  # the graph's edge whose rule the mistake changes
    node: int | None = None  # another node: whose gradient the claim is (other_node), or the wrong input
    factor: int | None = None  # a batch size (factor, mean_not_sum)


@dataclass
class TensorClaimResult:
    claim: object  # claims.Claim
    node: int
    ok: bool
    correct: TensorValue
    claimed: TensorValue | None
    formula: sp.Expr | None  # the right gradient as a matrix formula in the program's names
    wrong_entries: list = field(default_factory=list)  # (entry, claimed Value, correct Value)
    method: str = "exact"  # exact | tolerance | points | symbolic | shapes (judged by its shapes alone)
    points_checked: int = 0
    counterexample: dict | None = None  # the random point where a formula claim fails
    diagnoses: list[TensorDiagnosis] = field(default_factory=list)
    tolerance: float | None = None
    # a formula whose shapes do not fit (`x @ W2` for (2,) @ (1, 2)): the shape error's message.
    # A wrong answer, not bad input: the other claims are still checked, and the right one shown.
    shapes_do_not_fit: str | None = None

    @property
    def shape_ok(self) -> bool:
        return self.claimed is not None and tuple(self.claimed.shape) == tuple(self.correct.shape)


class TensorRun:
    """What the claims of one run share: the report, the right formulas, the random points."""

    def __init__(self, report, tolerance: float | None):
        self.report = report
        self.tolerance = tolerance
        trace = report.trace
        graph = trace.graph
        self._formulas = None
        self._points: list | None = None
        self.seed = zlib.crc32((graph.source or "").encode("utf-8", "surrogatepass"))

    @property
    def formulas(self) -> dict:
        if self._formulas is None:
            from backprop_cli.engine import tensor_gradient_formulas

            self._formulas = self.report.formulas or tensor_gradient_formulas(self.report.trace) or {}
        return self._formulas

    def points(self) -> list:
        """(bindings, report) at TENSOR_POINTS random points of the program's shapes."""
        if self._points is None:
            from backprop_cli.engine import analyse
            from backprop_cli.finite_difference import CheckKind

            trace = self.report.trace
            graph = trace.graph
            rng = random.Random(self.seed)
            self._points = []
            for _ in range(TENSOR_POINTS * 3):
                if len(self._points) >= TENSOR_POINTS:
                    break
                point = {}
                for index in graph.inputs:
                    shape = trace.shape(index)
                    entries = np.empty(shape, dtype=object)
                    for entry in np.ndindex(shape):
                        entries[entry] = random_rational(rng, _POINT_VALUES) * rng.choice((1, -1))
                    point[graph.nodes[index].name] = entries if shape else entries[()]
                try:
                    self._points.append((point, analyse(graph, point, list(self.report_names()),
                                                        check=CheckKind.NONE)))
                except BackpropError:
                    deadline.check()
                    continue
        return self._points

    def report_names(self):
        graph = self.report.trace.graph
        return [graph.nodes[i].name for i in self.report.wrt if graph.nodes[i].name]


def check_tensor_claim(run: TensorRun, claim, claim_graph) -> TensorClaimResult:
    """One claim against the run's gradient (and, for a formula, at random points)."""
    report = run.report
    trace = report.trace
    node = trace.graph.names[claim.name]
    correct = trace.gradients.get(node) or trace.zero_gradient(node)
    formula = run.formulas.get(node)
    if claim.value is not None:
        claimed = as_tensor(claim.value)
    else:
        misfit = _shape_error(claim_graph, trace)
        if misfit is not None:
            return TensorClaimResult(claim, node, False, correct, None, formula, method="shapes",
                                     shapes_do_not_fit=misfit)
        claimed = evaluate_tensor_expression(claim_graph, trace.values_by_name(), claim.origin)
    tol, method = _tolerance(claim, run.tolerance, correct, claimed)
    result = TensorClaimResult(claim, node, True, correct, claimed, formula, method=method,
                               tolerance=tol if method == "tolerance" else None)
    result.wrong_entries = _differences(claimed, correct, tol)
    result.ok = result.shape_ok and not result.wrong_entries
    is_formula = claim.value is None and bool(claim_graph.inputs)
    if not result.ok:
        candidates = mistakes(trace, node, claimed, tol)
        if is_formula:  # a formula's mistake must be that mistake at other points too
            candidates = _holding(run, claim, claim_graph, node, candidates, tol)
        result.diagnoses = candidates
        return result
    if is_formula:
        result.method = "points"
        for point, at in run.points():
            truth = at.trace.gradients.get(node) or at.trace.zero_gradient(node)
            try:
                value = evaluate_tensor_expression(claim_graph, at.trace.values_by_name(), claim.origin)
            except BackpropError:
                deadline.check()
                continue
            result.points_checked += 1
            wrong = _differences(value, truth, tol)
            if tuple(value.shape) != tuple(truth.shape) or wrong:
                result.ok = False
                result.counterexample = point
                result.claimed, result.correct, result.wrong_entries = value, truth, wrong
                result.diagnoses = [d for d in mistakes(at.trace, node, value, tol)]
                break
            deadline.check()
        if result.ok and formula is not None and _proven(claim_graph, formula, trace):
            result.method = "symbolic"
    return result


def _shape_error(claim_graph, trace) -> str | None:
    """The shape error of a claimed formula over the program's shapes (None: its shapes fit)."""
    from backprop_cli.shapes import infer_shapes

    shapes = {trace.graph.nodes[i].name: trace.shape(i) for i in trace.graph.names.values()}
    try:
        infer_shapes(claim_graph, {claim_graph.nodes[i].name: shapes.get(claim_graph.nodes[i].name, ())
                                   for i in claim_graph.inputs}, scalar_output=False)
    except BackpropError as error:
        return error.message
    return None


def _proven(claim_graph, formula: sp.Expr, trace) -> bool:
    """Whether SymPy sees the claimed formula and the right one as the same expression (matrix
    operations as opaque functions, so this decides only the forms it can: outer(a*b, h) is
    outer(b*a, h); (X.T @ δ).T against δ.T @ X stays with the random points)."""
    from backprop_cli.numbers import expression_size
    from backprop_cli.shapes import infer_shapes
    from backprop_cli.tensor_formulas import named_values, tidy

    try:
        names = {trace.graph.nodes[i].name: trace.shape(i) for i in trace.graph.names.values()}
        shapes = infer_shapes(claim_graph, {n.name: names.get(n.name, ()) for n in (claim_graph.nodes[i]
                                                                                    for i in claim_graph.inputs)},
                              scalar_output=False)
        shapes.tensor_ops = True
        templates, constants = fold_constants(claim_graph, shapes)
        claimed = named_values(claim_graph, templates, constants, claim_graph.output, expand_output=True)[claim_graph.output]
        difference = tidy(claimed) - formula
        if expression_size(difference, 200) > 200:
            return False
        return sp.simplify(difference) == 0
    except (BackpropError, TypeError, ValueError, NotImplementedError, AttributeError):
        return False


def as_tensor(value) -> TensorValue:
    """A claimed array (from text or a file) as a TensorValue: exact entries, or float64's."""
    from backprop_cli.numbers import to_mpf

    array = np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value
    entries = np.empty(array.shape, dtype=object)
    for entry in np.ndindex(array.shape):
        x = array[entry]
        if isinstance(x, (float, np.floating)):
            entries[entry] = Value(None, float(x))
        else:
            x = sp.sympify(x) if isinstance(x, (int, np.integer)) else x
            entries[entry] = Value(x, to_mpf(x))
    return TensorValue(tuple(array.shape), entries)


def _tolerance(claim, tolerance: float | None, correct: TensorValue, claimed: TensorValue) -> tuple[float, str]:
    """Exact claims against exact gradients are compared exactly (to 50 digits); decimals within
    the tolerance (default 1e-6 relative)."""
    inexact = any(v.exact is None for v in claimed.entries.flat) or any(
        v.exact is None for v in correct.entries.flat)
    if claim.is_decimal or tolerance is not None:
        return (1e-6 if tolerance is None else tolerance), "tolerance"
    if inexact:
        return 1e-12, "tolerance"
    return 1e-40, "exact"


def _number(v: Value) -> float | None:
    import mpmath

    if v.approx is not None:
        return v.approx
    if v.exact is not None and not v.exact.free_symbols:
        return mpmath.mpf(sp.N(v.exact, settings.DECIMAL_DIGITS))
    return None


def _differences(claimed: TensorValue, correct: TensorValue, tol: float) -> list:
    """The entries where the claim differs (none compared when the shapes differ)."""
    import mpmath

    if tuple(claimed.shape) != tuple(correct.shape):
        return []
    wrong = []
    with mpmath.workdps(settings.DECIMAL_DIGITS):
        for entry in np.ndindex(correct.shape):
            a, b = _number(claimed.entries[entry]), _number(correct.entries[entry])
            if a is None or b is None or abs(mpmath.mpf(a) - mpmath.mpf(b)) > tol * max(1, abs(mpmath.mpf(b))):
                wrong.append((entry, claimed.entries[entry], correct.entries[entry]))
    return wrong


def _same(candidate: TensorValue | None, claimed: TensorValue, tol: float) -> bool:
    return (candidate is not None and tuple(candidate.shape) == tuple(claimed.shape)
            and not _differences(claimed, candidate, max(tol, CLOSE)))


# ---------------------------------------------------------------- mistakes made on purpose


class _Through:
    """f′ left out, or Wᵀ left out: the upstream gradient passes on unchanged."""

    rule = "mistake"

    def __init__(self, shape):
        self.shape = shape

    def pull(self, arrays, upstream):
        return unbroadcast(arrays, upstream, self.shape) if tuple(upstream.shape) != tuple(self.shape) else upstream


class _NoSum:
    """A broadcast operand's gradient left at the broadcast shape (not summed back)."""

    rule = "mistake"

    def __init__(self, local: EntryWise):
        self.local = local

    def pull(self, arrays, upstream):
        return arrays.mul(upstream, self.local.local)


class _MeanBack:
    """A broadcast operand's gradient averaged over the copies instead of summed."""

    rule = "mistake"

    def __init__(self, local: EntryWise, copies: int):
        self.local, self.copies = local, copies

    def pull(self, arrays, upstream):
        return arrays.divide_by(self.local.pull(arrays, upstream), self.copies)


class _Pull:
    """Any other wrong rule, given as a function of the upstream gradient."""

    rule = "mistake"

    def __init__(self, pull):
        self._pull = pull

    def pull(self, arrays, upstream):
        return self._pull(arrays, upstream)


def _rerun(trace, node: int, edge: int, replacement) -> TensorValue | None:
    """The gradient of `node` with one edge's rule replaced: what the mistake computes."""
    locals = trace.locals
    changed = Locals(list(locals.local), locals.kink, locals.variable, locals.kinks)
    changed.local[edge] = replacement
    try:
        with np.errstate(all="ignore"):
            gradient, _, _ = reverse_sweep(trace.forward, trace.output, changed)
    except (ValueError, IndexError, TypeError, BackpropError):
        return None  # the mistake does not even fit the shapes downstream
    value = gradient[node]
    if value is None:
        return None
    return trace.forward.domain.value(np.asarray(value) if not isinstance(value, np.ndarray) else value)


def mistakes(trace, node: int, claimed: TensorValue, tol: float) -> list[TensorDiagnosis]:
    """The known mistakes whose result equals the claim at this trace's point."""
    found: list[TensorDiagnosis] = []
    correct = trace.gradients.get(node) or trace.zero_gradient(node)
    graph = trace.graph
    # the right answer, turned
    if len(correct.shape) == 2 and tuple(claimed.shape) == tuple(reversed(correct.shape)):
        flipped = TensorValue(tuple(reversed(correct.shape)), correct.entries.T.copy())
        if _same(flipped, claimed, tol) and not _same(correct, claimed, tol):
            return [TensorDiagnosis("transposed")]
        if tuple(claimed.shape) != tuple(correct.shape):
            found.append(TensorDiagnosis("shape_by_transpose"))
    if tuple(claimed.shape) != tuple(correct.shape) and claimed.entries.size == correct.entries.size:
        reshaped = TensorValue(tuple(claimed.shape), correct.entries.reshape(claimed.shape))
        if _same(reshaped, claimed, tol):  # (1, n) for (n,): NumPy keeps them apart
            return [TensorDiagnosis("reshaped")]
    if tuple(claimed.shape) == tuple(correct.shape):
        negated = _scaled(trace, correct, sp.Integer(-1))
        if _same(negated, claimed, tol) and not _same(correct, claimed, tol):
            found.append(TensorDiagnosis("sign"))
        for size in sorted({n for i in range(len(graph.nodes)) for n in trace.shape(i) if n > 1}):
            for factor in (sp.Integer(size), sp.Rational(1, size)):
                if _same(_scaled(trace, correct, factor), claimed, tol):
                    found.append(TensorDiagnosis("factor", factor=size if factor > 1 else -size))
    # one edge's rule, wrong
    reached = graph.ancestors_of(trace.output)
    edges = graph.edges
    for edge in range(len(edges)):
        consumer = edges.consumer[edge]
        if not reached[consumer] or not graph.ancestors_of(consumer)[node] or trace.locals.local[edge] is None:
            continue
        for kind, replacement, other in _wrong_rules(trace, edge):
            deadline.check()
            candidate = _rerun(trace, node, edge, replacement)
            if _same(candidate, claimed, tol) and not _same(candidate, correct, CLOSE):
                found.append(TensorDiagnosis(kind, edge=edge, node=other))
    # another node's gradient: a named one first (δ2 = ∂J/∂z2 given for ∂J/∂h)
    ranked = sorted(trace.gradients.items(), key=lambda item: (graph.nodes[item[0]].name is None,
                                                               graph.nodes[item[0]].kind is NodeKind.INPUT, item[0]))
    for other, gradient in ranked:
        if other != node and tuple(gradient.shape) == tuple(claimed.shape) and _same(gradient, claimed, tol) \
                and not _same(gradient, correct, CLOSE) and graph.nodes[other].kind is not NodeKind.CONSTANT:
            found.append(TensorDiagnosis("other_node", node=other))
            break
    return _distinct(found)


def _distinct(found: list[TensorDiagnosis]) -> list[TensorDiagnosis]:
    seen, result = set(), []
    for d in found:
        key = (d.kind, d.edge, d.node, d.factor)
        if key not in seen:
            seen.add(key)
            result.append(d)
    # a missing sum says more than "a factor of N" or a shape a transpose would fix
    if any(d.kind in ("missing_sum", "mean_not_sum") for d in result):
        result = [d for d in result if d.kind not in ("factor", "shape_by_transpose")]
    return result


def _scaled(trace, value: TensorValue, factor: sp.Expr) -> TensorValue:
    import mpmath

    entries = np.empty(value.shape, dtype=object)
    for entry in np.ndindex(value.shape):
        v = value.entries[entry]
        scale = float(factor) if type(v.approx) is float else mpmath.mpf(int(factor.p)) / int(factor.q)
        entries[entry] = Value(None if v.exact is None else v.exact * factor,
                               None if v.approx is None else v.approx * scale)
    return TensorValue(tuple(value.shape), entries)


def _wrong_rules(trace, edge: int):
    """(kind, wrong linear map) for the mistakes that can be made on this edge."""
    graph = trace.graph
    edges = graph.edges
    consumer = graph.nodes[edges.consumer[edge]]
    source_shape = trace.shape(edges.source[edge])
    local = trace.locals.local[edge]
    rule = local.rule
    if rule == "entrywise":
        if consumer.op in FUNCTIONS and len(consumer.args) == 1:  # an activation's f′
            yield "missing_derivative", _Through(source_shape), None
            yield "doubled_derivative", EntryWise(_square(trace, local.local), local.shape), None
        if tuple(local.local.shape) != tuple(source_shape) or tuple(trace.shape(consumer.index)) != tuple(source_shape):
            copies = int(np.prod(trace.shape(consumer.index))) // max(1, int(np.prod(source_shape) or 1))
            if copies > 1:
                yield "missing_sum", _NoSum(local), None
                yield "mean_not_sum", _MeanBack(local, copies), None
                if len(local.local.shape) == 2 and len(source_shape) == 1:  # summed over the wrong axis
                    yield "wrong_axis", _Pull(lambda arrays, g, m=local.local: arrays.sum(arrays.mul(g, m), axis=1)), None
    elif rule == "matmul_right":  # ∂/∂b of a @ b is a.T @ δ
        yield "missing_weight", _Through(source_shape), None
        a = local.other
        if a.ndim == 2 and a.shape[0] == a.shape[1]:
            yield "untransposed", _Pull(lambda arrays, g, a=a: arrays.matmul(a, g)), None
    elif rule == "matmul_left":  # ∂/∂a of a @ b is δ·bᵀ
        b = local.other
        if b.ndim == 2 and b.shape[0] == b.shape[1]:
            yield "untransposed", _Pull(lambda arrays, g, b=b: arrays.matmul(g, b).reshape(local.shape)), None
        weight = trace.forward.column[consumer.args[0]]
        if len(source_shape) == 2 and weight is not None and weight.ndim == 2:
            # δ times the weight itself (f′(W1 x + b1)·W1), row by row or, as NumPy broadcasts, column by column
            for row in (True, False):
                yield "weight_for_input", _Pull(lambda arrays, g, w=weight, row=row: arrays.mul(
                    g.reshape(-1, 1) if row else g.reshape(1, -1), w) if g.ndim == 1 else arrays.mul(g, w)), None
        # another value of the input's shape where the layer's input belongs (x for h: the wrong layer)
        from backprop_cli.tensors import MatmulLeft
        input_node = consumer.args[1]
        for other in graph.names.values():
            column = trace.forward.column[other]
            if other != input_node and column is not None and tuple(trace.shape(other)) == tuple(trace.shape(input_node)):
                yield "wrong_input", MatmulLeft(column, local.shape), other


def _square(trace, local):
    return trace.forward.domain.arrays.mul(local, local)


def _holding(run: TensorRun, claim, claim_graph, node: int, candidates: list[TensorDiagnosis],
             tol: float) -> list[TensorDiagnosis]:
    """The diagnoses that hold at DIAGNOSIS_POINTS further random points as well."""
    kept = list(candidates)
    for point, at in run.points()[:DIAGNOSIS_POINTS]:
        if not kept:
            break
        try:
            value = evaluate_tensor_expression(claim_graph, at.trace.values_by_name(), claim.origin)
        except BackpropError:
            deadline.check()
            continue
        there = {(d.kind, d.edge, d.node, d.factor) for d in mistakes(at.trace, node, value, tol)}
        kept = [d for d in kept if (d.kind, d.edge, d.node, d.factor) in there]
    return kept
