"""Text → syntax tree, with a small hand-written grammar.

Nothing here evaluates anything: the tokenizer accepts only the characters of
the language, the parser only its grammar, and every node keeps its source
span for error carets. Expressions are parsed by operator precedence with explicit
stacks, never by recursion: nesting is bounded by `MAX_NESTING` (500 levels) alone,
and chains such as `x+x+...+x` of any length are loops. A well-formed program is read
by a fast path (`_fast_program`: one regular expression, token strings, one loop) that
builds the same tree; anything else is read by `_Parser`, which words every error.

    program   := statement ((";" | newline) statement)*
    statement := NAME "=" expr | expr              (a bare expression only last)
    expr      := term (("+" | "-") term)*
    term      := unary (("*" | "/" | "@") unary)*
    unary     := ("-" | "+") unary | power
    power     := postfix (("^" | "**") unary)?    (right-associative; -x^2 = -(x^2))
    postfix   := primary (".T")*                  (a transpose binds tightest: W.T @ x)
    primary   := NUMBER | NAME | NAME "(" expr ("," expr)* ")" | "(" expr ")"
               | "[" expr ("," expr)* "]"         (a vector; a list of lists is a matrix)
"""

from __future__ import annotations

import dataclasses
import difflib
import gc
import re
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator, Union

from backprop_cli import limits
from backprop_cli.errors import BackpropError, Span
from backprop_cli.primitives import CONSTANTS, FUNCTIONS, PRIMITIVES, TENSOR_FUNCTIONS

# ---------------------------------------------------------------- syntax tree
#
# Not frozen, as graph.Node: a generated network is 200,000 of these, and a frozen dataclass
# takes three times as long to make. Nothing changes one after the parse (`dataclasses.replace`).


@dataclass(slots=True)
class Number:
    value: Fraction
    span: Span


@dataclass(slots=True)
class Name:
    id: str
    span: Span


@dataclass(slots=True)
class Call:
    function: str
    args: tuple["Expr", ...]
    span: Span
    name_span: Span


@dataclass(slots=True)
class ArrayLiteral:
    """`[1, 2]` or `[[1, 0], [0, 1]]`: items are entries, or rows (array literals themselves)."""

    items: tuple["Expr", ...]
    span: Span


@dataclass(slots=True)
class BinaryOp:
    op: str  # "add" | "sub" | "mul" | "div" | "pow" | "matmul"
    left: "Expr"
    right: "Expr"
    span: Span


@dataclass(slots=True)
class UnaryOp:
    op: str  # "neg" | "pos" | "transpose" (x.T)
    operand: "Expr"
    span: Span


Expr = Union[Number, Name, Call, BinaryOp, UnaryOp, ArrayLiteral]


@dataclass(frozen=True)
class Statement:
    target: str | None  # None for a bare expression
    target_span: Span | None
    expr: Expr
    span: Span


# ---------------------------------------------------------------- tokens


@dataclass(slots=True)
class Token:
    kind: str  # "number" "name" "op" "attr" "(" ")" "[" "]" "," "=" "sep" "end"
    text: str
    start: int
    end: int

    @property
    def span(self) -> Span:
        return Span(self.start, self.end)


_OPERATOR_CHARS = "+-*/^"
_LOOKALIKES = {
    "−": "-", "–": "-", "—": "-", "×": "*", "·": "*", "∙": "*", "÷": "/",
    "²": "^2", "³": "^3", "（": "(", "）": ")", "，": ",", "；": ";", "＝": "=",
}


def _unexpected_character(text: str, i: int) -> BackpropError:
    char = text[i]
    name = unicodedata.name(char, f"U+{ord(char):04X}")
    hint = None
    if char in _LOOKALIKES:
        hint = f"write '{_LOOKALIKES[char]}' instead"
    elif unicodedata.normalize("NFKC", char) != char and unicodedata.normalize("NFKC", char).isascii():
        hint = f"this looks like '{unicodedata.normalize('NFKC', char)}'; type it in plain ASCII"
    elif unicodedata.decimal(char, None) is not None:
        hint = f"write the ASCII digit {unicodedata.decimal(char)}"
    elif char in "\"'":
        hint = "the language has no strings; names and numbers only"
    elif char == "{":
        hint = "use round brackets ( ) for grouping, [ ] for a vector or matrix"
    elif char.isalpha():
        hint = "names are ASCII letters, digits and _"
    shown = char if char.isprintable() else f"U+{ord(char):04X}"
    return BackpropError(f"unexpected character '{shown}' ({name})", Span(i, i + 1), hint)


