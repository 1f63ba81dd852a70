"""The one error type: a message, where it points, and a hint.

Every stage raises `BackpropError` for a user's mistake; only the CLI turns it
into text on stderr and an exit code (`EXIT_USAGE`).
"""

from __future__ import annotations

from typing import NamedTuple

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2


class Span(NamedTuple):
    """Character offsets [start, end) into the text the error is about. (A named tuple: immutable
    and hashable like a frozen dataclass, and made three times faster — a 100,000-node program
    has some 130,000 of them.)"""

    start: int
    end: int


class BackpropError(Exception):
    """A user's mistake: bad syntax, unknown name, bad binding, domain error, limit."""

    def __init__(
        self,
        message: str,
        span: Span | None = None,
        hint: str | None = None,
        source: str | None = None,
        origin: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint
        self.source = source  # the text `span` points into
        self.origin = origin  # what that text is: "program", "--at", "--expect", a file name

    def located(self, source: str, origin: str | None = None) -> "BackpropError":
        """Attach the text the span refers to, unless already attached."""
        if self.source is None:
            self.source = source
            self.origin = origin if origin is not None else self.origin
        return self

    def caret_lines(self) -> list[str]:
        """The offending line with a caret underline, as shown under the message. Control and
        bidirectional characters in it are shown as escapes (`\\x1b`), the caret moved to match."""
        from backprop_cli.output import visible

        if self.source is None or self.span is None:
            return []
        text = self.source
        start = max(0, min(self.span.start, len(text)))
        end = max(start + 1, min(self.span.end, len(text)))
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", start)
        if line_end == -1:
            line_end = len(text)
        line = text[line_start:line_end]
        column = start - line_start
        width = max(1, min(end, line_end) - start)
        # Very long lines (a 4 MB one-liner) are cut to a window around the caret.
        window = 100
        prefix = ""
        if len(line) > window:
            lo = max(0, column - window // 2)
            hi = min(len(line), lo + window)
            prefix = "…" if lo > 0 else ""
            line = prefix + line[lo:hi] + ("…" if hi < len(line) else "")
            column = column - lo + len(prefix)
            width = min(width, window)
        lines = []
        line_number = text.count("\n", 0, line_start) + 1
        if "\n" in text or self.origin not in (None, "program"):
            from backprop_cli.i18n import translate_error

            where = translate_error(f"{self.origin or 'program'}, line {line_number}, column {column + 1 - len(prefix)}")
            lines.append(f"  --> {visible(where)}")
        line = line.replace("\t", " ")
        before, marked = visible(line[:column]), visible(line[column:column + width])
        lines.append("  " + visible(line))
        lines.append("  " + " " * len(before) + "^" * max(1, len(marked)))
        return lines

    def render(self) -> str:
        """The message as shown on stderr; user text in it made visible (SPEC §7)."""
        from backprop_cli.output import visible

        from backprop_cli.i18n import translate_error

        # The sentences in the run's language where the catalogue knows them (i18n [error]); the
        # prefixes stay `error:` and `hint:` in every language, for scripts.
        parts = [f"error: {visible(translate_error(self.message))}"]
        parts.extend(self.caret_lines())
        if self.hint:
            parts.append(f"hint: {visible(translate_error(self.hint, hint=True))}")
        return "\n".join(parts)
