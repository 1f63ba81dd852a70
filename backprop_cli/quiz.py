"""The tutor: questions drawn from the trace, and judging the student's answers.

The questions follow what a teacher asks: the forward value of each assigned
name, then, walking the reverse pass from the output down, each local
derivative, each upstream × local product, and each branch sum.

A tensor program is asked layer by layer instead, as a course teaches it: each
statement's value (a nested list), then for the gradient of each named node and
input, in the reverse pass's order, its shape, its rule in terms of δ (the
gradient arriving from the consumer: `outer(δ, h)`, `W2.T @ δ`) and its values.
A rule answer is a formula in δ and the program's names, evaluated by the
program's own parser and engine with δ bound to the run's δ and to random δs,
and compared with the edge's linear map applied to the same δs.

A question is data: what is asked (a node, an edge, the paths into a node), the
value expected, and the wrong answers it recognises (a branch sum one path short,
a product with the wrong sign). The view (`render/quiz_view.py`) words all of it.
Nothing here prints: `run` takes a dialogue (intro, ask, tell), so a terminal, a
pipe and the tests drive it the same way.
"""

from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass, field
from typing import Protocol, TextIO

import mpmath

from backprop_cli import deadline, limits, settings
from backprop_cli.bindings import binding_value, expression_graph
from backprop_cli.forward import evaluate_expression, run_forward
from backprop_cli.compare import random_rational, same_formula, same_value
from backprop_cli.engine import Report, Request, analyse, entry_indices, load
from backprop_cli.finite_difference import CheckKind
from backprop_cli.errors import BackpropError
from backprop_cli.graph import NodeKind
from backprop_cli.lazy import sp
from backprop_cli.numbers import Value, to_mpf
from backprop_cli.primitives import TENSOR_OPS

DEFAULT_TOLERANCE = 1e-3  # decimals within 0.1 % (relative to max(1, |answer|)) are accepted
LEVELS = ("values", "formulas")
STOP_WORDS = ("q", "quit", "exit")


@dataclass(frozen=True)
class Trap:
    """A recognised wrong answer and the hint it earns."""

    value: Value | None
    hint: str  # "one_path": a branch sum with one path only; "sign": minus the right answer
    # (tensor questions: "shape", "transposed", "upstream", "entry_transposed", "error",
    # "no_transpose", "no_delta", see TensorJudge.verdict)
    path: int | None = None  # one_path: the index into `steps` of the path the answer stopped at
    negatives: int = 0  # sign, for a product: how many of upstream and local are negative
    shape: tuple[int, ...] | None = None  # shape, transposed, upstream: the shape the answer has
    error: str | None = None  # error: why the answer's formula cannot be evaluated (a shape mismatch)
    step: int | None = None  # upstream: the path (index into `steps`) whose consumer's shape was given


@dataclass(frozen=True)
class Question:
    kind: str  # value | local | product | sum; tensor programs: value | shape | rule | gradient
    node: int  # value: the node asked; local, product: the edge's source; sum: the node the paths add into
    # (shape, rule, gradient: the node whose gradient is asked)
    expected: object  # a number (values) or a formula in the program's names (formulas); tensor
    # programs: a TensorValue (value, gradient), a shape (shape), the path's contribution (rule)
    step: int | None = None  # local, product, rule: the edge, as an index into `trace.steps`
    paths: tuple[int, ...] = ()  # sum, shape, rule, gradient: the steps adding into `node`, in the program's order
    formula: bool = False  # local: asked as a formula (the formulas level)
    given: bool = False  # once settled, the result is stated (a forward value; a product of a factor 1)
    traps: tuple[Trap, ...] = ()
    entry: tuple[int, ...] | None = None  # value, gradient of a big tensor: the one entry asked

    @property
    def part(self) -> str:
        return "forward" if self.kind == "value" else "backward"


@dataclass
class Outcome:
    question: Question
    right: bool
    attempts: int
    skipped: bool = False
    typed: tuple[str, ...] = ()  # every line the student typed for it, as typed (stripped)


