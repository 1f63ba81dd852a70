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
from backprop_cli.graph import NodeKind
from backprop_cli.i18n import Messages, translate_error
from backprop_cli.quiz import DELTA, Question, Quiz, QuizResult, Trap, answer_too_long, read_answer
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
from backprop_cli.render.tensor_text import edge_rule, json_entries, tensor_text
from backprop_cli.render.tensor_text import number_entry_text as tensor_entry_text
from backprop_cli.shapes import shape_text
from backprop_cli.tensors import entry_text

_STYLES = {"heading": "bold underline", "question": "bold", "right": "green", "wrong": "red", "hint": "yellow",
           "answer": "cyan", "given": "dim", "unreadable": "red", "stopped": "dim", "skipped": "cyan"}
_CLOSED = ("the quiz reads the answers from standard input, which is closed",
           "run it in a terminal, or pipe the answers in")


class Words:
    """A quiz's questions in words: prompt, answer, hint, reason, and what is stated once settled."""

    intro_key = "quiz.intro"

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
            return local_formula_text(self.trace, self.trace.steps[q.step], self.m)
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

    def closer(self, q: Question) -> str:
        """A second hint: the working with the numbers in it, short of the answer."""
        m, node = self.m, self.trace.node(q.node)
        if q.kind == "value":
            graph = self.trace.graph
            uses = [graph.nodes[a] for a in node.args if graph.nodes[a].name or graph.nodes[a].kind is not NodeKind.CONSTANT]
            values = ", ".join(f"{node_label(n)} = {value_text(self.trace.values[n.index])}" for n in uses)
            return m("quiz.closer_value", text=node.text, values=values)
        if q.kind == "sum":
            return m("quiz.closer_sum", terms=path_terms(self.trace, list(q.paths)))
        step = self.trace.steps[q.step]
        if q.kind == "product":
            return m("quiz.closer_product", upstream=operand(number_text(step.upstream)),
                     local=operand(number_text(step.local)))
        return m("quiz.reason_local_formula", rule=m.rule(self.trace.rule_name(step), step.position),
                 derivative=derivative(self.trace.node(step.consumer), node), formula=local_formula_text(self.trace, step, self.m))

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
        formula = local_formula_text(self.trace, step, self.m)
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

    def unreadable(self, q: Question, error: str) -> str:
        return self.m("quiz.unreadable", error=error)

    def inputs_json(self, quiz: Quiz) -> dict:
        return {name: exact_string(value) for name, value in quiz.inputs}


def words_for(quiz: Quiz, messages: Messages) -> Words:
    """The wording of a quiz: a tensor program's has its own (TensorWords)."""
    return TensorWords(quiz, messages) if quiz.tensor else Words(quiz, messages)


