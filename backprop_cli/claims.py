"""Answer checking: is a claimed gradient right, and if not, what went wrong?

A claim is `name = value` (a constant expression: exact unless written with a
decimal point or exponent, then within a tolerance) or `name = formula` (in
the program's names: checked for equivalence symbolically where SymPy can
decide, and always also at several random points where the program is
defined). Diagnoses are computed from the trace — which paths, which edges,
which other gradients the claim matches — never guessed.
"""

from __future__ import annotations

import math
import random
import re
import zlib
from bisect import bisect_left, bisect_right
from heapq import heappop, heappush
from dataclasses import dataclass, field
from itertools import combinations

import mpmath

from backprop_cli import deadline, settings
from backprop_cli.bindings import expression_graph, split_top_level
from backprop_cli.forward import evaluate_expression
from backprop_cli.finite_difference import CheckKind
from backprop_cli.compare import random_rational, same_formula, same_value
from backprop_cli.engine import Report, analyse
from backprop_cli.errors import BackpropError, Span
from backprop_cli.graph import Graph, NodeKind
from backprop_cli.lazy import sp
from backprop_cli.numbers import Value
from backprop_cli.parse import suggest

DEFAULT_TOLERANCE = 1e-6
NUMERIC_TOLERANCE = 1e-12  # exact claims against a big program's floats (the numeric mode)
RANDOM_POINTS = 6
DIAGNOSIS_POINTS = 3  # further random points where a formula claim's diagnosis must hold too
MAX_POINT_TRIES = 60
MAX_BRANCH_SUBSETS = 8  # paths into a node tried in subsets for "missing branch"
MAX_DIAGNOSIS_STEPS = 500  # steps after the claimed node (the nearest first) searched for a missing or inverted factor
MAX_OTHER_NODE_CANDIDATES = 64  # nodes with about the claimed gradient looked at for "other node"
UNPROVEN_TOLERANCE = 1e-300  # equal to settings.COMPARE_MAX_DIGITS digits, not proven: reported as this


@dataclass(frozen=True)
class Claim:
    name: str
    text: str  # the right-hand side as written
    origin: str
    is_decimal: bool  # written with a decimal point or exponent: compared within a tolerance
    value: object = field(default=None, compare=False)  # an array read from a file (--expect @grads.npz)


@dataclass(frozen=True)
class Diagnosis:
    """A recognised mistake, as data; the views put it into words."""

    kind: str  # sign | missing_branch | missing_factor | inverted_factor | local_only | other_node | rounding
    used: tuple[int, ...] = ()  # consumers (nodes) whose paths the claim used
    missing: tuple[int, ...] = ()  # consumers whose paths it left out
    at: int | None = None  # the node where paths meet, or the other node whose gradient it is
    step: int | None = None  # the edge (index into the trace's steps) whose local factor is at fault
    digits: int = 0  # decimals written, for a rounded answer
    edges: tuple[int, ...] = ()  # the graph's edges it is about (the same at every point, unlike `step`)


@dataclass
class ClaimResult:
    claim: Claim
    node: int
    ok: bool
    correct: Value
    claimed: Value | None
    difference: mpmath.mpf | None = None
    method: str = "exact"  # exact | tolerance | symbolic | points
    counterexample: dict[str, sp.Expr] | None = None
    counterexample_values: tuple[Value, Value] | None = None  # (claimed, correct) there
    diagnoses: list[Diagnosis] = field(default_factory=list)
    points_checked: int = 0
    working: Report | None = None  # the trace whose steps give the right answer (for the view)
    tolerance: float | None = None  # the relative tolerance used, for decimal comparisons


@dataclass
class CheckOutcome:
    report: Report
    results: list[ClaimResult]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


_DECIMAL = re.compile(r"(^|[^A-Za-z_0-9])(\d*\.\d+|\d+\.\d*|\d+[eE][+-]?\d+)")


