"""The quiz in a terminal or a pipe: prompts and feedback, and the final score."""

from __future__ import annotations

import json
import sys

from rich.text import Text

from backprop_cli import output
from backprop_cli.errors import BackpropError
from backprop_cli.graph import Graph
from backprop_cli.i18n import Messages
from backprop_cli.quiz import QuizResult, read_answer

_STYLES = {"heading": "bold underline", "question": "bold", "right": "green", "wrong": "red", "hint": "yellow", "answer": "cyan",
           "given": "dim", "unreadable": "red", "stopped": "dim"}


class QuizConsole:
    def __init__(self, messages: Messages, to_stderr: bool = False):
        self.messages = messages
        self.console = output.console(stderr=to_stderr)  # user text in it is made visible
        self.interactive = sys.stdin is not None and sys.stdin.isatty()

    def intro(self, graph: Graph, tolerance: float) -> None:
        program = "; ".join(f"{name} = {graph.nodes[index].text}" for name, index, _ in graph.statements)
        program = program if len(program) <= 60 else program[:59] + "…"
        self.console.print(Text(self.messages("quiz.intro", program=program, tol=f"{tolerance:g}"), style="dim"))

    def say(self, kind: str, text: str) -> None:
        self.console.print(Text(text, style=_STYLES.get(kind)))

    def ask(self, prompt: str) -> str | None:
        self.console.print(Text(prompt, style="bold"), end="")
        self.console.file.flush()
        try:
            # bounded: never more than the answer limit
            line = read_answer(output.stdin_or_error("the quiz reads the answers from standard input, which is closed",
                                                     "run it in a terminal, or pipe the answers in"))
        except UnicodeDecodeError:
            raise BackpropError("an answer on standard input is not UTF-8 text") from None
        if not line:
            self.console.print()
            return None
        if not self.interactive:
            self.console.print(line.rstrip("\n"), markup=False, highlight=False)  # a readable transcript
        return line.rstrip("\n")

    def summary(self, result: QuizResult, total: int) -> None:
        m = self.messages
        asked = len(result.outcomes)
        percent = round(100 * result.right / asked) if asked else 0
        self.console.print()
        self.console.print(Text(m("quiz.score", right=result.right, total=asked, percent=percent), style="bold"))
        missed = [o for o in result.outcomes if not o.right]
        if missed:
            self.console.print(Text(m("quiz.missed_heading"), style="bold"))
            for outcome in missed:
                q = outcome.question
                self.console.print(Text("  " + m("quiz.missed_item", question=q.prompt, answer=q.answer_text,
                                                 reason=q.reason)))
        elif asked == total and asked:
            self.console.print(Text(m("quiz.perfect"), style="green"))

    def json_summary(self, result: QuizResult, total: int, level: str) -> str:
        data = {
            "level": level,
            "questions": total,
            "asked": len(result.outcomes),
            "right": result.right,
            "stopped": result.stopped,
            "steps": [{"kind": o.question.kind, "question": o.question.prompt, "answer": o.question.answer_text,
                       "right": o.right, "attempts": o.attempts, "skipped": o.skipped} for o in result.outcomes],
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