@dataclass
class QuizResult:
    outcomes: list[Outcome] = field(default_factory=list)
    stopped: bool = False
    end_of_input: bool = False  # the answers ran out (rather than q)
    answers_read: int = 0  # non-blank lines read, over the whole quiz
    unfinished: Outcome | None = None  # the question the quiz stopped in, if anything was typed for it
    error: BackpropError | None = None  # the time limit, reached while judging an answer

    @property
    def right(self) -> int:
        return sum(o.right for o in self.outcomes)


@dataclass
class Quiz:
    """Everything a dialogue needs: the run at the point, the questions, and how answers are read."""

    report: Report  # the run at the point: values, gradients, steps
    level: str
    tolerance: float
    questions: list[Question]
    names: dict[str, Value]  # what a name in an answer means
    tensor_judge: "TensorJudge | None" = None  # a tensor program's answers are read and judged by it

    @property
    def trace(self):
        return self.report.trace

    @property
    def inputs(self) -> list[tuple[str, Value]]:
        """The program's inputs and their values, in the graph's order (an unbound one is its own symbol)."""
        trace = self.report.trace
        return [(trace.node(i).name, trace.values[i]) for i in trace.graph.inputs]

    def judge(self, expected: Value, answer: str) -> bool:
        return judge(expected, answer, self.names, self.tolerance)

    @property
    def tensor(self) -> bool:
        return self.report.trace.tensor

    def verdict(self, question: Question, answer: str) -> tuple[bool, Trap | None]:
        """Is the answer right, and if not, the recognised mistake it makes (or None).
        Raises BackpropError if the answer cannot be read."""
        if self.tensor_judge is not None:
            return self.tensor_judge.verdict(question, answer)
        right = self.judge(question.expected, answer)
        trap = None if right else next((t for t in question.traps if self.judge(t.value, answer)), None)
        return right, trap


class Dialogue(Protocol):
    def intro(self, quiz: Quiz) -> None: ...

    def ask(self, question: Question) -> str | None: ...  # one answer; None at the end of input

    def tell(self, event: str, question: Question, detail: object = None) -> None: ...


def prepare(request: Request, level: str = "values", tolerance: float | None = None) -> Quiz:
    """The program analysed at its point (and, for formulas, with no bindings), and its questions."""
    if level not in LEVELS:
        raise BackpropError(f"unknown quiz level '{level}'", hint="use " + " or ".join(LEVELS))
    graph, bindings = load(request)
    report = analyse(graph, bindings, check=CheckKind.NONE)
    if report.trace.tensor:
        return _tensor_quiz(report, bindings, level, tolerance)
    symbolic = analyse(graph, {}, check=CheckKind.NONE) if level == "formulas" else None
    return Quiz(report, level, DEFAULT_TOLERANCE if tolerance is None else tolerance,
                build_questions(report, level, symbolic), (symbolic or report).trace.values_by_name())


def run(request: Request, dialogue: Dialogue, level: str = "values", tolerance: float | None = None) -> QuizResult:
    """The command's one call: prepare the quiz, introduce it, ask every question."""
    quiz = prepare(request, level, tolerance)
    dialogue.intro(quiz)
    return run_quiz(quiz, dialogue)


