"""The tutor: questions drawn from the trace, and judging the student's answers.

The questions follow what a teacher asks: the forward value of each assigned
name, then, walking the reverse pass from the output down, each local
derivative, each upstream × local product, and each branch sum.

A question is data: what is asked (a node, an edge, the paths into a node), the
value expected, and the wrong answers it recognises (a branch sum one path short,
a product with the wrong sign). The view (`render/quiz_view.py`) words all of it.
Nothing here prints: `run` takes a dialogue (intro, ask, tell), so a terminal, a
pipe and the tests drive it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, TextIO

import mpmath

from backprop_cli import deadline, limits, settings
from backprop_cli.bindings import expression_graph
from backprop_cli.forward import evaluate_expression
from backprop_cli.compare import same_formula, same_value
from backprop_cli.engine import Report, Request, analyse, load, scalar_only
from backprop_cli.finite_difference import CheckKind
from backprop_cli.errors import BackpropError
from backprop_cli.numbers import Value

DEFAULT_TOLERANCE = 1e-3  # decimals within 0.1 % (relative to max(1, |answer|)) are accepted
LEVELS = ("values", "formulas")
STOP_WORDS = ("q", "quit", "exit")


@dataclass(frozen=True)
class Trap:
    """A recognised wrong answer and the hint it earns."""

    value: Value
    hint: str  # "one_path": a branch sum with one path only; "sign": minus the right answer
    path: int | None = None  # one_path: the index into `steps` of the path the answer stopped at
    negatives: int = 0  # sign, for a product: how many of upstream and local are negative


@dataclass(frozen=True)
class Question:
    kind: str  # value | local | product | sum
    node: int  # value: the node asked; local, product: the edge's source; sum: the node the paths add into
    expected: Value  # a number (values) or a formula in the program's names (formulas)
    step: int | None = None  # local, product: the edge, as an index into `trace.steps`
    paths: tuple[int, ...] = ()  # sum: the steps adding into `node`, in the program's order
    formula: bool = False  # local: asked as a formula (the formulas level)
    given: bool = False  # once settled, the result is stated (a forward value; a product of a factor 1)
    traps: tuple[Trap, ...] = ()

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
    scalar_only(report.trace, "backprop quiz", "backprop explain walks a tensor program edge by edge")
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
    fell in, or None), skipped, unreadable (detail: the error's message), right, wrong, answer,
    given, stopped."""
    result = QuizResult()
    part = None
    for question in quiz.questions:
        if question.part != part:
            part = question.part
            dialogue.tell("part", question, part)
        dialogue.tell("question", question)
        wrong = 0
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
            if answer == "?":
                dialogue.tell("hint", question)
                continue
            if answer.lower() == "skip":
                dialogue.tell("skipped", question)
                result.outcomes.append(Outcome(question, False, wrong, skipped=True, typed=tuple(typed)))
                break
            try:
                right = quiz.judge(question.expected, answer)
                trap = None if right else next((t for t in question.traps if quiz.judge(t.value, answer)), None)
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
            else:
                dialogue.tell("answer", question)
                result.outcomes.append(Outcome(question, False, wrong, typed=tuple(typed)))
                break
        if question.given:
            dialogue.tell("given", question)
    return result


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
