"""The tutor: questions drawn from the trace, and judging the student's answers.

The questions follow what a teacher asks: the forward value of each assigned
name, then, walking the reverse pass from the output down, each local
derivative, each upstream × local product, and each branch sum. Nothing here
reads or prints; `run_quiz` takes an `ask` and a `say` function, so a
terminal, a pipe and the tests drive it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, TextIO

import mpmath

from backprop_cli import deadline, limits
from backprop_cli.bindings import evaluate_expression, expression_graph
from backprop_cli.compare import same_formula, same_value
from backprop_cli.engine import Report
from backprop_cli.errors import BackpropError
from backprop_cli.i18n import Messages
from backprop_cli.numbers import Value
from backprop_cli.render.common import (
    derivative,
    grouped,
    local_formula_text,
    node_label,
    number_text,
    operand,
    path_terms,
    value_text,
)

DEFAULT_TOLERANCE = 1e-3  # decimals within 0.1 % (relative to max(1, |answer|)) are accepted


@dataclass(frozen=True)
class Question:
    kind: str  # value | local | product | sum
    prompt: str
    expected: Value  # a number (values) or a formula in the program's names (formulas)
    answer_text: str
    hint: str
    reason: str
    given: str = ""  # a sentence said after the question is settled
    # Recognised wrong answers and the hint each deserves (a branch sum missing a path).
    partial: tuple[tuple[Value, str], ...] = ()


@dataclass
class Outcome:
    question: Question
    right: bool
    attempts: int
    skipped: bool = False


@dataclass
class QuizResult:
    outcomes: list[Outcome] = field(default_factory=list)
    stopped: bool = False
    error: BackpropError | None = None  # the time limit, reached while judging an answer

    @property
    def right(self) -> int:
        return sum(o.right for o in self.outcomes)


def build_questions(report: Report, messages: Messages, level: str = "values",
                    symbolic: Report | None = None) -> list[Question]:
    trace = report.trace
    graph = trace.graph
    out = graph.nodes[trace.output]
    questions: list[Question] = []
    for name, index, _ in graph.statements:
        if index > trace.output:
            break
        node = graph.nodes[index]
        value = trace.values[index]
        questions.append(Question(
            "value", messages("quiz.ask_value", name=name, text=node.text), value, value_text(value),
            messages("quiz.hint_value", text=node.text),
            messages("quiz.reason_value", text=node.text, answer=value_text(value))))
    for step_index, step in enumerate(trace.steps):
        consumer = graph.nodes[step.consumer]
        source = graph.nodes[step.source]
        formula = local_formula_text(trace, step)
        rule = messages.rule(trace.rule_name(step), step.position)
        local_name = derivative(consumer, source)
        local_number = number_text(step.local)
        working = formula if formula == local_number else f"{formula} = {local_number}"
        if level == "formulas":
            expected = _symbolic_local(symbolic or report, step_index)
            questions.append(Question(
                "local", messages("quiz.ask_local_formula", derivative=local_name, consumer_text=consumer.text),
                expected, formula, rule, messages("quiz.reason_local_formula", rule=rule, derivative=local_name,
                                                  formula=formula)))
        else:
            questions.append(Question(
                "local", messages("quiz.ask_local", derivative=local_name, consumer_text=consumer.text),
                step.local, number_text(step.local), rule,
                messages("quiz.reason_local", rule=rule, derivative=local_name, working=working)))
        gradient_name = derivative(out, source)
        upstream, local = number_text(step.upstream), number_text(step.local)
        trivial = step.upstream.exact == 1 or step.local.exact in (1, -1)
        given = messages("quiz.given_product", upstream=operand(upstream), local=operand(local),
                         contribution=number_text(step.contribution), gradient=gradient_name)
        if not trivial and level == "values":
            questions.append(Question(
                "product", messages("quiz.ask_product", upstream_name=derivative(out, consumer), upstream=upstream,
                                    local=local, gradient=gradient_name),
                step.contribution, number_text(step.contribution), messages("quiz.hint_product"),
                messages("quiz.reason_product", upstream=operand(upstream), local=operand(local),
                         answer=number_text(step.contribution))))
        elif level == "values":
            questions[-1] = _with_given(questions[-1], given)
        paths = trace.paths_into.get(step.source, [])
        if len(paths) > 1 and paths[-1] == step_index and level == "values":  # the sum is complete
            paths = sorted(paths, key=lambda i: trace.steps[i].consumer)  # in the program's order
            terms = path_terms(trace, paths)
            via = [grouped(node_label(graph.nodes[trace.steps[i].consumer])) for i in paths]
            total = trace.gradients[step.source]
            # The classic mistake: only one path's contribution.
            partial = tuple(
                (trace.steps[i].contribution,
                 messages("quiz.hint_one_path", have=via[k], missing=", ".join(v for j, v in enumerate(via) if j != k)))
                for k, i in enumerate(paths))
            questions.append(Question(
                "sum", messages("quiz.ask_sum", node=node_label(source), n=len(paths), via=", ".join(via),
                                gradient=gradient_name),
                total, number_text(total), messages("quiz.hint_sum", node=node_label(source), via=", ".join(via)),
                messages("quiz.reason_sum", terms=terms, answer=number_text(total)), partial=partial))
    return questions


def _with_given(question: Question, given: str) -> Question:
    return Question(question.kind, question.prompt, question.expected, question.answer_text, question.hint,
                    question.reason, given)


def _symbolic_local(report: Report, step_index: int) -> Value:
    """The local derivative as a formula in the inputs (from a run with no bindings)."""
    return report.trace.steps[step_index].local


def judge(expected: Value, answer: str, names: dict[str, Value], tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Is the answer right? Exact answers compare exactly, decimals within the tolerance,
    formulas (names allowed) by SymPy and by value. Raises BackpropError if unreadable."""
    if len(answer) > limits.MAX_ANSWER_CHARS:
        raise BackpropError(f"the answer has {len(answer):,} characters; the limit is {limits.MAX_ANSWER_CHARS:,}")
    answer_graph = expression_graph(answer, "answer", names, "one number or formula, please",
                                    lambda name: (f"'{name}' is not a name in the program", None))
    given = evaluate_expression(answer_graph, names, "answer")
    decimal = any(c in answer for c in ".eE") and not any(c.isalpha() and c not in "eE" for c in answer)
    with mpmath.workdps(limits.DECIMAL_DIGITS):
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