def parse_claims(texts: list[str]) -> list[Claim]:
    claims = []
    for text in texts:
        if text.strip().startswith("@"):  # a file of named arrays, as a hand-written backprop saves them
            claims.extend(_file_claims(text.strip()[1:]))
            continue
        for piece, offset in split_top_level(text):
            name, equals, value = piece.partition("=")
            name = name.strip()
            if equals and value.strip().startswith("@"):  # W1=@dW1.npy
                from backprop_cli.bindings import read_value_file
                path = value.strip()[1:]
                claims.append(_value_claim(name, f"@{path}", f"--expect {name}", read_value_file(path, name)))
                continue
            if not equals or not value.strip():
                raise BackpropError(f"a claim needs the form name=value, got '{piece.strip()[:60]}'",
                                    Span(offset, offset + len(piece)), source=text, origin="--expect",
                                    hint='e.g. --expect "w=-6" or --expect "w = x*(w*x + b - t)"')
            claims.append(Claim(name, value.strip(), f"--expect {name}", bool(_DECIMAL.search(value))))
    if not claims:
        raise BackpropError("nothing to check", hint='give a claim: --expect "w=-6"')
    return claims


def _file_claims(path: str) -> list[Claim]:
    """--expect @grads.npz (or .json, .toml): each array is a claim about the name it is saved under.
    Values from a file are compared within the tolerance (floats saved by numpy are not exact)."""
    from backprop_cli.bindings import read_values_file

    return [_value_claim(name, f"@{path} ({name})", f"--expect @{path} ({name})", value)
            for name, value, _ in read_values_file(path)]


def _value_claim(name: str, text: str, origin: str, value) -> Claim:
    """A claim read from a file, compared within the tolerance: an array as it is, a single number
    (`{"w": -6}`, a 0-d .npy) as the number's text, like a claim typed with --expect."""
    if getattr(value, "shape", None):
        return Claim(name, text, origin, True, value)
    if getattr(value, "shape", None) == ():
        value = value[()]
    return Claim(name, str(value), origin, True)


def _claim_graph(claim: Claim, program: Graph) -> Graph:
    def unknown(name: str) -> tuple[str, None]:
        guess = suggest(name, program.names)
        return (f"the claim uses '{name}', which the program does not have"
                + (f" (did you mean '{guess}'?)" if guess else ""), None)

    return expression_graph(claim.text, claim.origin, program.names, "a claim's value must be one expression",
                            unknown)


def check_claims(graph: Graph, bindings: dict[str, sp.Expr], claims: list[Claim],
                 tolerance: float | None = None) -> CheckOutcome:
    wrt: dict[str, None] = {}  # ordered, and a set: 1,000 claims are not 1,000² comparisons
    for claim in claims:
        if claim.name not in graph.names:
            guess = suggest(claim.name, graph.names)
            raise BackpropError(f"the claim is about '{claim.name}', which the program does not have"
                                + (f" (did you mean '{guess}'?)" if guess else ""),
                                hint="names: " + ", ".join(graph.names))
        wrt[claim.name] = None
    # The engine checks each name it is asked to report against the output's ancestors,
    # once per name; ask it about the names that need it (a constant, or a name the output
    # does not reach, whose gradient is 0), and one other, not about 1,000 claimed weights.
    reached = graph.ancestors_of(graph.output)
    special = [name for name in wrt if not reached[graph.names[name]]
               or not graph.nodes[graph.names[name]].depends_on_input]
    report = analyse(graph, bindings, special or list(wrt)[:1], check=CheckKind.NONE)
    if report.trace.tensor:
        return _check_tensor_claims(graph, report, claims, tolerance)
    run = _Run(report, _unbound_inputs(report))
    results = []
    for claim in claims:  # each within the run's time limit; none decided after it
        results.append(_check_one(run, claim, tolerance))
        deadline.check()
    return CheckOutcome(report, results)


def _check_tensor_claims(graph: Graph, report: Report, claims: list[Claim], tolerance: float | None) -> CheckOutcome:
    from backprop_cli.tensor_claims import TensorRun, check_tensor_claim

    if report.symbolic_tensors:
        raise BackpropError("claims about a tensor program need its values: bind every input (--at)",
                            hint="backprop grad --shape ... gives the gradients as formulas")
    run = TensorRun(report, tolerance)
    results = []
    for claim in claims:
        claim_graph = None if claim.value is not None else _claim_graph(claim, graph)
        results.append(check_tensor_claim(run, claim, claim_graph))
        deadline.check()
    return CheckOutcome(report, results)


