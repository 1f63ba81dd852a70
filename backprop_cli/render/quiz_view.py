"""The quiz in a terminal or a pipe: the questions worded, prompts and feedback, the final score.

The core (`quiz.py`) says what is asked and what happened; this module words it, with the
labels and formula text of `render.common`. On a terminal, answers are read with `readline`
(so the arrow keys edit them); from a pipe, one bounded line at a time.
"""

from __future__ import annotations

import json
import sys

from rich.text import Text

from backprop_cli import limits, output
from backprop_cli.errors import BackpropError
from backprop_cli.i18n import Messages
from backprop_cli.quiz import Question, Quiz, QuizResult, Trap, answer_too_long, read_answer
from backprop_cli.render.common import (
    assign_text,
    derivative,
    exact_string,
    grouped,
    local_formula_text,
    node_label,
    number_text,
    operand,
    path_terms,
    value_text,
)

_STYLES = {"heading": "bold underline", "question": "bold", "right": "green", "wrong": "red", "hint": "yellow",
           "answer": "cyan", "given": "dim", "unreadable": "red", "stopped": "dim", "skipped": "cyan"}
_CLOSED = ("the quiz reads the answers from standard input, which is closed",
           "run it in a terminal, or pipe the answers in")


class Words:
    """A quiz's questions in words: prompt, answer, hint, reason, and what is stated once settled."""

    def __init__(self, quiz: Quiz, messages: Messages):
        self.trace = quiz.trace
        self.m = messages
        self.out = self.trace.node(self.trace.output)

    def inputs(self, quiz: Quiz) -> str:
        parts = []
        for name, value in quiz.inputs:
            shown = assign_text(value, name)
            parts.append(f"{name} {shown}" if shown else self.m("quiz.unbound", name=name))
        return self.m("quiz.inputs", values=", ".join(parts))

    def heading(self, part: str) -> str:
        if part == "forward":
            return self.m("quiz.forward_heading")
        return self.m("quiz.backward_heading", out=node_label(self.out))

    def prompt(self, q: Question) -> str:
        m, node = self.m, self.trace.node(q.node)
        if q.kind == "value":
            return m("quiz.ask_value", name=node.name, text=node.text)
        if q.kind == "sum":
            return m("quiz.ask_sum", node=node_label(node), n=len(q.paths), via=", ".join(self._via(q)),
                     gradient=derivative(self.out, node))
        step = self.trace.steps[q.step]
        consumer = self.trace.node(step.consumer)
        if q.kind == "local":
            return m("quiz.ask_local_formula" if q.formula else "quiz.ask_local",
                     derivative=derivative(consumer, node), consumer_text=consumer.text)
        return m("quiz.ask_product", upstream_name=derivative(self.out, consumer), upstream=number_text(step.upstream),
                 local=number_text(step.local), gradient=derivative(self.out, node))

    def answer(self, q: Question) -> str:
        if q.kind == "value":
            return value_text(q.expected)
        if q.formula:
            return local_formula_text(self.trace, self.trace.steps[q.step])
        return number_text(q.expected)

    def hint(self, q: Question, trap: Trap | None = None) -> str:
        m, node = self.m, self.trace.node(q.node)
        if trap is not None and trap.hint == "one_path":
            via = dict(zip(q.paths, self._via(q)))
            return m("quiz.hint_one_path", have=via[trap.path],
                     missing=", ".join(label for path, label in via.items() if path != trap.path))
        if trap is not None and trap.hint == "sign":
            if q.kind == "sum":
                return m("quiz.hint_sign_sum")
            step = self.trace.steps[q.step]
            return m(f"quiz.hint_sign_{trap.negatives}", upstream=operand(number_text(step.upstream)),
                     local=operand(number_text(step.local)))
        if q.kind == "value":
            return m("quiz.hint_value", text=node.text)
        if q.kind == "sum":
            return m("quiz.hint_sum", node=node_label(node), via=", ".join(self._via(q)))
        if q.kind == "product":
            return m("quiz.hint_product")
        step = self.trace.steps[q.step]
        return m.rule(self.trace.rule_name(step), step.position)

    def reason(self, q: Question) -> str:
        m, node = self.m, self.trace.node(q.node)
        if q.kind == "value":
            return m("quiz.reason_value", text=node.text, answer=value_text(q.expected))
        if q.kind == "sum":
            return m("quiz.reason_sum", terms=path_terms(self.trace, list(q.paths)), answer=number_text(q.expected))
        step = self.trace.steps[q.step]
        upstream, local = number_text(step.upstream), number_text(step.local)
        if q.kind == "product":
            return m("quiz.reason_product", upstream=operand(upstream), local=operand(local),
                     answer=number_text(q.expected))
        rule = m.rule(self.trace.rule_name(step), step.position)
        name = derivative(self.trace.node(step.consumer), node)
        formula = local_formula_text(self.trace, step)
        if q.formula:
            return m("quiz.reason_local_formula", rule=rule, derivative=name, formula=formula)
        working = formula if formula == local else f"{formula} = {local}"
        return m("quiz.reason_local", rule=rule, derivative=name, working=working)

    def given(self, q: Question) -> str:
        node = self.trace.node(q.node)
        if q.kind == "value":
            return self.m("quiz.given_value", name=node.name, answer=value_text(q.expected))
        step = self.trace.steps[q.step]  # a product with a factor of 1: stated, not asked
        return self.m("quiz.given_product", upstream=operand(number_text(step.upstream)),
                      local=operand(number_text(step.local)), contribution=number_text(step.contribution),
                      gradient=derivative(self.out, node))

    def _via(self, q: Question) -> list[str]:
        return [grouped(node_label(self.trace.node(self.trace.steps[i].consumer))) for i in q.paths]