def run_quiz(questions: list[Question], ask: Callable[[str], str | None], say: Callable[[str, str], None],
             check: Callable[[Value, str], bool], messages: Messages,
             headings: dict[str, str] | None = None) -> QuizResult:
    """Ask every question: a hint after one wrong answer, the answer and reason after two."""
    headings = headings or {}
    result = QuizResult()
    section = None
    for question in questions:
        part = "forward" if question.kind == "value" else "backward"
        if part != section and headings.get(part):
            say("heading", headings[part])
        section = part
        say("question", question.prompt)
        wrong = 0
        while True:
            answer = ask(messages("quiz.prompt"))
            if answer is None or answer.strip().lower() in ("q", "quit", "exit"):
                result.stopped = True
                say("stopped", messages("quiz.stopped"))
                return result
            answer = answer.strip()
            if answer == "?":
                say("hint", messages("quiz.hint", text=question.hint))
                continue
            if answer.lower() == "skip":
                say("answer", messages("quiz.skipped", answer=question.answer_text, reason=question.reason))
                result.outcomes.append(Outcome(question, False, wrong, skipped=True))
                break
            if not answer:
                continue
            try:
                right = check(question.expected, answer)
                special = None if right else next((hint for value, hint in question.partial
                                                   if check(value, answer)), None)
                deadline.check()  # a verdict reached after the limit was hit (and swallowed) is not one
            except Exception as error:  # noqa: BLE001 - sorted out just below
                if deadline.expired():  # the run's time limit: stop, and report the score so far
                    result.stopped, result.error = True, deadline.settle()
                    say("stopped", messages("quiz.stopped"))
                    return result
                if not isinstance(error, BackpropError):
                    raise
                say("unreadable", messages("quiz.unreadable", error=error.message))
                continue
            if right:
                say("right", messages("quiz.right"))
                result.outcomes.append(Outcome(question, wrong == 0, wrong + 1))
                break
            wrong += 1
            say("wrong", messages("quiz.wrong"))
            if wrong == 1:
                say("hint", messages("quiz.hint", text=special or question.hint))
            else:
                say("answer", messages("quiz.answer", answer=question.answer_text, reason=question.reason))
                result.outcomes.append(Outcome(question, False, wrong))
                break
        if question.given:
            say("given", question.given)
    return result


def read_answer(stream: TextIO, limit: int = limits.MAX_ANSWER_CHARS) -> str | None:
    """One line of the student's answer, read no further than `limit` characters
    (a stream of NUL bytes without a newline must not fill the memory). None at the end."""
    line = stream.readline(limit + 1)
    if not line:
        return None
    text = line[:-1] if line.endswith("\n") else line
    if len(text) > limit:
        raise BackpropError(f"the answer has more than {limit:,} characters; the limit is {limit:,}",
                            hint="answer with one number or formula per line")
    return line


def headings(report: Report, messages: Messages) -> dict[str, str]:
    out = node_label(report.trace.graph.nodes[report.trace.output])
    return {"forward": messages("quiz.forward_heading"), "backward": messages("quiz.backward_heading", out=out)}