class _Run:
    """What every claim of one run shares, computed once: the unbound inputs, and the
    diagnosis index (on the first wrong claim)."""

    def __init__(self, report: Report, unbound: list[str]):
        self.report = report
        self.unbound = unbound
        self._index: DiagnosisIndex | None = None

    @property
    def index(self) -> DiagnosisIndex:
        if self._index is None:
            self._index = DiagnosisIndex(self.report.trace)
        return self._index


def _unbound_inputs(report: Report) -> list[str]:
    trace = report.trace
    graph = trace.graph
    needed = graph.ancestors_of(trace.output)
    return [graph.nodes[i].name for i in graph.inputs if needed[i] and trace.values[i].approx is None]


def _check_one(run: _Run, claim: Claim, tolerance: float | None) -> ClaimResult:
    report = run.report
    trace = report.trace
    graph = trace.graph
    node = graph.names[claim.name]
    if claim.value is not None:  # an array from a file, about a scalar program
        raise BackpropError(f"{claim.origin}: the claim is an array of shape {tuple(claim.value.shape)}, and the "
                            f"gradient of {claim.name} is a scalar", hint=f'claim a number: --expect "{claim.name}=-6"')
    claim_graph = _claim_graph(claim, graph)
    unbound = run.unbound
    try:
        if not claim_graph.inputs and not unbound:
            return _check_value(run, claim, claim_graph, node, tolerance)
        # A constant claimed on a program with unbound inputs (`y = 1` for `L = x/x*y`) is a
        # formula like any other: it is judged at random points, and proven where SymPy can.
        return _check_formula(run, claim, claim_graph, node, tolerance)
    except BackpropError as error:
        shape = re.match(r"the output f has shape (\(.*\)); the output must be a scalar", error.message)
        if shape is None:
            raise
        raise BackpropError(f"the claim has shape {shape.group(1)}, and the gradient of {claim.name} is a scalar",
                            error.span, hint=f'claim a number: --expect "{claim.name}=-6"', source=error.source,
                            origin=error.origin) from None


def _close(a: mpmath.mpf, b: mpmath.mpf, tolerance: float) -> bool:
    return abs(a - b) <= mpmath.mpf(tolerance) * max(mpmath.mpf(1), abs(b))


def _check_value(run: _Run, claim: Claim, claim_graph: Graph, node: int, tolerance: float | None) -> ClaimResult:
    report = run.report
    correct = report.trace.gradients[node]
    claimed = evaluate_expression(claim_graph, {}, claim.origin)
    with mpmath.workdps(settings.DECIMAL_DIGITS):
        difference = claimed.approx - correct.approx
        tol = None
        if claim.is_decimal or tolerance is not None or correct.exact is None or claimed.exact is None:
            method = "tolerance"
            tol = DEFAULT_TOLERANCE if tolerance is None else tolerance
            if not claim.is_decimal and tolerance is None:
                tol = 1e-30  # an exact claim against a value carried as a decimal
            if type(correct.approx) is float:
                tol = max(tol, NUMERIC_TOLERANCE)  # the numeric mode's floats carry ~16 digits
            ok = _close(claimed.approx, correct.approx, tol)
        else:
            method = "exact"
            verdict = same_value(claimed.exact, correct.exact)  # numbers first; a proof only if small
            ok = verdict is not False
            if verdict is None:  # equal to hundreds of digits, but too big for SymPy to prove
                method, tol = "tolerance", UNPROVEN_TOLERANCE
        result = ClaimResult(claim, node, ok, correct, claimed, difference, method, working=report,
                             tolerance=tol if method == "tolerance" else None)
        if not ok:
            result.diagnoses = diagnose(report, node, claimed.approx, claim, tolerance, run.index)
    return result


def _random_points(unbound: list[str], seed: int):
    """Random rational points; the second flips every sign of the first, so that a claim
    right on one side of 0 only (`x` for abs(x)) is always tried on the other side too."""
    rng = random.Random(seed)
    signs: dict[str, int] = {}
    for k in range(MAX_POINT_TRIES):
        signs = {name: -signs[name] if k == 1 else rng.choice([1, -1]) for name in unbound}
        yield {name: random_rational(rng) * signs[name] for name in unbound}