def _number_token(text: str, i: int) -> Token:
    start = i
    n = len(text)
    while i < n and text[i].isdigit() and text[i].isascii():
        i += 1
    if i < n and text[i] == ".":
        i += 1
        while i < n and text[i].isdigit() and text[i].isascii():
            i += 1
    if i < n and text[i] in "eE":
        j = i + 1
        if j < n and text[j] in "+-":
            j += 1
        if j < n and text[j].isdigit() and text[j].isascii():
            while j < n and text[j].isdigit() and text[j].isascii():
                j += 1
            i = j
    if text[start:i] == ".":
        raise BackpropError("a '.' must belong to a number like 0.5", Span(start, i))
    if i - start > limits.MAX_NUMBER_LITERAL_CHARS:
        raise BackpropError(
            f"the number has {i - start:,} characters; the limit is {limits.MAX_NUMBER_LITERAL_CHARS:,}",
            Span(start, i),
        )
    if i < n and text[i] == "_":
        raise BackpropError("digit separators '_' are not allowed in numbers", Span(i, i + 1),
                            hint="write the digits without '_'")
    if i < n and text[i].isalpha() and text[i].isascii():
        j = i
        while j < n and (text[j].isalnum() or text[j] == "_") and text[j].isascii():
            j += 1
        raise BackpropError(
            f"a number cannot run into a name: '{text[start:j]}'",
            Span(start, j),
            hint=f"write {text[start:i]}*{text[i:j]} to multiply",
        )
    return Token("number", text[start:i], start, i)


# The common tokens in one regular expression; numbers and everything unusual take the
# character-by-character path below, which words the errors.
_TOKEN = re.compile(r"""
    (?P<space>[ \t\r\f\v]+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<power>\*\*)
  | (?P<op>[-+*/^@])
  | (?P<attr>\.[A-Za-z_][A-Za-z0-9_]*)
  | (?P<bracket>[()\[\],=])
  | (?P<sep>[\n;])
  | (?P<comment>\#[^\n]*)
""", re.VERBOSE)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    append = tokens.append
    i, n = 0, len(text)
    depth = 0  # newlines inside brackets do not end a statement
    match_token = _TOKEN.match
    while i < n:
        match = match_token(text, i)
        if match is None:
            c = text[i]
            if c.isascii() and (c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit())):
                token = _number_token(text, i)
                append(token)
                i = token.end
                continue
            raise _unexpected_character(text, i)
        kind, j = match.lastgroup, match.end()
        if kind == "name":
            if j - i > limits.MAX_NAME_LENGTH:
                raise BackpropError(
                    f"the name has {j - i:,} characters; the limit is {limits.MAX_NAME_LENGTH}",
                    Span(i, j),
                )
            append(Token("name", match.group(), i, j))
        elif kind == "op":
            append(Token("op", match.group(), i, j))
        elif kind == "bracket":
            c = match.group()
            if c in "([":
                depth += 1
            elif c in ")]":
                depth = max(0, depth - 1)
            append(Token(c, c, i, j))
        elif kind == "sep":
            if depth == 0 or text[i] == ";":
                append(Token("sep", text[i], i, j))
        elif kind == "attr":
            append(Token("attr", match.group(), i, j))
        elif kind == "power":
            append(Token("op", "^", i, j))
        i = j  # spaces and comments make no token
    append(Token("end", "", n, n))
    return tokens


def parse_number(text: str, span: Span) -> Fraction:
    """A decimal literal as an exact fraction: 0.1 is 1/10, 2e-3 is 1/500."""
    mantissa, _, exponent_text = text.lower().partition("e")
    whole, _, fraction_digits = mantissa.partition(".")
    exponent = int(exponent_text) if exponent_text else 0
    digits = len(whole.lstrip("0")) + len(fraction_digits)
    if abs(exponent) > limits.MAX_EXACT_DIGITS or digits > limits.MAX_EXACT_DIGITS:
        raise BackpropError(
            f"the number {text[:40]}{'…' if len(text) > 40 else ''} is too large or too precise; "
            f"exact numbers are limited to {limits.MAX_EXACT_DIGITS:,} digits",
            span,
        )
    numerator = int(whole or "0") * 10 ** len(fraction_digits) + int(fraction_digits or "0")
    denominator = 10 ** len(fraction_digits)
    if exponent >= 0:
        numerator *= 10**exponent
    else:
        denominator *= 10**-exponent
    return Fraction(numerator, denominator)  # one Fraction: a network's 50,000 weights go through here