def _line_editing() -> bool:
    """Edit answers with readline (arrow keys, history) when both ends are a terminal: Python's
    `input` uses readline only then. Importing `readline` is what turns it on."""
    try:
        if not (sys.stdin is not None and sys.stdin.isatty() and sys.stdout is not None and sys.stdout.isatty()):
            return False
        import readline  # noqa: F401 - the import makes input() line-editable
    except (ImportError, OSError, ValueError):
        return False
    return True


class QuizConsole:
    """The quiz's dialogue (intro, ask, tell: what `quiz.run` drives) and its closing report."""

    def __init__(self, messages: Messages, to_stderr: bool = False):
        self.messages = messages
        self.to_json = to_stderr  # with JSON on stdout, the dialogue goes to stderr
        self.console = output.console(stderr=to_stderr)  # user text in it is made visible
        self.interactive = sys.stdin is not None and sys.stdin.isatty()
        self.editable = _line_editing()
        self.quiz: Quiz | None = None
        self.words: Words | None = None

    # ------------------------------------------------------------ the dialogue
    def intro(self, quiz: Quiz) -> None:
        self.quiz, self.words = quiz, Words(quiz, self.messages)
        graph = quiz.trace.graph
        program = "; ".join(f"{name} = {graph.nodes[index].text}" for name, index, _ in graph.statements)
        program = program if len(program) <= 60 else program[:59] + "…"
        self.console.print(Text(self.messages("quiz.intro", program=program, tol=f"{quiz.tolerance:g}"), style="dim"))
        self._say("given", self.words.inputs(quiz))

    def tell(self, event: str, question: Question, detail: object = None) -> None:
        m, w = self.messages, self.words
        if event == "part":
            self._say("heading", w.heading(detail))
        elif event == "question":
            self._say("question", w.prompt(question))
        elif event == "hint":
            self._say("hint", m("quiz.hint", text=w.hint(question, detail)))
        elif event == "skipped":
            self._say("skipped", m("quiz.skipped", answer=w.answer(question), reason=w.reason(question)))
        elif event == "answer":
            self._say("answer", m("quiz.answer", answer=w.answer(question), reason=w.reason(question)))
        elif event == "given":
            self._say("given", w.given(question))
        elif event == "unreadable":
            self._say("unreadable", m("quiz.unreadable", error=detail))
        else:  # right, wrong, stopped
            self._say(event, m(f"quiz.{event}"))

    def _say(self, kind: str, text: str) -> None:
        self.console.print(Text(text, style=_STYLES.get(kind)))

    def ask(self, question: Question | None = None) -> str | None:
        prompt = self.messages("quiz.prompt")
        if self.editable:
            return self._edited(prompt)
        self.console.print(Text(prompt, style="bold"), end="")
        self.console.file.flush()
        try:
            line = read_answer(output.stdin_or_error(*_CLOSED))  # bounded: never more than the answer limit
        except UnicodeDecodeError:
            raise BackpropError("an answer on standard input is not UTF-8 text") from None
        if not line:
            self.console.print()
            return None
        if not self.interactive:
            self.console.print(line.rstrip("\n"), markup=False, highlight=False)  # a readable transcript
        return line.rstrip("\n")

    def _edited(self, prompt: str) -> str | None:
        """One answer typed at a terminal, editable with the arrow keys (readline draws the prompt)."""
        self.console.file.flush()
        try:
            line = input(prompt)
        except EOFError:  # Ctrl-D
            self.console.print()
            return None
        except UnicodeDecodeError:
            raise BackpropError("an answer typed at the terminal is not UTF-8 text") from None
        if len(line) > limits.MAX_ANSWER_CHARS:
            raise answer_too_long()
        return line

    # ------------------------------------------------------------ the report
    def finish(self, result: QuizResult) -> None:
        """The score on the dialogue's stream; with --format json, the record on stdout too."""
        self.summary(result)
        if self.to_json:
            output.write_json(self.json_summary(result))

    def summary(self, result: QuizResult) -> None:
        m, w = self.messages, self.words
        self.console.print()
        if result.end_of_input and result.answers_read == 0:
            self.console.print(Text(m("quiz.no_answers"), style="bold"))
            return
        asked = len(result.outcomes)
        percent = round(100 * result.right / asked) if asked else 0
        self.console.print(Text(m("quiz.score", right=result.right, total=asked, percent=percent), style="bold"))
        missed = [o for o in result.outcomes if not o.right]
        if missed:
            self.console.print(Text(m("quiz.missed_heading"), style="bold"))
            for outcome in missed:
                q = outcome.question
                self.console.print(Text("  " + m("quiz.missed_item", question=w.prompt(q), answer=w.answer(q),
                                                 reason=w.reason(q))))
        elif asked == len(self.quiz.questions) and asked:
            self.console.print(Text(m("quiz.perfect"), style="green"))

    def json_summary(self, result: QuizResult) -> str:
        w = self.words

        def record(o):
            return {"kind": o.question.kind, "question": w.prompt(o.question), "answer": w.answer(o.question),
                    "right": o.right, "attempts": o.attempts, "skipped": o.skipped, "typed": list(o.typed)}

        unfinished = result.unfinished
        data = {
            "level": self.quiz.level,
            "inputs": {name: exact_string(value) for name, value in self.quiz.inputs},
            "questions": len(self.quiz.questions),
            "asked": len(result.outcomes),
            "right": result.right,
            "stopped": result.stopped,
            "answers_read": result.answers_read,
            "steps": [record(o) for o in result.outcomes],
            "unfinished": None if unfinished is None else {
                "kind": unfinished.question.kind, "question": w.prompt(unfinished.question),
                "typed": list(unfinished.typed)},
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