def _seed(graph: Graph, name: str) -> int:
    """The random points' seed: from the program and the claimed name, never from the claim
    as typed (`x=y - t` and `x = y-t` are one claim, judged at the same points)."""
    return zlib.crc32(f"{graph.source or ''}\0{name}".encode("utf-8", "surrogatepass"))


def _check_formula(run: _Run, claim: Claim, claim_graph: Graph, node: int, tolerance: float | None) -> ClaimResult:
    report = run.report
    trace = report.trace
    graph = trace.graph
    correct = trace.gradients[node]
    claimed_formula = evaluate_expression(claim_graph, report.trace.values_by_name(), claim.origin)
    result = ClaimResult(claim, node, True, correct, claimed_formula, method="points")
    unbound = run.unbound
    base = dict(report.trace.bindings)
    tol = 1e-20 if tolerance is None else tolerance
    seed = _seed(graph, claim.name)
    points = _random_points(unbound, seed)

    def wrong_at(point) -> bool:
        """Judge the claim at one more point: True if it is wrong there (then the result says so)."""
        try:
            at_point = analyse(graph, {**base, **point}, [claim.name], check=CheckKind.NONE)
        except BackpropError:
            deadline.check()  # the time limit is not a point outside the domain
            return False  # outside the program's domain: not a point where the claim is judged
        truth = at_point.trace.gradients[node]
        result.points_checked += 1
        try:
            value = evaluate_expression(claim_graph, at_point.trace.values_by_name(), claim.origin)
            agrees = _close(value.approx, truth.approx, tol)
        except BackpropError:
            deadline.check()
            value, agrees = None, False  # the program is defined here and the claim is not
        if agrees:
            return False
        result.ok = False
        result.counterexample = {**{k: v for k, v in base.items()}, **point}
        result.counterexample_values = (value, truth)
        result.working = at_point
        if value is not None and not unbound:  # every input bound: a claim about one point's number
            result.diagnoses = diagnose(at_point, node, value.approx, claim, tolerance)
        elif value is not None:
            candidates = diagnosis_candidates(at_point, node, value.approx, claim, tolerance)
            result.diagnoses = _holding(run, claim, claim_graph, node, candidates, points, tolerance)
        return True

    for point in points:
        if result.points_checked >= RANDOM_POINTS or wrong_at(point):
            break
    if result.points_checked == 0:
        raise BackpropError(f"could not find a point where the program is defined to test the claim about "
                            f"'{claim.name}'", hint="bind some inputs with --at")
    # Only a claim that agrees everywhere it was tried is worth a proof; same_formula
    # refuses to let SymPy expand anything big (see compare.py).
    if result.ok and correct.exact is not None and claimed_formula.exact is not None:
        verdict = same_formula(correct.exact, claimed_formula.exact, seed + 1)  # points of its own
        if verdict is True:
            result.method = "symbolic"
        elif verdict is False:
            # SymPy's own points found a difference that ours missed (`x` for abs(x) at six
            # positive x): go on through the stream until one of ours shows it.
            for point in points:
                if wrong_at(point):
                    break
    return result


# ---------------------------------------------------------------- diagnosis


class DiagnosisIndex:
    """What every diagnosis on one trace looks up, built once per trace (not per claim):
    the steps out of each node, and the gradients sorted by value. A claim's diagnosis
    then costs at most MAX_DIAGNOSIS_STEPS steps, whatever the size of the program."""

    def __init__(self, trace):
        self.out_steps: dict[int, list[int]] = {}
        # Each step's upstream gradient and local derivative as floats, for a quick first
        # search (None where a value is missing or does not fit a float).
        self.factors: list[tuple[float, float] | None] = []
        for index, step in enumerate(trace.steps):
            self.out_steps.setdefault(step.source, []).append(index)
            self.factors.append(_float_pair(step.upstream.approx, step.local.approx))
        ranked = [(gradient.approx, position, other)
                  for position, (other, gradient) in enumerate(trace.gradients.items())
                  if gradient.approx is not None]
        ranked.sort(key=lambda r: (r[0], r[1]))
        self.gradient_values = [r[0] for r in ranked]
        self.gradient_nodes = [(r[1], r[2]) for r in ranked]  # (position in the trace, node)

    def nodes_near(self, value, tol: float):
        """Nodes whose gradient may be within `tol` of value (relative to max(1, |gradient|))."""
        if tol >= 0.5:
            return self.gradient_nodes  # a window this wide is the whole list
        slack = tol * max(1, abs(value)) / (1 - tol) * 1.01
        lo = bisect_left(self.gradient_values, value - slack)
        hi = bisect_right(self.gradient_values, value + slack)
        return self.gradient_nodes[lo:min(hi, lo + MAX_OTHER_NODE_CANDIDATES)]