# ---------------------------------------------------------------- parser

_BINARY = {"+": "add", "-": "sub", "*": "mul", "/": "div", "@": "matmul"}


def suggest(name: str, candidates) -> str | None:
    matches = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.7)
    return matches[0] if matches else None


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.depth = 0

    # -- helpers
    @property
    def token(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def describe(self, token: Token) -> str:
        if token.kind == "end":
            return "the end of the program"
        if token.kind == "sep":
            return "the end of the line" if token.text == "\n" else "';'"
        return f"'{token.text}'"

    def expect(self, kind: str, what: str) -> Token:
        if self.token.kind != kind:
            raise BackpropError(f"expected {what}, found {self.describe(self.token)}", self.token.span)
        return self.advance()

    def enter(self, at: Token) -> None:
        self.depth += 1
        if self.depth > limits.MAX_NESTING:
            raise BackpropError(
                f"the expression nests more than {limits.MAX_NESTING} levels deep "
                f"(brackets, calls, signs and powers); the limit is {limits.MAX_NESTING}",
                at.span,
                hint="split it into several statements: h = ...; y = f(h)",
            )

    # -- grammar
    def program(self) -> list[Statement]:
        statements: list[Statement] = []
        while True:
            while self.token.kind == "sep":
                self.advance()
            if self.token.kind == "end":
                break
            statement = self.statement()
            if statements and statements[-1].target is None:
                last = statements[-1]
                raise BackpropError(
                    "a bare expression can only be the last statement",
                    last.span,
                    hint="give it a name: f = ...",
                )
            statements.append(statement)
            if len(statements) > limits.MAX_STATEMENTS:
                raise BackpropError(
                    f"the program has more than {limits.MAX_STATEMENTS:,} statements; "
                    f"the limit is {limits.MAX_STATEMENTS:,}",
                    statement.span,
                )
            if self.token.kind not in ("sep", "end"):
                raise self.unexpected_after_expression()
        if not statements:
            raise BackpropError("the program is empty", Span(0, len(self.text)),
                                hint='write an expression, e.g. "y = w*x + b; L = (y - t)^2/2"')
        return statements

    def unexpected_after_expression(self) -> BackpropError:
        token = self.token
        if token.kind == "=":
            return BackpropError("only a single name can be assigned", token.span,
                                 hint="write name = expression")
        if token.kind in ("name", "number", "("):
            return BackpropError(f"expected an operator before {self.describe(token)}", token.span,
                                 hint="multiplication needs an explicit '*', e.g. 2*x")
        if token.kind in (")", "]"):
            return BackpropError(f"unmatched '{token.kind}'", token.span)
        if token.kind == "[":
            return BackpropError("expected an operator before '['", token.span,
                                 hint="the language has no indexing; --entry W1[0,1] shows one entry's chain")
        return BackpropError(f"unexpected {self.describe(token)}", token.span)

    def statement(self) -> Statement:
        first = self.token
        if first.kind == "name" and self.tokens[self.pos + 1].kind == "=":
            self.advance()
            self.advance()
            if self.token.kind in ("sep", "end"):
                raise BackpropError(f"'{first.text}' is assigned nothing", self.token.span,
                                    hint=f"write {first.text} = expression")
            expr = self.expr()
            return Statement(first.text, first.span, expr, Span(first.start, _span(expr).end))
        expr = self.expr()
        return Statement(None, None, expr, _span(expr))

    def expr(self) -> Expr:
        """One expression, by operator precedence with explicit stacks: no recursion, so
        the depth of the input's nesting is bounded by MAX_NESTING alone, not by Python's
        stack. It reads exactly the grammar above (and words its errors the same way)."""
        operands: list[Expr] = []
        pending: list[_Pending] = []  # operators waiting for their right operand, and open brackets
        while True:
            # ---- an operand is expected: prefix signs, then a number, a name, a call or "("
            token = self.token
            if token.kind == "op" and token.text in "+-":
                self.advance()
                self.enter(token)
                pending.append(_Pending("neg" if token.text == "-" else "pos", _PREFIX, token))
                continue
            if token.kind == "(":
                self.advance()
                self.enter(token)
                if self.token.kind == ")":
                    raise BackpropError("empty brackets", Span(token.start, self.token.end))
                pending.append(_Pending("(", 0, token))
                continue
            if token.kind == "[":
                self.advance()
                self.enter(token)
                if self.token.kind == "]":
                    raise BackpropError("an empty list: a vector needs at least one entry",
                                        Span(token.start, self.token.end))
                pending.append(_Pending("[", 0, token, args=[]))
                continue
            if token.kind == "name" and self.tokens[self.pos + 1].kind == "(":
                self.advance()
                self.check_function(token)
                open_paren = self.advance()
                self.enter(open_paren)
                call = _Pending("call", 0, open_paren, name=token, args=[])
                if self.token.kind != ")":
                    pending.append(call)
                    continue
                operands.append(self.close_call(call))  # no arguments
            else:
                operands.append(self.atom())
            # ---- an operand is complete: operators, closing brackets and commas follow
            while True:
                token = self.token
                if token.kind == "attr":
                    if token.text != ".T":
                        raise BackpropError(f"unknown attribute '{token.text}'", token.span,
                                            hint="x.T is the transpose; the language has no other attributes")
                    self.advance()
                    inner = operands.pop()
                    operands.append(UnaryOp("transpose", inner, Span(inner.span.start, token.end)))
                    continue
                if token.kind == "op" and token.text == "^":
                    self.advance()
                    self.enter(token)
                    pending.append(_Pending("pow", _POWER, token))  # right-associative: nothing to reduce
                    break
                if token.kind == "op":  # + - * /
                    precedence = _SUM if token.text in "+-" else _PRODUCT
                    self.reduce(operands, pending, precedence)
                    self.advance()
                    pending.append(_Pending(_BINARY[token.text], precedence, token))
                    break
                self.reduce(operands, pending, 0)  # the innermost open bracket's contents are complete
                if not pending:
                    return operands.pop()  # the caller judges what follows
                bracket = pending[-1]
                if token.kind == "," and bracket.kind in ("call", "["):
                    self.advance()
                    bracket.args.append(operands.pop())
                    if bracket.kind == "[" and self.token.kind == "]":
                        raise BackpropError("expected an entry after ','", self.token.span)
                    break
                if token.kind == "]" and bracket.kind == "[":
                    close = self.advance()
                    pending.pop()
                    self.depth -= 1
                    bracket.args.append(operands.pop())
                    operands.append(ArrayLiteral(tuple(bracket.args), Span(bracket.token.start, close.end)))
                    continue
                if bracket.kind == "[":
                    raise BackpropError(f"'[' is never closed; found {self.describe(token)}",
                                        bracket.token.span, hint="add the missing ']'")
                if token.kind == "]":
                    raise BackpropError("unmatched ']'", token.span)
                if token.kind == ")":
                    close = self.advance()
                    pending.pop()
                    self.depth -= 1
                    inner = operands.pop()
                    if bracket.kind == "call":
                        bracket.args.append(inner)
                        operands.append(self.close_call(bracket, close))
                    else:
                        # The brackets belong to the node: its text reads "(y - t)" and a
                        # power of it spans "(y - t)^2".
                        operands.append(dataclasses.replace(inner, span=Span(bracket.token.start, close.end)))
                    continue
                if bracket.kind == "call":
                    function = bracket.name.text
                    raise BackpropError(f"'(' of {function}(...) is never closed; found {self.describe(token)}",
                                        bracket.token.span, hint="add the missing ')'")
                raise BackpropError(f"'(' is never closed; found {self.describe(token)}",
                                    bracket.token.span, hint="add the missing ')'")

    def reduce(self, operands: list[Expr], pending: list["_Pending"], precedence: int) -> None:
        """Apply the waiting operators that bind at least as tightly as `precedence`
        (0: all of them, up to the innermost open bracket)."""
        while pending and pending[-1].precedence >= max(precedence, 1):
            op = pending.pop()
            right = operands.pop()
            if op.precedence == _PREFIX:
                self.depth -= 1
                operands.append(UnaryOp(op.kind, right, Span(op.token.start, right.span.end)))
                continue
            if op.precedence == _POWER:
                self.depth -= 1
            left = operands.pop()
            operands.append(BinaryOp(op.kind, left, right, Span(left.span.start, right.span.end)))

    def atom(self) -> Expr:
        token = self.token
        if token.kind == "number":
            self.advance()
            return Number(parse_number(token.text, token.span), token.span)
        if token.kind == "name":
            self.advance()
            return Name(token.text, token.span)
        if token.kind in (")", "]"):
            raise BackpropError(f"unmatched '{token.kind}'" if self.depth == 0
                                else f"expected a value before '{token.kind}'", token.span)
        if token.kind == "op":
            raise BackpropError(f"expected a value before '{token.text}'", token.span)
        if token.kind == "=":
            raise BackpropError("'=' is for assignment: name = expression", token.span,
                                hint="only a single name can stand left of '='")
        raise BackpropError(f"expected a value, found {self.describe(token)}", token.span)

    def check_function(self, name: Token) -> None:
        function = name.text
        if function not in FUNCTIONS:
            guess = suggest(function, FUNCTIONS)
            if function in CONSTANTS:
                message, hint = f"'{function}' is a constant, not a function", f"write {function}*(...)"
            else:
                message = f"unknown function '{function}'" + (f" (did you mean '{guess}'?)" if guess else "")
                hint = None if guess else "functions: " + ", ".join(sorted(FUNCTIONS))
                if not guess and not function.startswith("_"):
                    hint = f"to multiply, write {function}*(...); " + hint
            raise BackpropError(message, name.span, hint=hint)

    def close_call(self, call: "_Pending", close: Token | None = None) -> Call:
        if close is None:  # f(): the ')' is the current token
            close = self.advance()
            self.depth -= 1
        name = call.name
        function = name.text
        arity = _arity(function)
        if len(call.args) not in arity:
            counts = " or ".join(str(a) for a in arity)
            raise BackpropError(
                f"{function} takes {counts} argument{'s' if arity != (1,) else ''}, given {len(call.args)}",
                Span(name.start, close.end),
            )
        return Call(function, tuple(call.args), Span(name.start, close.end), name.span)


# Binding strength of what waits on the parser's stack; brackets (0) stop every reduction.
_SUM, _PRODUCT, _PREFIX, _POWER = 1, 2, 3, 4


@dataclass(slots=True)
class _Pending:
    kind: str  # an operator ("add" ... "pow", "neg", "pos"), "(", "[" or "call"
    precedence: int
    token: Token  # the operator, or the opening bracket
    name: Token | None = None  # a call's function name
    args: list | None = None  # a call's arguments (or a literal's entries) so far


def _span(expr: Expr) -> Span:
    return expr.span


def _arity(function: str) -> tuple[int, ...]:
    """The argument counts a function (in FUNCTIONS) accepts."""
    return (TENSOR_FUNCTIONS[function] if function in TENSOR_FUNCTIONS else PRIMITIVES[function]).arity


# ---------------------------------------------------------------- the fast path
#
# Most programs are well formed, and a generated network is a megabyte of them. The fast path
# reads such a program with one regular expression and one loop: a token is a string in a list
# and its offset an int beside it (no Token, no Span until a node needs one), both lists dropped
# with the parse. It builds the same syntax tree as the parser above, node for node and span for
# span, and words no errors: at anything it does not accept (a mistake, a limit, a character
# outside the language) it stops, and the parser above reads the program again and says what is
# wrong.

_FAST_TOKEN = re.compile(r"""
    [A-Za-z_][A-Za-z0-9_]*                               # a name
  | (?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?    # a number (as _number_token reads it)
  | \*\* | \.[A-Za-z_][A-Za-z0-9_]*                      # a power, an attribute
  | [ \t\r\f\v]+ | \#[^\n]*                              # blanks and a comment: no token
  | [\s\S]                                               # any other character, on its own
""", re.VERBOSE)
_SKIPPED = frozenset(" \t\r\f\v#")
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_DIGITS = frozenset("0123456789")
_ENDS_STATEMENT = frozenset((";", "\n", ""))  # "": the end of the program
_OPENS = frozenset("-+([")  # signs and brackets, before an operand
_CLOSES = frozenset(")]")
# An operator as it waits on the fast path's stack (see `_fast_expr`), the same tuple each time.
_FAST_OPERATORS = {"+": ("add", _SUM, 0, None, None), "-": ("sub", _SUM, 0, None, None),
                   "*": ("mul", _PRODUCT, 0, None, None), "/": ("div", _PRODUCT, 0, None, None),
                   "@": ("matmul", _PRODUCT, 0, None, None),
                   "^": ("pow", _POWER, 0, None, None), "**": ("pow", _POWER, 0, None, None)}


class _Stop(Exception):
    """The fast path leaves this program to the parser above."""


def _fast_tokens(text: str) -> tuple[list[str], list[int]]:
    """The tokens' texts and start offsets, ending with "" at the end of the text. A newline
    inside brackets is dropped, as `tokenize` drops it."""
    texts: list[str] = []
    starts: list[int] = []
    add_text, add_start = texts.append, starts.append
    position = depth = 0
    for token in _FAST_TOKEN.findall(text):
        first = token[0]
        if first in _SKIPPED or (first == "\n" and depth):
            position += len(token)
            continue
        if first in "([":
            depth += 1
        elif first in ")]" and depth:
            depth -= 1
        add_text(token)
        add_start(position)
        position += len(token)
    add_text("")
    add_start(position)
    return texts, starts


def _fast_program(text: str) -> list[Statement] | None:
    """The program's statements as `_Parser.program` reads them, or None where it would raise
    (or might: the fast path refuses more than the grammar does, never less)."""
    texts, starts = _fast_tokens(text)
    try:
        statements: list[Statement] = []
        i = 0
        while True:
            while texts[i] == ";" or texts[i] == "\n":
                i += 1
            if not texts[i]:
                break
            if (statements and statements[-1].target is None) or len(statements) == limits.MAX_STATEMENTS:
                raise _Stop
            first = texts[i]
            if texts[i + 1] == "=" and first[0] in _NAME_START:
                if len(first) > limits.MAX_NAME_LENGTH:
                    raise _Stop
                target_span = Span(starts[i], starts[i] + len(first))
                i += 2
                expr, i = _fast_expr(texts, starts, i)
                statements.append(Statement(first, target_span, expr, Span(target_span.start, expr.span.end)))
            else:
                expr, i = _fast_expr(texts, starts, i)
                statements.append(Statement(None, None, expr, expr.span))
            if texts[i] not in _ENDS_STATEMENT:
                raise _Stop
        if not statements:
            raise _Stop
        return statements
    except (_Stop, BackpropError):  # a number's digits past the limit
        return None


def _fast_expr(texts: list[str], starts: list[int], i: int) -> tuple[Expr, int]:
    """One expression from token i, by the same operator precedence as `_Parser.expr`, and the
    index of the token after it. Raises _Stop where that parser would raise."""
    operands: list[Expr] = []
    # Operators waiting for their right operand, and open brackets, as `_Pending` holds them:
    # (kind, precedence, start, a bracket's items so far, the index of a call's name).
    pending: list[tuple] = []
    depth = 0  # nesting, as _Parser.enter counts it
    while True:
        # ---- an operand is expected
        token = texts[i]
        first = token[:1]
        if first in _NAME_START:
            if len(token) > limits.MAX_NAME_LENGTH:
                raise _Stop
            if texts[i + 1] != "(":
                start = starts[i]
                operands.append(Name(token, Span(start, start + len(token))))
                i += 1
            elif token not in FUNCTIONS or depth == limits.MAX_NESTING:
                raise _Stop
            elif texts[i + 2] != ")":
                depth += 1
                pending.append(("call", 0, starts[i + 1], [], i))
                i += 2
                continue
            else:
                operands.append(_fast_call(token, (), starts[i], starts[i + 2] + 1))
                i += 3
        elif (first in _DIGITS or first == "." and token[1:2] in _DIGITS) and \
                len(token) <= limits.MAX_NUMBER_LITERAL_CHARS:  # (".T" is an attribute)
            span = Span(starts[i], starts[i] + len(token))
            operands.append(Number(parse_number(token, span), span))
            i += 1
        elif token in _OPENS and texts[i + 1] not in _CLOSES and depth < limits.MAX_NESTING:
            depth += 1
            if token == "(" or token == "[":
                pending.append((token, 0, starts[i], [] if token == "[" else None, None))
            else:
                pending.append(("neg" if token == "-" else "pos", _PREFIX, starts[i], None, None))
            i += 1
            continue
        else:
            raise _Stop
        # ---- an operand is complete: operators, closing brackets and commas follow
        while True:
            token = texts[i]
            operator = _FAST_OPERATORS.get(token)
            if operator is not None:
                precedence = operator[1]
                if precedence == _POWER:  # right-associative: nothing to reduce
                    if depth == limits.MAX_NESTING:
                        raise _Stop
                    depth += 1
                elif pending and pending[-1][1] >= precedence:
                    depth = _fast_reduce(operands, pending, precedence, depth)
                pending.append(operator)
                i += 1
                break
            if token == ".T":
                inner = operands.pop()
                operands.append(UnaryOp("transpose", inner, Span(inner.span.start, starts[i] + 2)))
                i += 1
                continue
            depth = _fast_reduce(operands, pending, 1, depth)  # the innermost bracket's contents are complete
            if not pending:
                return operands.pop(), i
            kind, _, start, items, name_at = pending[-1]
            if token == "," and (kind == "call" or kind == "["):
                items.append(operands.pop())
                i += 1
                if kind == "[" and texts[i] == "]":
                    raise _Stop
                break
            if (token == "]") != (kind == "[") or token != "]" and token != ")":
                raise _Stop
            pending.pop()
            depth -= 1
            end = starts[i] + 1
            i += 1
            inner = operands.pop()
            if kind == "[":
                items.append(inner)
                operands.append(ArrayLiteral(tuple(items), Span(start, end)))
            elif kind == "call":
                items.append(inner)
                operands.append(_fast_call(texts[name_at], tuple(items), starts[name_at], end))
            else:
                operands.append(dataclasses.replace(inner, span=Span(start, end)))


def _fast_reduce(operands: list[Expr], pending: list[tuple], floor: int, depth: int) -> int:
    """`_Parser.reduce` over the fast path's stacks: apply the waiting operators of precedence
    `floor` (at least 1) and above; the nesting depth after."""
    while pending and pending[-1][1] >= floor:
        kind, precedence, start, _, _ = pending.pop()
        right = operands.pop()
        if precedence == _PREFIX:
            depth -= 1
            operands.append(UnaryOp(kind, right, Span(start, right.span.end)))
            continue
        if precedence == _POWER:
            depth -= 1
        left = operands.pop()
        operands.append(BinaryOp(kind, left, right, Span(left.span.start, right.span.end)))
    return depth


def _fast_call(function: str, args: tuple[Expr, ...], start: int, end: int) -> Call:
    if len(args) not in _arity(function):
        raise _Stop
    return Call(function, args, Span(start, end), Span(start, start + len(function)))


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a front-end stage builds its result.

    A 100,000-node program becomes some 300,000 objects (nodes, spans, values), none of them
    garbage and none in a cycle; the collector would go over them again and again as they grow
    (a third of the stages' time) and find nothing. Reference counting still frees whatever a
    stage drops, and the collector runs as before once the stage is done."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def parse_program(text: str) -> list[Statement]:
    """Parse a whole program. Raises BackpropError with a span into `text`."""
    if len(text) > limits.MAX_PROGRAM_CHARS:
        raise BackpropError(
            f"the program has {len(text):,} characters; the limit is {limits.MAX_PROGRAM_CHARS:,}"
        )
    with collector_paused():
        statements = _fast_program(text)
    if statements is not None:
        return statements
    try:
        return _Parser(text).program()  # the same program again, to word what is wrong with it
    except BackpropError as error:
        raise error.located(text, "program")


def parse_expression(text: str, origin: str) -> Expr:
    """Parse a single expression (a binding's value, a claimed formula)."""
    try:
        parser = _Parser(text)
        while parser.token.kind == "sep" and parser.token.text == "\n":
            parser.advance()
        if parser.token.kind == "end":
            raise BackpropError("expected a value, found nothing", Span(0, len(text)))
        expr = parser.expr()
        if parser.token.kind != "end":
            raise parser.unexpected_after_expression()
        return expr
    except BackpropError as error:
        raise error.located(text, origin)


def source_text(text: str, span: Span) -> str:
    """The user's own text for a span, whitespace collapsed."""
    return " ".join(text[span.start : span.end].split())
