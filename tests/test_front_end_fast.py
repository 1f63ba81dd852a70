"""The front end's fast paths against the reference paths they stand in for.

`parse._fast_program` reads a well-formed program with one regular expression and one loop; it
must build the very syntax tree `_Parser` builds (and so the very graph), or give up (None) and
leave the program to `_Parser`, which words every error. `bindings._plain_items` reads
`name=number` text with one regular expression; it must give what `_pieces` and
`constant_value` give, or None. Hypothesis writes the programs and the bindings; mutations of
them and a corpus of bad input check that the fast paths never accept what the reference
refuses, and that the errors the user sees are the reference's, word for word.
"""

import dataclasses
import gc
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop_cli import bindings, limits, parse
from backprop_cli.errors import BackpropError, Span
from backprop_cli.graph import build_graph
from backprop_cli.source import BindingText

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- comparing whole results


def tree(statements) -> list:
    """A syntax tree as a flat list, every node's type and fields in order (iteratively: a long
    chain would overflow the recursive dataclass `==`)."""
    flat: list = []
    stack: list = list(reversed(statements))
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            flat.append(("tuple", len(item)))
            stack.extend(reversed(item))
        elif dataclasses.is_dataclass(item) and not isinstance(item, Span):
            flat.append(type(item).__name__)
            stack.extend(reversed([getattr(item, f.name) for f in dataclasses.fields(item)]))
        else:
            flat.append((type(item).__name__, item))
    return flat


def graph_rows(graph) -> tuple:
    """Every field of every node (the text too), and the graph's own fields."""
    nodes = [tuple((f.name, getattr(node, f.name)) for f in dataclasses.fields(node)) + (("text", node.text),)
             for node in graph.nodes]
    return nodes, graph.names, graph.inputs, graph.output, graph.statements


def error_fields(error: BackpropError) -> tuple:
    return error.message, error.span, error.hint, error.source, error.origin


def reference_program(text: str):
    """The hand-written parser alone, as parse_program runs it when the fast path gives up."""
    try:
        return parse._Parser(text).program()
    except BackpropError as error:
        raise error.located(text, "program")


def outcome(function, *args):
    """("ok", result) or ("error", the error's fields)."""
    try:
        return "ok", function(*args)
    except BackpropError as error:
        return "error", error_fields(error)


def assert_same_graph(fast, reference, text):
    fast_graph = outcome(build_graph, fast, text)
    reference_graph = outcome(build_graph, reference, text)
    assert fast_graph[0] == reference_graph[0], (fast_graph, reference_graph)
    if fast_graph[0] == "ok":
        assert graph_rows(fast_graph[1]) == graph_rows(reference_graph[1])
    else:
        assert fast_graph[1] == reference_graph[1]


def check_program(text: str, well_formed: bool) -> None:
    """The fast path gives the reference's tree or nothing; nothing where the reference refuses;
    a tree for every well-formed program; parse_program's errors are the reference's."""
    fast = parse._fast_program(text)
    try:
        reference = reference_program(text)
    except BackpropError as error:
        assert fast is None, text
        with pytest.raises(BackpropError) as public:
            parse.parse_program(text)
        assert error_fields(public.value) == error_fields(error)
        return
    if well_formed:
        assert fast is not None, text
    if fast is not None:
        assert tree(fast) == tree(reference)
        assert_same_graph(fast, reference, text)
    assert tree(parse.parse_program(text)) == tree(reference)


# ---------------------------------------------------------------- programs hypothesis writes

NAMES = ["x", "y", "w1", "b_2", "h", "e", "W", "_t", "xT", "L"]
NUMBERS = ["2", "0.5", ".5", "2.", "1e-3", "1E+2", "10", "007", "3.25e2", "0", "1.e1",
           "123456789012345678901234567890"]
ONE_ARGUMENT = ["sin", "tanh", "exp", "sqrt", "relu", "sigmoid", "abs", "sum", "mean", "softmax", "transpose"]
TWO_ARGUMENTS = ["log", "max", "min", "pow", "leaky_relu", "outer"]
BLANK = st.sampled_from(["", "", " ", "  ", "\t"])


def _spaced(parts: list[str], draw_blank) -> str:
    return "".join(part + draw_blank() for part in parts)