class TensorWords(Words):
    """A tensor program's questions in words: values as nested lists, shapes, and each path's rule
    over δ, as `render.tensor_text` words an edge for the walkthrough (the same formula, the same
    shape arithmetic). The hints come from the shapes: which product of δ and the other operand
    has the variable's shape."""

    intro_key = "quiz.intro_tensor"

    def inputs(self, quiz: Quiz) -> str:
        return self.m("quiz.inputs", values=", ".join(f"{name} = {tensor_text(value)}" for name, value in quiz.inputs))

    def inputs_json(self, quiz: Quiz) -> dict:
        return {name: json_entries(value, "exact") for name, value in quiz.inputs}

    # ------------------------------------------------------------ pieces
    def _gradient(self, q: Question, entry: bool = False) -> str:
        label = derivative(self.out, self.trace.node(q.node))
        return label + entry_text(q.entry) if entry and q.entry is not None else label

    def _name(self, q: Question) -> str:
        return grouped(node_label(self.trace.node(q.node)))

    def _shape(self, q: Question) -> str:
        return shape_text(self.trace.shape(q.node))

    def _delta(self, step_index: int) -> str:
        """δ of a path: ∂J/∂(W2 @ h), the gradient of the node the path goes into."""
        return derivative(self.out, self.trace.node(self.trace.steps[step_index].consumer))

    def _delta_shape(self, step_index: int) -> str:
        return shape_text(self.trace.shape(self.trace.steps[step_index].consumer))

    def _rule(self, step_index: int):
        return edge_rule(self.trace, self.trace.steps[step_index])

    def _consumer(self, step_index: int) -> str:
        return node_label(self.trace.node(self.trace.steps[step_index].consumer))

    def _via(self, q: Question) -> list[str]:
        """The paths' consumers; where one consumer takes the node twice (h * h), which argument."""
        consumers = [self.trace.steps[i].consumer for i in q.paths]
        labels = super()._via(q)
        return [self.m("quiz.via_argument", via=label, position=self.trace.steps[i].position + 1)
                if consumers.count(consumer) > 1 else label
                for i, consumer, label in zip(q.paths, consumers, labels)]

    def _work(self, q: Question) -> str:
        """The gradient from its rules and δ's values: `outer(δ, h) with δ = [-1.156186098]`."""
        m = self.m
        paths = [i for i in q.paths if self.trace.steps[i].local.rule != "literal"]
        items = [m("quiz.rule_with_delta", formula=self._rule(i).formula,
                   delta=tensor_text(self.trace.steps[i].upstream)) for i in paths]
        if len(q.paths) == 1 and items:
            return items[0]
        via = dict(zip(q.paths, self._via(q)))
        return "; ".join(m("quiz.rule_path", via=via[i], rule=item) for i, item in zip(paths, items))

    # ------------------------------------------------------------ the questions
    def prompt(self, q: Question) -> str:
        m, node = self.m, self.trace.node(q.node)
        if q.kind == "value":
            if q.entry is not None:
                return m("quiz.ask_value_entry", name=node.name, text=node.text, shape=self._shape(q),
                         entry=node.name + entry_text(q.entry))
            return m("quiz.ask_value_tensor", name=node.name, text=node.text, shape=self._shape(q))
        if q.kind == "shape":
            return m("quiz.ask_shape", gradient=self._gradient(q))
        if q.kind == "rule":
            values = dict(gradient=self._gradient(q), delta=self._delta(q.step), delta_shape=self._delta_shape(q.step))
            if len(q.paths) == 1:
                return m("quiz.ask_rule", **values)
            via = dict(zip(q.paths, self._via(q)))[q.step]
            return m("quiz.ask_rule_path", k=q.paths.index(q.step) + 1, n=len(q.paths), via=via, **values)
        if q.entry is not None:
            return m("quiz.ask_gradient_entry", gradient=self._gradient(q), count=len(q.expected.entries.flat),
                     entry=self._gradient(q, entry=True))
        return m("quiz.ask_gradient", gradient=self._gradient(q))

    def answer(self, q: Question) -> str:
        if q.kind == "shape":
            return shape_text(q.expected)
        if q.kind == "rule":
            return self._rule(q.step).formula
        if q.entry is not None:
            return tensor_entry_text(q.expected.entries[q.entry])
        return tensor_text(q.expected)

    def closer(self, q: Question) -> str:
        return self.hint(q)  # a tensor question's hint already shows the working over δ

    def hint(self, q: Question, trap: Trap | None = None) -> str:
        m = self.m
        kind = trap.hint if trap is not None else None
        if kind == "error":
            return m("quiz.hint_error", error=translate_error(trap.error), hint=self._hint(q))
        if kind == "sign":
            return m("quiz.hint_sign_then", hint=self._hint(q))
        if kind == "entry_transposed":
            i, j = q.entry
            return m("quiz.hint_entry_transposed", swapped=entry_text((j, i)), entry=self._gradient(q, entry=True),
                     row=i, column=j)
        if kind == "transposed":
            if q.kind == "shape":
                return m("quiz.hint_shape_transposed", gradient=self._gradient(q), name=self._name(q))
            if q.kind == "value":
                return m("quiz.hint_value_transposed")
            return m("quiz.hint_transposed_gradient", gradient=self._gradient(q), name=self._name(q))
        if kind == "shape":
            given, shape = shape_text(trap.shape), shape_text(() if q.entry is not None else self.trace.shape(q.node))
            if q.kind == "value":
                return m("quiz.hint_value_shape", given=given, shape=shape)
            if q.kind == "rule":
                return m("quiz.hint_rule_shape", given=given, gradient=self._gradient(q), shape=shape,
                         hint=self._hint(q))
            return m("quiz.hint_gradient_shape", given=given, gradient=self._gradient(q, entry=True), shape=shape)
        if kind == "upstream":
            return m("quiz.hint_shape_upstream", consumer=self._consumer(trap.step), gradient=self._gradient(q),
                     name=self._name(q))
        if kind == "one_path":
            via = dict(zip(q.paths, self._via(q)))
            return m("quiz.hint_one_path", have=via[trap.path],
                     missing=", ".join(label for path, label in via.items() if path != trap.path))
        if kind == "no_delta":
            return m("quiz.hint_rule_no_delta", delta=self._delta(q.step))
        if kind == "no_transpose":
            return m("quiz.hint_rule_no_transpose", other=self._other(q.step))
        return self._hint(q)

    def _hint(self, q: Question) -> str:
        """The question's own hint, whatever the answer was."""
        m, node = self.m, self.trace.node(q.node)
        if q.kind == "value":
            if q.entry is not None:
                return m("quiz.hint_value_entry", entry=node.name + entry_text(q.entry), text=node.text)
            return m("quiz.hint_value", text=node.text)
        if q.kind == "shape":
            return m("quiz.hint_shape", gradient=self._gradient(q), name=self._name(q))
        if q.kind == "gradient":
            paths = "_paths" if len(q.paths) > 1 else ""
            if q.entry is not None:
                return m(f"quiz.hint_gradient_entry{paths}", entry=self._gradient(q, entry=True),
                         index=entry_text(q.entry), work=self._work(q))
            return m(f"quiz.hint_gradient{paths}", gradient=self._gradient(q), work=self._work(q))
        return self._rule_hint(q.step)

    def _other(self, step_index: int) -> str:
        step = self.trace.steps[step_index]
        consumer = self.trace.node(step.consumer)
        return node_label(self.trace.node(consumer.args[1 - step.position]), 24)

    def _rule_hint(self, step_index: int) -> str:
        """From the shapes: which product of δ and the other operand has the variable's shape."""
        m, trace = self.m, self.trace
        step = trace.steps[step_index]
        rule = self._rule(step_index)
        name = grouped(node_label(trace.node(step.source)))
        shape, delta_shape = shape_text(trace.shape(step.source)), self._delta_shape(step_index)
        consumer = self._consumer(step_index)
        if rule.name in ("matmul", "outer"):
            other = self._other(step_index)
            other_node = trace.node(step.consumer).args[1 - step.position]
            other_shape = shape_text(trace.shape(other_node))
            if rule.formula.startswith("outer("):
                return m("quiz.hint_rule_outer", delta_shape=delta_shape, other=other, other_shape=other_shape,
                         shape=shape)
            return m("quiz.hint_rule_matmul", other=other, other_shape=other_shape, delta_shape=delta_shape,
                     name=name, shape=shape)
        if rule.name == "entrywise":
            if rule.formula in (DELTA, "-" + DELTA):
                return m("quiz.hint_rule_term", name=name, consumer=consumer)
            return m("quiz.hint_rule_entrywise", consumer=consumer,
                     derivative=derivative(trace.node(step.consumer), trace.node(step.source)))
        if rule.name == "broadcast":
            return m("quiz.hint_rule_broadcast", name=name, shape=shape, consumer=consumer, grown=delta_shape
                     if trace.shape(step.consumer) else shape_text(step.local.local.shape))
        if rule.name == "transpose":
            return m("quiz.hint_rule_transpose", consumer=consumer, name=name, delta_shape=delta_shape, shape=shape)
        if rule.name == "sum":
            return m("quiz.hint_rule_sum", name=name, consumer=consumer, shape=shape)
        if rule.name == "mean":
            return m("quiz.hint_rule_mean", name=name, consumer=consumer, count=step.local.count)
        if rule.name == "softmax":
            return m("quiz.hint_rule_softmax", s=consumer)
        return m("quiz.hint_rule_log_softmax", name=name)

    def reason(self, q: Question) -> str:
        m, node = self.m, self.trace.node(q.node)
        if q.kind == "value":
            return m("quiz.reason_value", text=node.text, answer=self.answer(q))
        if q.kind == "shape":
            return m("quiz.reason_shape", gradient=self._gradient(q), name=self._name(q))
        if q.kind == "rule":
            rule = self._rule(q.step)
            if rule.name == "entrywise" and rule.formula in (DELTA, "-" + DELTA):
                return m("tensor.plus")  # a term of a sum: the gradient passes on
            return m("quiz.reason_rule", rule=m(f"tensor.{rule.name}"), shapes=rule.shapes)
        paths = "_paths" if len(q.paths) > 1 else ""
        if q.entry is not None:
            return m(f"quiz.reason_gradient_entry{paths}", index=entry_text(q.entry), work=self._work(q))
        return m("quiz.rule_paths", paths=self._work(q)) if paths else self._work(q)

    def given(self, q: Question) -> str:
        m = self.m
        if q.kind == "value":
            return m("quiz.given_value", name=self.trace.node(q.node).name, answer=tensor_text(q.expected))
        if q.kind == "rule":
            formula, delta = self._rule(q.step).formula, self._delta(q.step)
            if len(q.paths) == 1:
                return m("quiz.given_rule", gradient=self._gradient(q), formula=formula, delta=delta)
            return m("quiz.given_rule_path", via=dict(zip(q.paths, self._via(q)))[q.step], formula=formula,
                     delta=delta)
        return m("quiz.given_gradient", gradient=self._gradient(q), answer=tensor_text(q.expected))

    def unreadable(self, q: Question, error: str) -> str:
        what = {"shape": "quiz.what_shape", "rule": "quiz.what_rule"}.get(q.kind, "quiz.what_value")
        return self.m("quiz.unreadable_tensor", what=self.m(what), error=translate_error(error))


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
        self.quiz, self.words = quiz, words_for(quiz, self.messages)
        graph = quiz.trace.graph
        program = "; ".join(f"{name} = {graph.nodes[index].text}" for name, index, _ in graph.statements)
        program = program if len(program) <= 60 else program[:59] + "…"
        self.console.print(Text(self.messages(self.words.intro_key, program=program, tol=f"{quiz.tolerance:g}"),
                                style="dim"))
        self._say("given", self.words.inputs(quiz))

    def tell(self, event: str, question: Question, detail: object = None) -> None:
        m, w = self.messages, self.words
        if event == "part":
            self._say("heading", w.heading(detail))
        elif event == "question":
            self._say("question", w.prompt(question))
        elif event == "hint":
            self._say("hint", m("quiz.hint", text=w.hint(question, detail)))
        elif event == "closer":
            self._say("hint", m("quiz.closer", text=w.closer(question)))
        elif event == "skipped":
            self._say("skipped", m("quiz.skipped", answer=w.answer(question), reason=w.reason(question)))
        elif event == "answer":
            self._say("answer", m("quiz.answer", answer=w.answer(question), reason=w.reason(question)))
        elif event == "given":
            self._say("given", w.given(question))
        elif event == "unreadable":
            self._say("unreadable", w.unreadable(question, detail))
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
            "inputs": w.inputs_json(self.quiz),
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