def build_questions(report: Report, level: str = "values", symbolic: Report | None = None) -> list[Question]:
    trace = report.trace
    graph = trace.graph
    questions: list[Question] = [Question("value", index, trace.values[index], given=True)
                                 for _, index, _ in graph.statements if index <= trace.output]
    values = level == "values"
    for step_index, step in enumerate(trace.steps):
        if not values:
            expected = (symbolic or report).trace.steps[step_index].local  # a formula in the inputs
            questions.append(Question("local", step.source, expected, step_index, formula=True))
        else:
            trivial = step.upstream.exact == 1 or step.local.exact in (1, -1)
            questions.append(Question("local", step.source, step.local, step_index, given=trivial))
            if not trivial:
                questions.append(Question("product", step.source, step.contribution, step_index,
                                          traps=_sign_trap(step.contribution, step.upstream, step.local)))
        paths = trace.paths_into.get(step.source, [])
        if len(paths) > 1 and paths[-1] == step_index and values:  # the sum is complete
            paths = sorted(paths, key=lambda i: trace.steps[i].consumer)  # in the program's order
            total = trace.gradients[step.source]
            # The classic mistake: only one path's contribution.
            traps = tuple(Trap(trace.steps[i].contribution, "one_path", path=i) for i in paths)
            questions.append(Question("sum", step.source, total, paths=tuple(paths),
                                      traps=traps + _sign_trap(total)))
    return questions


def _sign_trap(expected: Value, *factors: Value) -> tuple[Trap, ...]:
    """Minus the right answer: the size is right, the sign is not (for a nonzero number)."""
    if expected.approx is None or expected.approx == 0 or any(f.approx is None for f in factors):
        return ()
    negated = Value(None if expected.exact is None else -expected.exact, -expected.approx)
    return (Trap(negated, "sign", negatives=sum(f.approx < 0 for f in factors)),)