@st.composite
def expressions(draw, depth: int = 0):
    blank = lambda: draw(BLANK)  # noqa: E731
    if depth >= 4 or draw(st.integers(0, 9)) < 3:
        leaf = draw(st.sampled_from(["name", "name", "number", "constant"]))
        if leaf == "name":
            return draw(st.sampled_from(NAMES))
        if leaf == "number":
            return draw(st.sampled_from(NUMBERS))
        return draw(st.sampled_from(["pi", "E"]))
    sub = lambda: draw(expressions(depth + 1))  # noqa: E731
    form = draw(st.sampled_from(["binary", "binary", "binary", "unary", "brackets", "call", "call2", "axis",
                                 "transpose", "vector", "matrix", "newline"]))
    if form == "binary":
        operator = draw(st.sampled_from(["+", "-", "*", "/", "^", "**", "@"]))
        return _spaced([sub(), operator, sub()], blank)
    if form == "unary":
        return draw(st.sampled_from(["-", "+"])) + blank() + sub()
    if form == "brackets":
        return "(" + blank() + sub() + blank() + ")"
    if form == "call":
        return draw(st.sampled_from(ONE_ARGUMENT)) + "(" + sub() + ")"
    if form == "call2":
        return draw(st.sampled_from(TWO_ARGUMENTS)) + "(" + sub() + "," + blank() + sub() + ")"
    if form == "axis":
        return draw(st.sampled_from(["sum", "mean"])) + "(" + sub() + ", " + draw(st.sampled_from(["0", "1", "-1"])) + ")"
    if form == "transpose":
        return sub() + ".T"  # "2.T" included: a number runs into a name, an error for both paths
    if form == "vector":
        return "[" + ", ".join(sub() for _ in range(draw(st.integers(1, 3)))) + "]"
    if form == "matrix":
        width = draw(st.integers(1, 2))
        rows = ["[" + ", ".join(sub() for _ in range(width)) + "]" for _ in range(draw(st.integers(1, 2)))]
        return "[" + ",\n ".join(rows) + "]"  # a newline inside brackets ends no statement
    return "(\n" + sub() + "\n)"


SEPARATORS = st.sampled_from(["\n", ";", " ; ", "\n\n", "  # a comment\n", "\r\n", "; # δ = ∂J/∂z\n"])


@st.composite
def programs(draw) -> str:
    count = draw(st.integers(1, 4))
    statements = [draw(st.sampled_from(NAMES)) + draw(BLANK) + "=" + draw(BLANK) + draw(expressions())
                  for _ in range(count)]
    if draw(st.booleans()):
        statements.append(draw(expressions()))  # a bare expression, last
    text = statements[0]
    for statement in statements[1:]:
        text += draw(SEPARATORS) + statement
    return draw(st.sampled_from(["", "# at: x=1\n", "\n"])) + text + draw(st.sampled_from(["", "\n", "  # end"]))


@SETTINGS
@given(programs())
def test_the_fast_path_builds_the_parsers_tree_and_graph(text):
    check_program(text, well_formed=True)  # (`2.T` is an error, a number running into a name)


HOSTILE_CHARACTERS = list("()[],;=+-*/^@.#\n \t'x2_e{}!\"") + ["é", "\u00a0", "−", "²", "ｓ", "\x00", ".T", "**"]


@st.composite
def mutated_programs(draw) -> str:
    text = draw(programs())
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["insert", "delete", "repeat"]))
        if edit == "insert":
            text = text[:at] + draw(st.sampled_from(HOSTILE_CHARACTERS)) + text[at:]
        elif edit == "delete":
            text = text[:at] + text[at + 1:]
        else:
            text = text[:at] + text[at:at + 3] + text[at:]
    return text


@SETTINGS
@given(mutated_programs())
def test_the_fast_path_never_accepts_what_the_parser_refuses(text):
    check_program(text, well_formed=False)