def _float_pair(a, b) -> tuple[float, float] | None:
    if a is None or b is None:
        return None
    pair = (float(a), float(b))
    return pair if all(map(math.isfinite, pair)) and all(x == 0 or abs(x) > 1e-140 for x in pair) else None


def diagnose(report: Report, node: int, claimed: mpmath.mpf, claim: Claim,
             tolerance: float | None, index: DiagnosisIndex | None = None) -> list[Diagnosis]:
    """Which recognisable mistake gives the claimed number? At most three, one of each kind."""
    return _first_of_each_kind(diagnosis_candidates(report, node, claimed, claim, tolerance, index))[:3]


def _first_of_each_kind(found: list[Diagnosis]) -> list[Diagnosis]:
    unique: list[Diagnosis] = []
    for diagnosis in found:  # the first of each kind, most specific kinds first
        if all(d.kind != diagnosis.kind for d in unique):
            unique.append(diagnosis)
    return unique


def diagnosis_candidates(report: Report, node: int, claimed: mpmath.mpf, claim: Claim,
                         tolerance: float | None, index: DiagnosisIndex | None = None) -> list[Diagnosis]:
    """Every recognisable mistake that gives the claimed number at this trace's point, the
    most specific kinds first (all of them: a formula claim keeps those that hold elsewhere)."""
    trace = report.trace
    steps = trace.steps
    correct = trace.gradients[node].approx
    if correct is None:
        return []
    index = index or DiagnosisIndex(trace)
    tol = (DEFAULT_TOLERANCE if tolerance is None else tolerance) if claim.is_decimal else 1e-20
    tol = max(tol, NUMERIC_TOLERANCE if type(correct) is float else 1e-20)

    def matches(candidate) -> bool:
        return candidate is not None and not _close(candidate, correct, tol) and _close(claimed, candidate, tol)

    with mpmath.workdps(settings.DECIMAL_DIGITS):
        found: list[Diagnosis] = []
        if matches(-correct):
            found.append(Diagnosis("sign"))
        # A path left out where branches meet: at the node itself any subset of
        # its paths; further up, one path at a time (through the tangent).
        paths = trace.paths_into.get(node, [])
        if 2 <= len(paths) <= MAX_BRANCH_SUBSETS:
            for size in range(1, len(paths)):
                for subset in combinations(paths, size):
                    if matches(sum((steps[i].contribution.approx for i in subset), mpmath.mpf(0))):
                        used = tuple(steps[i].consumer for i in subset)
                        missing = tuple(steps[i].consumer for i in paths if i not in subset)
                        found.append(Diagnosis("missing_branch", used=used, missing=missing, at=node,
                                               edges=tuple(steps[i].edge for i in subset)))
        along: list[tuple[int, int, Diagnosis]] = []  # (step, order within the step, diagnosis)
        searched = () if _no_factor_mistake(index, trace, node, float(claimed), float(correct), tol) else (
            _paths_through(trace, index, node))
        for step_index, through in searched:
            step = steps[step_index]
            shared = len(trace.paths_into.get(step.source, [])) > 1
            if shared and step.source != node and matches(correct - through):
                others = tuple(steps[i].consumer for i in trace.paths_into[step.source] if i != step_index)
                along.append((step_index, 0, Diagnosis("missing_branch", used=others, missing=(step.consumer,),
                                                       at=step.source, edges=(step.edge,))))
            local = step.local.approx
            if local not in (0, 1, -1):
                if matches(correct - through + through / local):
                    along.append((step_index, 1, Diagnosis("missing_factor", step=step_index, edges=(step.edge,))))
                elif matches(correct - through + through / local**2):
                    along.append((step_index, 1, Diagnosis("inverted_factor", step=step_index,
                                                           edges=(step.edge,))))
        found.extend(d for _, _, d in sorted(along, key=lambda a: (a[0], a[1])))  # in the reverse pass's order
        for step_index in paths:
            step = steps[step_index]
            if step.upstream.approx != 1 and matches(step.local.approx):
                found.append(Diagnosis("local_only", step=step_index, edges=(step.edge,)))
        others = []
        judged = None  # nodes with equal gradients come together, the first in the trace's order first
        for position, other in index.nodes_near(claimed, tol):
            value = trace.gradients[other].approx
            if other == node or (judged is not None and value == judged[0]):
                continue
            judged = (value, matches(value))
            if judged[1]:
                others.append((position, other))
        found.extend(Diagnosis("other_node", at=other) for _, other in sorted(others))
        if claim.is_decimal and tolerance is None:
            digits = _written_decimals(claim.text)
            if digits and abs(claimed - correct) <= mpmath.mpf(10) ** -digits / 2 * 1.0000001:
                found.append(Diagnosis("rounding", digits=digits))
    return found