def judge(expected: Value, answer: str, names: dict[str, Value], tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Is the answer right? Exact answers compare exactly, decimals within the tolerance,
    formulas (names allowed) by SymPy and by value. Raises BackpropError if unreadable."""
    if len(answer) > limits.MAX_ANSWER_CHARS:
        raise BackpropError(f"the answer has {len(answer):,} characters; the limit is {limits.MAX_ANSWER_CHARS:,}")
    answer_graph = expression_graph(answer, "answer", names, "one number or formula, please",
                                    lambda name: (f"'{name}' is not a name in the program", None))
    given = evaluate_expression(answer_graph, names, "answer")
    decimal = any(c in answer for c in ".eE") and not any(c.isalpha() and c not in "eE" for c in answer)
    with mpmath.workdps(settings.DECIMAL_DIGITS):
        if given.approx is not None and expected.approx is not None:
            if decimal:
                return abs(given.approx - expected.approx) <= tolerance * max(1, abs(expected.approx))
            if given.exact is not None and expected.exact is not None:
                # numbers first, a proof only where it is small (compare.py); equal to
                # hundreds of digits is right
                return same_value(given.exact, expected.exact) is not False
            return abs(given.approx - expected.approx) <= mpmath.mpf(10) ** -30 * max(1, abs(expected.approx))
    if given.exact is not None and expected.exact is not None:  # formulas: at points first, then a small proof
        return same_formula(given.exact, expected.exact) is not False
    return False


def run_quiz(quiz: Quiz, dialogue: Dialogue) -> QuizResult:
    """Ask every question: a hint after one wrong answer, the answer and reason after two.

    Events told: part (detail: forward | backward), question, hint (detail: the Trap the answer
    fell in, or None), closer (a second hint: the working short of the answer), skipped, unreadable (detail: the error's message), right, wrong, answer,
    given, stopped."""
    result = QuizResult()
    part = None
    for question in quiz.questions:
        if question.part != part:
            part = question.part
            dialogue.tell("part", question, part)
        dialogue.tell("question", question)
        wrong = 0
        hinted = False  # a hint was shown for this question (asked for, or after a wrong answer)
        typed: list[str] = []

        def stop(end_of_input: bool, error: BackpropError | None = None) -> QuizResult:
            result.stopped, result.end_of_input, result.error = True, end_of_input, error
            if typed:
                result.unfinished = Outcome(question, False, wrong, typed=tuple(typed))
            dialogue.tell("stopped", question)
            return result

        while True:
            with deadline.paused():  # the time limit counts the tool's work, not the student's thinking
                answer = dialogue.ask(question)
            if answer is None:
                return stop(end_of_input=True)
            answer = answer.strip()
            if not answer:
                continue
            typed.append(answer)
            result.answers_read += 1
            if answer.lower() in STOP_WORDS:
                return stop(end_of_input=False)
            if answer == "?":  # a second hint goes a step further: the working, short of the answer
                dialogue.tell("closer" if hinted else "hint", question)
                hinted = True
                continue
            if answer.lower() == "skip":
                dialogue.tell("skipped", question)
                result.outcomes.append(Outcome(question, False, wrong, skipped=True, typed=tuple(typed)))
                break
            try:
                right, trap = quiz.verdict(question, answer)
                deadline.check()  # a verdict reached after the limit was hit (and swallowed) is not one
            except Exception as error:  # noqa: BLE001 - sorted out just below
                if deadline.expired():  # the run's time limit: stop, and report the score so far
                    return stop(end_of_input=False, error=deadline.settle())
                if not isinstance(error, BackpropError):
                    raise
                dialogue.tell("unreadable", question, error.message)
                continue
            if right:
                dialogue.tell("right", question)
                result.outcomes.append(Outcome(question, wrong == 0, wrong + 1, typed=tuple(typed)))
                break
            wrong += 1
            dialogue.tell("wrong", question)
            if wrong == 1:
                dialogue.tell("hint", question, trap)
                hinted = True
            else:
                dialogue.tell("answer", question)
                result.outcomes.append(Outcome(question, False, wrong, typed=tuple(typed)))
                break
        if question.given:
            dialogue.tell("given", question)
    return result


# ---------------------------------------------------------------- tensor programs

MAX_TYPED_ENTRIES = 6  # a value or gradient with more entries is asked one entry, not typed whole
RULE_POINTS = 2  # random δs a rule is judged at too, besides the run's own δ
DELTA = "δ"
DELTA_WORDS = ("delta", "d")  # also read as δ in a rule, unless the program has such a name
_DECIMAL = re.compile(r"(^|[^A-Za-z_0-9])(\d*\.\d+|\d+\.\d*|\d+[eE][+-]?\d+)")


def _tensor_quiz(report: Report, bindings: dict, level: str, tolerance: float | None) -> Quiz:
    trace = report.trace
    if level != "values":
        raise BackpropError("--level formulas is for scalar programs; a tensor program's quiz asks each "
                            "gradient's rule as a formula already", hint="drop --level formulas")
    unbound = trace.graph.unbound_inputs(bindings)
    if unbound or report.symbolic_tensors:
        raise BackpropError("the quiz of a tensor program needs a value for every input; unbound: "
                            + ", ".join(unbound[:10]), hint="bind them with --at, e.g. --at \"W=[[1, 2]], x=[1, -1]\"")
    tolerance = DEFAULT_TOLERANCE if tolerance is None else tolerance
    return Quiz(report, level, tolerance, build_tensor_questions(trace), trace.values_by_name(),
                TensorJudge(trace, tolerance))


def build_tensor_questions(trace) -> list[Question]:
    """Each statement's value; then, in the reverse pass's order, for each named node and input
    once its gradient is complete: the gradient's shape, the rule of each path into it, its values."""
    graph = trace.graph
    questions = [Question("value", index, trace.values[index], given=True,
                          entry=entry_to_ask(trace.values[index], name))
                 for name, index, _ in graph.statements if index <= trace.output]
    for step_index, step in enumerate(trace.steps):
        node = graph.nodes[step.source]
        paths = trace.paths_into[step.source]
        if (node.kind is not NodeKind.INPUT and node.name is None) or paths[-1] != step_index:
            continue  # an unnamed node, or a named one whose gradient has paths still to come
        paths = tuple(sorted(paths, key=lambda i: trace.steps[i].consumer))  # in the program's order
        questions.append(Question("shape", step.source, trace.shape(step.source), paths=paths))
        for path in paths:
            if trace.steps[path].local.rule != "literal":  # δ[k], which the language cannot write
                questions.append(Question("rule", step.source, trace.steps[path].contribution, step=path,
                                          paths=paths, given=True))
        gradient = trace.gradients[step.source]
        questions.append(Question("gradient", step.source, gradient, paths=paths, given=True,
                                  entry=entry_to_ask(gradient, node.label)))
    return questions


def entry_to_ask(tensor, name: str | None) -> tuple[int, ...] | None:
    """A big tensor's one entry to ask (None: ask it whole): a nonzero one, the same on every run."""
    if len(tensor.entries.flat) <= MAX_TYPED_ENTRIES:
        return None
    indices = entry_indices(tensor.shape)
    start = zlib.crc32((name or "").encode("utf-8", "surrogatepass")) % len(indices)
    for k in range(len(indices)):
        index = indices[(start + k) % len(indices)]
        if tensor.entries[index].approx not in (None, 0):
            return index
    return indices[start]


def parse_shape(text: str) -> tuple[int, ...]:
    """`(2, 3)`, `2x3`, `2 × 3`, `[2, 3]`, `(3,)`, `3`, `()` or `scalar` → a shape."""
    body = text.strip()
    if body.lower() in ("scalar", "()", "[]"):
        return ()
    if len(body) >= 2 and (body[0], body[-1]) in (("(", ")"), ("[", "]")):
        body = body[1:-1].strip()
        if body.endswith(","):
            body = body[:-1]
    parts = [p.strip() for p in re.split(r"[,x×*]", body)]
    if not parts or not all(p.isascii() and p.isdigit() for p in parts) or len(parts) > 2:
        raise BackpropError(f"'{text[:40]}' is not a shape", hint="write a shape as (2, 3), 2x3, (3,) or ()")
    return tuple(int(p) for p in parts)


class AnswerMisfit(Exception):
    """An answer that reads, but cannot be evaluated: a shape mismatch in its formula, say."""

    def __init__(self, error: BackpropError):
        super().__init__(error.message)
        self.error = error


def _answer_shapes(graph, input_shapes: dict[str, tuple[int, ...]]):
    """Every node's shape, as `shapes.infer_shapes` finds them, without its rule that the output be a
    scalar: an answer is any value."""
    from backprop_cli.shapes import Shapes, _operation_shape

    shapes: list[tuple[int, ...]] = []
    result = Shapes(shapes, tensor_ops=any(node.op in TENSOR_OPS for node in graph.nodes))
    for node in graph.nodes:
        if node.kind is NodeKind.INPUT:
            shapes.append(tuple(input_shapes.get(node.name, ())))
        elif node.kind is NodeKind.CONSTANT:
            shapes.append(())
        else:
            shapes.append(_operation_shape(node, [shapes[a] for a in node.args], graph, result))
    return result


class TensorJudge:
    """A tensor program's answers read and judged: values and gradients as nested lists (or
    formulas in the program's names), shapes, and rules as formulas in δ and the names.

    A rule answer is read by the program's parser and evaluated by its engine (never eval) with
    the names bound to the run's values and δ bound to the run's δ and to RULE_POINTS random
    δs; it is right if it equals the edge's linear map (tensors.py) applied to each of them."""

    def __init__(self, trace, tolerance: float):
        self.trace = trace
        self.graph = trace.graph
        self.domain = trace.forward.domain
        self.numeric = trace.numeric
        self.tolerance = tolerance
        names = set(self.graph.names)
        self.delta_name = next(n for n in (*DELTA_WORDS, *(f"delta_{k}" for k in range(len(names) + 1)))
                               if n not in names)
        self.delta_names = {self.delta_name, *(n for n in DELTA_WORDS if n not in names)}
        self._bound: dict[str, object] = {}

    # ------------------------------------------------------------ reading
    def _graph(self, text: str, rule: bool):
        names = list(self.graph.names) + (sorted(self.delta_names) if rule else [])
        return expression_graph(text, "answer", names, "one value or formula, please",
                                lambda name: (f"'{name}' is not a name in the program", None))

    def evaluate(self, text: str):
        """A value or gradient answer: a nested list of constants, or a formula in the names."""
        if text.startswith("["):  # written out: read as --at reads [[1, 2], [3, 4]], entries exact
            return self._written(binding_value(text, "answer"))
        return self._run(self._graph(text, rule=False))

    def _written(self, array):
        import numpy as np

        from backprop_cli.tensors import TensorValue

        entries = np.empty(array.shape, dtype=object)
        with mpmath.workdps(settings.DECIMAL_DIGITS):
            for index in np.ndindex(array.shape):
                entries[index] = Value(array[index], to_mpf(array[index]))
        return TensorValue(tuple(array.shape), entries)

    def _as_binding(self, value):
        """A TensorValue as the engine takes a bound value: exact entries (a 50-digit decimal
        where the run kept no exact form), or floats in the numeric mode."""
        import numpy as np

        def entry(v):
            if self.numeric:
                return sp.Float(float(v.approx)) if v.exact is None else v.exact
            return v.exact if v.exact is not None else sp.Float(v.approx, settings.DECIMAL_DIGITS)

        if not value.shape:
            return entry(value.entries[()])
        if self.numeric:
            return np.vectorize(lambda v: float(v.approx), otypes=[float])(value.entries).astype(np.float64)
        return np.vectorize(entry, otypes=[object])(value.entries)

    def _name_binding(self, name: str):
        if name not in self._bound:
            self._bound[name] = self._as_binding(self.trace.values[self.graph.names[name]])
        return self._bound[name]

    def _run(self, graph, delta=None):
        """The answer's value with its names bound to the run's values (and δ to `delta`)."""
        import numpy as np

        from backprop_cli.tensors import TensorValue

        bindings, shapes = {}, {}
        for index in graph.inputs:
            name = graph.nodes[index].name
            bindings[name] = delta if delta is not None and name in self.delta_names else self._name_binding(name)
            if getattr(bindings[name], "shape", ()):
                shapes[name] = tuple(bindings[name].shape)
        try:
            forward = run_forward(graph, bindings, numeric=self.numeric, shapes=_answer_shapes(graph, shapes))
        except BackpropError as error:
            raise AnswerMisfit(error) from None
        result = forward.values[graph.output]
        if isinstance(result, TensorValue):
            return result
        entries = np.empty((), dtype=object)
        entries[()] = result
        return TensorValue((), entries)

    # ------------------------------------------------------------ judging
    def verdict(self, question: Question, answer: str) -> tuple[bool, Trap | None]:
        if len(answer) > limits.MAX_ANSWER_CHARS:
            raise BackpropError(f"the answer has {len(answer):,} characters; the limit is {limits.MAX_ANSWER_CHARS:,}")
        if question.kind == "shape":
            return self._shape(question, parse_shape(answer))
        if question.kind != "rule" and DELTA in answer:
            raise BackpropError(f"{DELTA} is for the rules; here, the values")
        try:
            if question.kind == "rule":
                return self._rule(question, answer)
            return self._value(question, self.evaluate(answer), bool(_DECIMAL.search(answer)))
        except AnswerMisfit as misfit:
            message = misfit.error.message
            if DELTA in answer:  # the formula as the student wrote it, δ and all
                message = re.sub(rf"\b{self.delta_name}\b", DELTA, message)
            return False, Trap(None, "error", error=message)

    def _shape(self, question: Question, given: tuple[int, ...]) -> tuple[bool, Trap | None]:
        expected = tuple(question.expected)
        if given == expected:
            return True, None
        if len(expected) == 2 and given == expected[::-1]:
            return False, Trap(None, "transposed", shape=given)
        for path in question.paths:
            if given == self.trace.shape(self.trace.steps[path].consumer):
                return False, Trap(None, "upstream", shape=given, step=path)
        return False, None

    def _value(self, question: Question, given, decimal: bool) -> tuple[bool, Trap | None]:
        expected = question.expected
        if question.entry is not None:
            wanted = _scalar(expected.entries[question.entry])
            if given.shape:
                return False, Trap(None, "shape", shape=given.shape)
            if self._same(given, wanted, decimal):
                return True, None
            swapped = question.entry[::-1]
            if len(swapped) == 2 and swapped != question.entry and self._near(given, _scalar(expected.entries[swapped]),
                                                                              decimal):
                return False, Trap(None, "entry_transposed")
            if self._near(given, wanted, decimal, sign=-1):
                return False, Trap(None, "sign")
            return False, None
        if given.shape != expected.shape:
            if len(expected.shape) == 2 and given.shape == expected.shape[::-1] and self._near(
                    given, expected, decimal, transpose=True):
                return False, Trap(None, "transposed", shape=given.shape)
            return False, Trap(None, "shape", shape=given.shape)
        if self._same(given, expected, decimal):
            return True, None
        if len(expected.shape) == 2 and self._near(given, expected, decimal, transpose=True):
            return False, Trap(None, "transposed", shape=given.shape)
        if self._near(given, expected, decimal, sign=-1):
            return False, Trap(None, "sign")
        if len(question.paths) > 1:
            for path in question.paths:
                if self._near(given, self.trace.steps[path].contribution, decimal):
                    return False, Trap(None, "one_path", path=path)
        return False, None

    def _rule(self, question: Question, answer: str) -> tuple[bool, Trap | None]:
        step = self.trace.steps[question.step]
        graph = self._graph(answer.replace(DELTA, self.delta_name), rule=True)
        uses_delta = any(graph.nodes[i].name in self.delta_names for i in graph.inputs)
        decimal = bool(_DECIMAL.search(answer))
        pairs = []
        for delta, bound in self._deltas(question.step, step):
            given = self._spread(self._run(graph, bound), step)
            with self.domain.precision():
                expected = self.domain.value(self.domain.pull(delta, step.local))
            if given.shape != expected.shape:
                if len(expected.shape) == 2 and given.shape == expected.shape[::-1] and self._near(
                        given, expected, decimal, transpose=True):
                    return False, Trap(None, "transposed", shape=given.shape)
                return False, Trap(None, "shape", shape=given.shape)
            pairs.append((given, expected, delta))
        if all(self._same(g, e, decimal) for g, e, _ in pairs):
            return True, None
        if not uses_delta:
            return False, Trap(None, "no_delta")
        if len(pairs[0][1].shape) == 2 and all(self._near(g, e, decimal, transpose=True) for g, e, _ in pairs):
            return False, Trap(None, "transposed", shape=pairs[0][0].shape)
        if all(self._near(g, e, decimal, sign=-1) for g, e, _ in pairs):
            return False, Trap(None, "sign")
        untransposed = [self._untransposed(step, delta) for _, _, delta in pairs]
        if all(u is not None and self._near(g, u, decimal) for (g, _, _), u in zip(pairs, untransposed)):
            return False, Trap(None, "no_transpose")
        return False, None

    def _deltas(self, step_index: int, step):
        """δ as the domain holds it and as an answer binds it: the run's own, then random ones."""
        import numpy as np

        upstream = step.upstream
        if self.numeric:
            yield np.asarray(self._as_binding(upstream), dtype=np.float64), self._as_binding(upstream)
        else:
            yield np.array(upstream.entries, dtype=object), self._as_binding(upstream)
        rng = random.Random(zlib.crc32(f"{self.graph.source}\0{step_index}".encode("utf-8", "surrogatepass")))
        shape = tuple(upstream.shape)
        for _ in range(RULE_POINTS):
            exact = np.empty(shape, dtype=object)
            for index in np.ndindex(shape):
                exact[index] = random_rational(rng) * rng.choice([1, -1])
            bound = exact[()] if not shape else exact
            if self.numeric:
                floats = np.vectorize(float, otypes=[float])(exact).astype(np.float64) if shape else \
                    np.asarray(float(exact[()]))
                yield floats, (floats if shape else sp.Float(float(exact[()])))
                continue
            with self.domain.precision():
                held = np.empty(shape, dtype=object)
                for index in np.ndindex(shape):
                    held[index] = self.domain.entry.constant(exact[index])
            yield held, bound

    def _spread(self, given, step):
        """A reduction's rule written as δ (its upstream's shape) is δ copied to every entry reduced."""
        import numpy as np

        from backprop_cli.tensors import TensorValue

        local = step.local
        if local.rule != "reduce" or tuple(given.shape) != tuple(step.upstream.shape) or \
                tuple(given.shape) == tuple(local.shape):
            return given
        entries = given.entries if local.axis is None else np.expand_dims(given.entries, local.axis)
        return TensorValue(tuple(local.shape), np.broadcast_to(entries, local.shape).copy())

    def _untransposed(self, step, delta):
        """What the product gives without its transpose (W @ δ for W.T @ δ, δ @ b for δ @ b.T), if
        the shapes allow it."""
        local = step.local
        other = getattr(local, "other", None)
        if other is None or other.ndim != 2:
            return None
        if local.rule == "matmul_right" and other.shape[1] == delta.shape[0]:
            operands = (other, delta)
        elif local.rule == "matmul_left" and delta.ndim == 2 and delta.shape[-1] == other.shape[0]:
            operands = (delta, other)
        else:
            return None
        with self.domain.precision():
            return self.domain.value(self.domain.arrays.matmul(*operands))

    def _same(self, given, expected, decimal: bool) -> bool:
        """Every entry equal: exactly where both are exact, else within the tolerance (a decimal
        answer) or to the run's precision."""
        if tuple(given.shape) != tuple(expected.shape):
            return False
        return all(self._agree(g, e, decimal) for g, e in zip(given.entries.flat, expected.entries.flat))

    def _agree(self, given: Value, expected: Value, decimal: bool, prove: bool = True, sign: int = 1) -> bool:
        if given.approx is None or expected.approx is None:
            return False
        with mpmath.workdps(settings.DECIMAL_DIGITS):  # (a negation outside would round to 15 digits)
            target = expected.approx if sign > 0 else -expected.approx
            scale = max(1, abs(target))
            gap = abs(given.approx - target)
            if decimal:
                return gap <= self.tolerance * scale
            floats = type(given.approx) is float or type(expected.approx) is float
            if gap > (1e-9 if floats else mpmath.mpf(10) ** -30) * scale:
                return False
            if prove and given.exact is not None and expected.exact is not None:
                return same_value(given.exact, expected.exact) is not False
            return True

    def _near(self, given, expected, decimal: bool, sign: int = 1, transpose: bool = False) -> bool:
        """The answer is `expected` negated or transposed, by the numbers (a recognised mistake)."""
        entries = expected.entries.T if transpose else expected.entries
        if tuple(given.shape) != tuple(entries.shape):
            return False
        if sign < 0 and all(v.approx == 0 for v in entries.flat):
            return False  # minus 0 is 0: no sign to get wrong
        return all(self._agree(g, e, decimal, prove=False, sign=sign) for g, e in zip(given.entries.flat, entries.flat))


def _scalar(value: Value):
    import numpy as np

    from backprop_cli.tensors import TensorValue

    entries = np.empty((), dtype=object)
    entries[()] = value
    return TensorValue((), entries)


def read_answer(stream: TextIO, limit: int = limits.MAX_ANSWER_CHARS) -> str | None:
    """One line of the student's answer, read no further than `limit` characters
    (a stream of NUL bytes without a newline must not fill the memory). None at the end."""
    line = stream.readline(limit + 1)
    if not line:
        return None
    text = line[:-1] if line.endswith("\n") else line
    if len(text) > limit:
        raise answer_too_long(limit)
    return line


def answer_too_long(limit: int = limits.MAX_ANSWER_CHARS) -> BackpropError:
    return BackpropError(f"the answer has more than {limit:,} characters; the limit is {limit:,}",
                         hint="answer with one number or formula per line")