BAD_PROGRAMS = [
    "", "   ", "# only a comment", "y = ", "y = x +", "y = (x + 1", "y = x + 1)", "y = 2x", "y = 1_000",
    "y = 'x'", "y = x.real", "y = x 2", "x + 1; y = 2", "y = sigmod(x)", "y = pi(x)", "y = sin()",
    "y = sin(x, y)", "y = max(x)", "y = ()", "y = []", "y = [1, ]", "y = [1, 2", "y = f(x", "y = (x]",
    "y = [x)", "y = x ,", "y = x = 2", "2 = x", "y = ..5", "y = .", "y = 1e", "y = 2.x", "y = x..T",
    "y = x;; z = y =", "y = −x", "y = x²", "ｓｉｎ(x)", "y = x\u00a0+ 1", "y = {x}", "y = x # ok\nz = )",
    "y = x\n+ 1", "y = (x\n+ 1", "y = [1,\n2]] ", "y = x @ @ W", "y = --", "y = x ** * 2", "y = x^",
    "y = sum(x, 2)", "y = " + "1" * (limits.MAX_NUMBER_LITERAL_CHARS + 1), "y = " + "9" * 1_001,
    "y = 1e1001", "y = " + "x" * (limits.MAX_NAME_LENGTH + 1), "x" * (limits.MAX_NAME_LENGTH + 1) + " = 1",
    "y = " + "(" * 501 + "x" + ")" * 501, "y = " + "-" * 501 + "x", "y = x" + "^x" * 501,
    "y = " + "sin(" * 501 + "x" + ")" * 501, "y = " + "[" * 3 + "1" + "]" * 3, "f = x\nf = y",
    "y = x\x00", "# \x00\ny = x",
]


def _hostile_programs() -> list[str]:
    """The program texts of the hostile corpus (what follows the command, before any option)."""
    rows = (json.loads(line) for line in
            (Path(__file__).parent / "data" / "hostile.jsonl").read_text(encoding="utf-8").splitlines() if line.strip())
    return [row["args"][1] for row in rows if len(row.get("args", [])) > 1 and not row["args"][1].startswith("-")]


BAD_CORPUS = BAD_PROGRAMS + _hostile_programs()


@pytest.mark.parametrize("text", BAD_CORPUS, ids=[f"bad-{i}" for i in range(len(BAD_CORPUS))])
def test_bad_programs_get_the_parsers_own_errors(text):
    check_program(text, well_formed=False)


@pytest.mark.parametrize("limit, at_the_limit, past_it", [
    ("MAX_STATEMENTS", "a = 1; b = 2; c = 3", "a = 1; b = 2; c = 3; d = 4"),
    ("MAX_NESTING", "y = ((-x))", "y = (((-x)))"),
    ("MAX_NESTING", "y = x^x^x^x", "y = x^x^x^x^x"),
    ("MAX_NESTING", "y = [[-x]]", "y = [[[-x]]]"),
    ("MAX_NESTING", "y = sin(cos(tan(x)))", "y = sin(cos(tan(exp(x))))"),
    ("MAX_NAME_LENGTH", "abc = xyz", "long = 1"),
    ("MAX_NUMBER_LITERAL_CHARS", "y = 123", "y = 1234"),
])
def test_the_fast_path_reads_up_to_a_limit_and_leaves_the_rest_to_the_parser(monkeypatch, limit, at_the_limit,
                                                                              past_it):
    monkeypatch.setattr(limits, limit, 3)
    assert parse._fast_program(at_the_limit) is not None
    check_program(at_the_limit, well_formed=True)
    assert parse._fast_program(past_it) is None
    check_program(past_it, well_formed=False)


def test_long_programs_take_the_fast_path():
    terms = " + ".join(f"w{i}*x{i}" for i in range(2_000))
    text = f"# at: x0=1\nz = {terms} + b\nh = tanh(z)\nL = (h - t)^2/2\n"
    fast = parse._fast_program(text)
    assert fast is not None
    assert tree(fast) == tree(reference_program(text))
    assert_same_graph(fast, reference_program(text), text)
    chain = "x" + "+x" * 20_000  # no recursion on either path
    assert tree(parse._fast_program(chain)) == tree(reference_program(chain))


def test_the_collector_is_restored_after_a_stage():
    assert gc.isenabled()
    with pytest.raises(BackpropError):
        parse.parse_program("y = (")
    build_graph(parse.parse_program("y = w*x + b"), "y = w*x + b")
    assert gc.isenabled()
    gc.disable()
    try:
        with parse.collector_paused():
            pass
        assert not gc.isenabled()  # paused by someone else: left paused
    finally:
        gc.enable()


# ---------------------------------------------------------------- bindings

BINDING_NAMES = st.sampled_from(["x", "w1_0_0", "b", "_t", "X9", "e", "pi"])
PLAIN_NUMBERS = st.sampled_from(["0.689", "-0.479", "2", "-2", ".5", "-.5", "2.", "1e-3", "-1E+2", "007", "0",
                                 "3.25e2", "12345678901234567890123456789012345678", "1e999", "0.1"])