def _holding(run: _Run, claim: Claim, claim_graph: Graph, node: int, candidates: list[Diagnosis],
             points, tolerance: float | None) -> list[Diagnosis]:
    """The diagnoses of a wrong formula claim that hold as formulas: each, found at the
    counterexample, must give the claim's value at DIAGNOSIS_POINTS further random points
    where the program is defined too, and at every point tried (a diagnosis that fits one
    point only is a coincidence of its numbers: `w` happening to be 1/2 there)."""
    graph = run.report.trace.graph
    base = dict(run.report.trace.bindings)
    tol = (DEFAULT_TOLERANCE if tolerance is None else tolerance) if claim.is_decimal else 1e-20
    alive = [d for d in candidates if d.kind != "rounding"]  # rounding is about one written number
    agreed = 0
    for point in points:  # the claim's own stream of points, past the counterexample
        if agreed >= DIAGNOSIS_POINTS or not alive:
            break
        try:
            trace = analyse(graph, {**base, **point}, [claim.name], check=CheckKind.NONE).trace
        except BackpropError:
            deadline.check()
            continue  # outside the program's domain
        try:
            claimed = evaluate_expression(claim_graph, trace.values_by_name(), claim.origin).approx
        except BackpropError:
            deadline.check()
            return []  # the program is defined here and the claim is not: no correction makes it right
        agreed += 1
        with mpmath.workdps(settings.DECIMAL_DIGITS):
            through = _through_edges(trace, node, alive)
            kept = []
            for diagnosis in alive:
                predicted = _predicted(trace, node, diagnosis, through)
                if predicted is not None and claimed is not None and _close(claimed, predicted, tol):
                    kept.append(diagnosis)
            alive = kept
    return _first_of_each_kind(alive)[:3] if agreed >= DIAGNOSIS_POINTS else []


def _through_edges(trace, node: int, diagnoses: list[Diagnosis]) -> dict[int, mpmath.mpf]:
    """edge → the part of ∂out/∂node that flows through it, for the edges the diagnoses name."""
    wanted = {e for d in diagnoses if d.kind in ("missing_branch", "missing_factor", "inverted_factor")
              and d.at != node for e in d.edges}
    if not wanted:
        return {}
    found = {}
    for step_index, through in _paths_through(trace, DiagnosisIndex(trace), node):
        edge = trace.steps[step_index].edge
        if edge in wanted:
            found[edge] = found.get(edge, mpmath.mpf(0)) + through
    return found


def _step_of(trace, edge: int) -> int | None:
    """The index into this trace's steps of a graph edge (the reverse pass's order may differ)."""
    source = trace.graph.edges.source[edge]
    for k in trace.paths_into.get(source, ()):
        if trace.steps[k].edge == edge:
            return k
    return None