@st.composite
def plain_bindings(draw) -> str:
    pairs = draw(st.lists(st.tuples(BINDING_NAMES, PLAIN_NUMBERS), min_size=1, max_size=6))
    blank = lambda: draw(st.sampled_from(["", " ", "\t", "  "]))  # noqa: E731
    text = draw(st.sampled_from(["", " ", ",", "\n"]))
    for number, (name, value) in enumerate(pairs):
        if number:
            text += draw(st.sampled_from([",", ";", "\n", ", ", " ,\n", ";;", ",,"]))
        text += blank() + name + blank() + "=" + blank() + value + blank()
    return text + draw(st.sampled_from(["", ",", "\n", " ; "]))


def reference_items(text: str, origin: str) -> list:
    return [(piece.name, piece.label, bindings._piece_value(piece)) for piece in bindings._pieces(text, origin)]


def plain_items(text: str, origin: str):
    found = bindings._plain_items(text, origin)
    return None if found is None else [(name, label, load()) for name, label, load in found]


def same_values(left: list, right: list) -> bool:
    return [(n, o, v, type(v)) for n, o, v in left] == [(n, o, v, type(v)) for n, o, v in right]


@SETTINGS
@given(plain_bindings())
def test_plain_bindings_read_as_the_pieces_read_them(text):
    fast = plain_items(text, "--at")
    assert fast is not None, text
    assert same_values(fast, reference_items(text, "--at"))


@SETTINGS
@given(st.one_of(plain_bindings(), st.text(alphabet="xw1=.5e-+,;\n \t#[]()é_2", max_size=30)),
       st.lists(st.tuples(st.integers(0, 30), st.sampled_from(list("=,;\n .-e[x#é") + ["1/3", "@", "sqrt(2)"])),
                max_size=2))
def test_other_bindings_text_is_left_to_the_pieces(text, edits):
    for at, insert in edits:
        text = text[:at] + insert + text[at:]
    fast = plain_items(text, "'# at:' line 1")
    reference = outcome(reference_items, text, "'# at:' line 1")
    if reference[0] == "error":
        assert fast is None, text
    elif fast is not None:
        assert same_values(fast, reference[1])


PROGRAM = "y = w*x + b; L = (y - t)^2/2"


def resolved(at: list[str], program_line: str | None, plain: bool, monkeypatch):
    with monkeypatch.context() as patch:
        if not plain:
            patch.setattr(bindings, "_plain_items", lambda text, origin: None)
        graph = build_graph(parse.parse_program(PROGRAM), PROGRAM)
        from_program = [BindingText(program_line, "'# at:' line 1")] if program_line is not None else []
        return outcome(bindings.resolve, graph, from_program, [BindingText(text, "--at") for text in at])


@pytest.mark.parametrize("at, program_line", [
    (["x=2, w=3, b=1, t=10"], None),
    (["x=2"], "w=3, b=1, t=10, x=5"),
    (["x=2, x=3"], None),
    (["x=2, q=3"], None),
    (["y=2"], None),
    (["x=" + "1" * 41 + ", q=1"], None),
    (["q=1, x=" + "9" * 2_000], None),
    (["x=" + "9" * 2_000 + ", q=1"], None),
    (["x=1e999, w=-.5, b=2., t=0"], None),
    (["x=2 w=3"], None),
    (["x=2,"], ""),
    ([""], None),
    (["x=1/3, w=0.5"], None),
    (["x=-pi/4"], None),
])
def test_resolve_gives_the_same_values_and_errors_either_way(monkeypatch, at, program_line):
    fast = resolved(at, program_line, True, monkeypatch)
    reference = resolved(at, program_line, False, monkeypatch)
    assert fast[0] == reference[0], (fast, reference)
    if fast[0] == "ok":
        assert same_values([(n, "", v) for n, v in fast[1].items()], [(n, "", v) for n, v in reference[1].items()])
    else:
        assert fast[1] == reference[1]


def test_a_network_line_reads_each_distinct_number_once(monkeypatch):
    text = ", ".join(f"w{i}={(i % 7) / 10}" for i in range(1_000))
    reference = reference_items(text, "'# at:' line 1")
    read = []
    constant_value = bindings.constant_value
    monkeypatch.setattr(bindings, "constant_value", lambda text, origin: read.append(text) or constant_value(text, origin))
    assert same_values(plain_items(text, "'# at:' line 1"), reference)
    assert sorted(read) == ["0.0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6"]