def _predicted(trace, node: int, diagnosis: Diagnosis, through: dict[int, mpmath.mpf]):
    """What a claim with this mistake gives at this trace's point (None: it cannot be told)."""
    gradients = trace.gradients
    zero = mpmath.mpf(0)
    correct = gradients[node].approx if node in gradients else zero
    if correct is None:
        return None
    kind = diagnosis.kind
    if kind == "sign":
        return -correct
    if kind == "other_node":
        return gradients[diagnosis.at].approx if diagnosis.at in gradients else zero
    if kind == "missing_branch" and diagnosis.at == node:
        total = zero
        for k in trace.paths_into.get(node, ()):
            step = trace.steps[k]
            if step.edge in diagnosis.edges:
                if step.contribution.approx is None:
                    return None
                total += step.contribution.approx
        return total
    k = _step_of(trace, diagnosis.edges[0]) if diagnosis.edges else None
    if k is None:
        return None
    local = trace.steps[k].local.approx
    if kind == "local_only":
        return local
    part = through.get(diagnosis.edges[0], zero)
    if kind == "missing_branch":
        return correct - part
    if local is None or local == 0:
        return None
    if kind == "missing_factor":
        return correct - part + part / local
    if kind == "inverted_factor":
        return correct - part + part / local**2
    return None


def _written_decimals(text: str) -> int:
    match = re.search(r"\.(\d+)(?![\deE])", text)
    return len(match.group(1)) if match else 0


def _no_factor_mistake(index: DiagnosisIndex, trace, node: int, claimed: float, correct: float, tol: float) -> bool:
    """The quick search in floats: True if no step can explain the claim as a missing
    branch or a missing or inverted factor (then the exact search is skipped). It errs
    on the side of False: float rounding is far inside its slack."""
    if not (math.isfinite(claimed) and math.isfinite(correct)):
        return False
    loose = max(tol, 1e-9)
    gap = correct - claimed  # what the mistake took away
    for step_index, through in _paths_through(trace, index, node, floats=True):
        if through is None or not math.isfinite(through):
            return False
        local = index.factors[step_index][1]
        slack = loose * (1 + abs(claimed) + abs(correct) + abs(through) * (1 + 1 / abs(local) + 1 / local**2))
        if (abs(gap - through) <= slack or abs(gap - through * (1 - 1 / local)) <= slack
                or abs(gap - through * (1 - 1 / local**2)) <= slack):
            return False
    return True


def _paths_through(trace, index: DiagnosisIndex, node: int, floats: bool = False):
    """(step, the part of ∂out/∂node that flows through it) for the steps after `node`.

    Forward mode from `node` over the recorded local derivatives, visiting only the
    nodes downstream of it in topological order (node indices are; a heap keeps the
    order), at most MAX_DIAGNOSIS_STEPS steps: the nearer edges are the likelier mistakes.
    """
    steps = trace.steps
    tangent: dict[int, mpmath.mpf] = {node: 1.0 if floats else mpmath.mpf(1)}
    zero = 0.0 if floats else mpmath.mpf(0)
    queue = [node]
    queued = {node}
    visited = 0
    while queue and visited < MAX_DIAGNOSIS_STEPS:
        source = heappop(queue)
        t = tangent[source]
        for step_index in index.out_steps.get(source, ()):
            step = steps[step_index]
            visited += 1
            if floats:
                if index.factors[step_index] is None:
                    if step.local.approx is not None:
                        yield step_index, None  # cannot tell in floats
                    continue
                upstream, local = index.factors[step_index]
            else:
                upstream, local = step.upstream.approx, step.local.approx
            if local is None or t == 0:
                continue
            through = upstream * local * t
            if through != 0 and not (floats and local == 0):
                yield step_index, through
            tangent[step.consumer] = tangent.get(step.consumer, zero) + local * t
            if step.consumer not in queued:
                queued.add(step.consumer)
                heappush(queue, step.consumer)


__all__ = ["Claim", "ClaimResult", "CheckOutcome", "Diagnosis", "DiagnosisIndex", "parse_claims", "check_claims",
           "diagnose", "DEFAULT_TOLERANCE", "NodeKind"]
