"""`--at` text and files → values for the program's inputs (SPEC §2).

A value is a constant expression in the program language (`1/3`, `-pi/4`,
`sqrt(2)`, `2e-3`), parsed and evaluated by the same pipeline as a program,
never by `eval` or `sympify`; or a tensor (a vector or a matrix) of them.

What a binding may be:

- `x=2, w=3` (commas, semicolons or newlines between bindings), from `--at`, a
  program's `# at:` lines, or a file of `name=value` lines (`--at @PATH`, `#`
  comments and blank lines allowed);
- `W1=[[1/2, -1/4], [-1, 1/2]], b1=[0, 1/2]`: nested brackets, rows of equal length,
  entries constant expressions; commas inside brackets do not split bindings;
- `W1=@w1.csv` (comma-separated rows, `#` comments and blank lines allowed, entries
  constant expressions; a single row or column, and so a single number, is a vector),
  `W1=@w1.npy`, `W1=@w1.json` (a number, a string holding an expression, or a nested list);
- `@values.json` (an object), `@values.toml` (a table), `@weights.npz` (each array
  under its name): many names at once. Any other `@PATH` is a file of `name=value` lines.
  File paths are taken as given, relative to the current directory.

What a value is, as `resolve` hands it over:

- a scalar: an exact number — a `Fraction` for a plain number (`0.1` is 1/10), a SymPy number
  for an expression (`sqrt(2)`, `-pi/4`); a 0-d `.npy` array gives the integer or the exact
  binary value of its float (`Fraction(0.1)` = 3602879701896397/36028797018963968). Numeric
  mode runs on these without SymPy; exact mode makes them SymPy's (numbers.as_sympy);
- a tensor: a numpy ndarray of rank 1 or 2 (never 0, never more than 2, never empty), either
  `dtype=object` with exact entries as above (text, JSON, TOML, and integer or boolean arrays
  of `.npy`/`.npz`), or `float64` (float arrays of `.npy`/`.npz`, taken as the binary values
  they are; float16 and float32 widened exactly; NaN and infinities refused).

Numbers read from JSON and TOML keep their text: `0.1` there is 1/10, as on the command
line, not the nearest binary float; strings there are expressions (`"1/3"`, `"-pi/4"`).
`.npy`/`.npz` files are read by `numpy.load(..., allow_pickle=False)` only: object arrays
(pickles, which could run code) are refused, as are complex, text, date and record arrays.

The functions: `resolve` (the program's inputs → values, what the engine uses); `read_bindings`
(one `--at` or `# at:` text → [(name, value, origin)]); `parse_bindings` (the text layer: value
texts, no files of values) with `binding_value` (one value text → value); `read_value_file` and
`read_values_file` (files for one name and for many).
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from fractions import Fraction
from math import prod
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Collection, NamedTuple, Union

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

if TYPE_CHECKING:
    import numpy as np

from backprop_cli import deadline, limits, output, settings
from backprop_cli.errors import BackpropError, Span
from backprop_cli.forward import evaluate_expression
from backprop_cli.graph import BARE_OUTPUT_NAME, Graph, NodeKind, build_graph
from backprop_cli.lazy import sp
from backprop_cli.parse import collector_paused, parse_number, parse_program, suggest
from backprop_cli.source import BindingText, read_limited

# A bound value: a scalar (an exact number) or a rank 1 or 2 numpy ndarray (object or float64). numpy is
# imported where an array is made: a scalar program's run does not load it.
Value = Union[Fraction, "sp.Expr", "np.ndarray"]


def split_top_level(text: str) -> list[tuple[str, int]]:
    """Split at commas, semicolons and newlines outside brackets, ( and [: (piece, offset)."""
    pieces: list[tuple[str, int]] = []
    depth, start = 0, 0
    for i, char in enumerate(text):
        if char == "(" or char == "[":
            depth += 1
        elif char == ")" or char == "]":
            depth -= 1
        elif char in ",;\n" and depth <= 0:
            pieces.append((text[start:i], start))
            start = i + 1
    pieces.append((text[start:], start))
    return [(p, o) for p, o in pieces if p.strip()]


# A plain decimal literal, the common case (a network's 50,000 weights): read directly.
_PLAIN_NUMBER = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")  # ASCII digits only
_PLAIN_NUMBER_CHARS = 40  # up to this length, within every limit of exact numbers
# A ratio of two decimals without exponents (1/2, -3/4, 0.5/3): as common in bindings as a decimal,
# and as plain; within every limit at this length. (Blanks: ASCII only, as the language's.)
_PLAIN_RATIO = re.compile(r"[ \t]*(-?(?:[0-9]+\.?[0-9]*|\.[0-9]+))[ \t]*/[ \t]*([0-9]+\.?[0-9]*|\.[0-9]+)[ \t]*")


def expression_graph(text: str, origin: str, names: Collection[str], one_expression: str,
                     unknown_name: Callable[[str], tuple[str, str | None]]) -> Graph:
    """A single expression (a value, a claim, a quiz answer) as a graph of its own.

    Its inputs must be among `names` (the program's); `unknown_name(name)` words the error.
    """
    try:
        statements = parse_program(text)
        if len(statements) != 1 or statements[0].target is not None:
            raise BackpropError(one_expression, Span(0, len(text)), source=text, origin=origin)
        graph = build_graph(statements, text)
    except BackpropError as error:  # said to be in the value or claim it is in, not "the program"
        if error.origin in (None, "program"):
            error.origin = origin
        raise error.located(text, origin)
    for index in graph.inputs:
        name = graph.nodes[index].name
        if name not in names:
            message, hint = unknown_name(name)
            raise BackpropError(message, graph.nodes[index].span, hint=hint, source=text, origin=origin)
    return graph


def _no_names(name: str) -> tuple[str, str]:
    return (f"a value cannot use the name '{name}'",
            "values are numbers and constants such as 1/3, -pi/4, sqrt(2), 2e-3")


def constant_value(text: str, origin: str, name: str | None = None) -> Fraction | sp.Expr:
    """Evaluate a constant expression exactly (or as a 50-digit decimal if it must): a plain number
    or ratio as a Fraction, anything else by SymPy. An error names the binding (`w = 1/0 is
    undefined`), not the expression's own bare output `f`."""
    if len(text) > limits.MAX_BINDING_CHARS:
        raise BackpropError(f"the value has {len(text):,} characters; the limit is {limits.MAX_BINDING_CHARS:,}")
    if len(text) <= _PLAIN_NUMBER_CHARS and _PLAIN_NUMBER.fullmatch(text):
        return _plain_number(text)  # a Fraction: no SymPy for a plain number
    ratio = _PLAIN_RATIO.fullmatch(text) if len(text) <= _PLAIN_NUMBER_CHARS else None
    if ratio is not None:
        numerator, denominator = _plain_number(ratio.group(1)), _plain_number(ratio.group(2))
        if denominator != 0:  # 1/0 is worded by the evaluation below
            return numerator / denominator
    graph = expression_graph(text, origin, (), "a value must be a single constant expression", _no_names)
    try:
        value = evaluate_expression(graph, {}, origin)
    except BackpropError as error:
        bare = f"{BARE_OUTPUT_NAME} = "
        if name is not None and error.message.startswith(bare):
            error.message = f"{name} = " + error.message[len(bare):]
        raise
    if value.exact is not None:
        return value.exact
    return sp.Float(value.approx, settings.DECIMAL_DIGITS)


def _plain_number(text: str) -> Fraction:
    negative = text.startswith("-")
    value = parse_number(text[1:] if negative else text, Span(0, len(text)))
    return -value if negative else value


_COMMENT = re.compile(r"#[^\n]*")


def without_comments(text: str) -> str:
    """A bindings file's `# ...` comments (whole lines or after a value) blanked out; `#` is not
    part of the language. Blanked with spaces, so that error carets still point at the file."""
    return _COMMENT.sub(lambda match: " " * len(match.group()), text)


# ---------------------------------------------------------------- bindings text


class _Piece(NamedTuple):
    """One `name=value` of bindings text; the value starts at `start` in `source`."""

    name: str
    value: str
    start: int
    source: str
    origin: str  # the text's: "--at", "'# at:' line 3", a file name
    label: str  # the value's, in messages: "--at (x)"


def _pieces(text: str, origin: str) -> list[_Piece]:
    result = []
    for piece, offset in split_top_level(text):
        name, equals, value = piece.partition("=")
        name = name.strip()
        if not equals:
            raise BackpropError(f"a binding needs the form name=value, got '{piece.strip()[:60]}'",
                                Span(offset, offset + len(piece)), hint="e.g. --at x=2,w=3",
                                source=text, origin=origin)
        if not name.isidentifier() or not name.isascii():
            raise BackpropError(f"'{name[:60]}' is not a name", Span(offset, offset + len(piece)),
                                source=text, origin=origin)
        if not value.strip():
            raise BackpropError(f"'{name}' is given no value", Span(offset, offset + len(piece)),
                                source=text, origin=origin)
        start = offset + len(piece) - len(value.lstrip())
        result.append(_Piece(name, value.strip(), start, text, origin, f"{origin} ({name})"))
    return result


def _suffix(path: str) -> str:
    return Path(path).suffix.lower()


def _bindings_text(binding: BindingText) -> tuple[str, str] | None:
    """The text of `name=value` bindings and its origin; None for a file of values (.json ...)."""
    text = binding.text.strip()
    if not text.startswith("@"):
        return text, binding.origin
    path = text[1:]
    if _suffix(path) in _VALUES_FILES:
        return None
    if _suffix(path) == ".npy":
        raise BackpropError(f"'{path}' holds one array; bind it to a name", hint=f"e.g. --at W=@{path}")
    return without_comments(read_limited(path, "bindings file")), path


def parse_bindings(binding: BindingText) -> list[tuple[str, str, str]]:
    """`x=2, w=3` → [(name, value text, origin)]; `@PATH` reads a file of `name=value` lines.

    The text layer: a value text is read by `binding_value` (an expression, `[...]` or `@FILE`).
    A file of values (.json, .toml, .npz) has no such text: `read_bindings` reads it."""
    found = _bindings_text(binding)
    if found is None:
        path = binding.text.strip()[1:]
        raise BackpropError(f"'{path}' is a file of values; here the bindings must be text (name=value)")
    return [(p.name, p.value, p.label) for p in _pieces(*found)]


def read_bindings(binding: BindingText) -> list[tuple[str, Value, str]]:
    """Bindings as values: [(name, value, origin)], from text, `@PATH` and `name=@FILE` alike."""
    return [(name, load(), origin) for name, origin, load in _items(binding)]


def binding_value(text: str, origin: str) -> Value:
    """One value as written after `name=`: a constant expression, `[...]`, or `@FILE`."""
    text = text.strip()
    return _piece_value(_Piece("the value", text, 0, text, origin, origin))


_Item = tuple[str, str, Callable[[], Value]]  # (name, origin, the value when it is asked for)


def _items(binding: BindingText) -> list[_Item]:
    found = _bindings_text(binding)
    if found is None:
        path = binding.text.strip()[1:]
        return _VALUES_FILES[_suffix(path)](path)
    text, origin = found
    with collector_paused():
        plain = _plain_items(text, origin)
    if plain is not None:
        return plain
    return [(p.name, p.label, lambda p=p: _piece_value(p)) for p in _pieces(text, origin)]


# Bindings text of names and plain numbers only, `x0=0.689, w1_0_0=-0.479, ...` (a network's
# `# at:` line of 50,000 weights), is read by one regular expression instead of piece by piece:
# a binding with the separators before and after it. Any other text, right or wrong, takes
# `_pieces`, which words the errors.
_BLANKS = r"[ \t\r\f\v]*"
_SEPARATORS = r"[ \t\r\f\v\n,;]*"
_PLAIN_BINDING = re.compile(rf"({_SEPARATORS}([A-Za-z_][A-Za-z0-9_]*){_BLANKS}={_BLANKS}({_PLAIN_NUMBER.pattern})"
                            rf"{_BLANKS}(?:[,;\n]{_SEPARATORS}|\Z))")


def _plain_items(text: str, origin: str) -> list[_Item] | None:
    """What `_pieces` and `constant_value` make of text that is plain bindings from end to end
    (the matches add up to the whole text); None for any other text. Each distinct number is
    read once, and its value handed over by one function: a network's weights share their few
    digits."""
    found = _PLAIN_BINDING.findall(text)
    if sum(len(binding) for binding, _, _ in found) != len(text):
        return None
    loads: dict[str, Callable[[], Value]] = {}
    items: list[_Item] = []
    for _, name, number in found:
        label = f"{origin} ({name})"
        load = loads.get(number)
        if load is None:
            if len(number) > _PLAIN_NUMBER_CHARS:
                return None  # such a number may be refused, and only when its value is asked for
            value = constant_value(number, label)
            load = loads[number] = lambda value=value: value
        items.append((name, label, load))
    return items


def _piece_value(piece: _Piece) -> Value:
    if piece.value.startswith("["):
        return _inline_array(piece.source, piece.start, piece.start + len(piece.value), piece.origin)
    if piece.value.startswith("@"):
        path = piece.value[1:].strip()
        if not path:
            raise BackpropError(f"'{piece.name}' is given '@' but no file", Span(piece.start, piece.start + 1),
                                hint=f"e.g. {piece.name}=@w1.csv", source=piece.source, origin=piece.origin)
        return read_value_file(path, piece.name)
    return constant_value(piece.value, piece.label, piece.name)


# ---------------------------------------------------------------- tensors written out: [[1, 2], [3, 4]]


class _Entry(NamedTuple):
    start: int
    text: str


class _Row(NamedTuple):
    start: int
    end: int
    items: list


_STOPS = re.compile(r"[\[\](),]")
_BLANK = " \t\r\n"
_SHAPES_HINT = "a vector is written [1, 2], a matrix [[1, 2], [3, 4]]"


def _inline_array(source: str, start: int, stop: int, origin: str) -> np.ndarray:
    """The array written in source[start:stop] (which starts with '['), its entries exact."""
    def error(message: str, at: int, end: int | None = None, hint: str | None = None) -> BackpropError:
        return BackpropError(message, Span(at, end if end is not None else at + 1), hint=hint,
                             source=source, origin=origin)

    def skip_blanks(i: int) -> int:
        while i < stop and source[i] in _BLANK:
            i += 1
        return i

    def bracketed(open_at: int, depth: int) -> tuple[list, int]:
        """The items of the list opened at open_at, and where it ends (after its ']')."""
        items: list = []
        i = open_at + 1
        while True:
            i = skip_blanks(i)
            if i >= stop:
                raise error("'[' is never closed", open_at, hint="add the missing ']'")
            char = source[i]
            if char == "]":
                if items:
                    raise error("expected an entry after ','", i)
                return items, i + 1
            if char == ",":
                raise error("expected an entry before ','", i)
            if char == "[":
                if depth == 2:
                    raise error("rank 3 or more: rank 0, 1 and 2 are enough", i, hint=_SHAPES_HINT)
                row, end = bracketed(i, depth + 1)
                items.append(_Row(i, end, row))
                i = skip_blanks(end)
            else:
                j, parens = i, 0
                while True:
                    match = _STOPS.search(source, j, stop)
                    if match is None:
                        raise error("'[' is never closed", open_at, hint="add the missing ']'")
                    j, stop_char = match.start(), match.group()
                    if stop_char == "(":
                        parens += 1
                    elif stop_char == ")":
                        parens = max(0, parens - 1)
                    elif stop_char == "[":
                        raise error("'[' inside an entry", j, hint=_SHAPES_HINT)
                    elif stop_char == "]" or parens == 0:
                        break
                    j += 1
                items.append(_Entry(i, source[i:j].rstrip()))
                i = j
            if i >= stop:
                raise error("'[' is never closed", open_at, hint="add the missing ']'")
            if source[i] == ",":
                i += 1
            elif source[i] == "]":
                return items, i + 1
            else:
                raise error(f"expected ',' or ']', found '{source[i]}'", i)

    items, end = bracketed(start, 1)
    rest = skip_blanks(end)
    if rest < stop and source[rest] != "#":
        raise error("unexpected text after the array", rest, stop)
    if not items:
        raise error("empty brackets: an array needs at least one entry", start, end)
    rows = [item for item in items if isinstance(item, _Row)]
    if not rows:
        shape, entries = (len(items),), items
    else:
        if len(rows) != len(items):
            odd = next(item for item in items if not isinstance(item, _Row))
            raise error("rows and single entries are mixed", odd.start, odd.start + len(odd.text), hint=_SHAPES_HINT)
        width = len(rows[0].items)
        for number, row in enumerate(rows, start=1):
            if not row.items:
                raise error("empty brackets: an array needs at least one entry", row.start, row.end)
            if len(row.items) != width:
                raise error(f"row {number} has {_entries(len(row.items))}, row 1 has {width:,}", row.start, row.end,
                            hint="every row of a matrix has the same length")
        shape, entries = (len(rows), width), [entry for row in rows for entry in row.items]
    _check_size(len(entries), "the array")
    memo: dict[str, sp.Expr] = {}
    return _object_array([_entry_value(e.text, e.start, source, origin, memo) for e in entries], shape)


def _entries(count: int) -> str:
    return "1 entry" if count == 1 else f"{count:,} entries"


def _check_size(count: int, what: str) -> None:
    if count > limits.MAX_ARRAY_ENTRIES:
        raise BackpropError(f"{what} has {count:,} entries; the limit is {limits.MAX_ARRAY_ENTRIES:,}")


def _entry_value(text: str, start: int, source: str, origin: str, memo: dict[str, sp.Expr]) -> sp.Expr:
    """An entry's exact value; an error points at it in the whole text (a file's line and column)."""
    value = memo.get(text)
    if value is None:
        try:
            value = constant_value(text, origin)
        except BackpropError as error:
            if deadline.expired():  # the time limit, not this entry
                raise
            if error.source == text and error.span is not None:
                span = Span(start + error.span.start, start + error.span.end)
            elif error.source is None:
                span = Span(start, start + len(text))
            else:
                raise
            raise BackpropError(error.message, span, error.hint, source=source, origin=origin) from None
        memo[text] = value
    return value


def _object_array(values: list, shape: tuple[int, ...]) -> np.ndarray:
    import numpy as np

    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array.reshape(shape)


# ---------------------------------------------------------------- files for one name: W1=@w1.csv


def read_value_file(path: str, name: str = "the value") -> Value:
    """The one value a `.csv`, `.npy` or `.json` file holds (`--at W1=@w1.csv`); `name` is for messages."""
    kind = _suffix(path)
    if kind == ".csv":
        return _read_csv(path)
    if kind == ".npy":
        return _read_npy(path, name)
    if kind == ".json":
        data, _ = _load_json(path)
        if isinstance(data, _Object):
            raise BackpropError(f"'{path}' holds an object of names, not one value",
                                hint=f"read all of its names with --at @{path}")
        return _data_value(data, name, f"'{path}'", path)
    raise BackpropError(f"'{path}': a file for one value is .csv, .npy or .json",
                        hint="a file of many values: --at @values.json, @values.toml, @weights.npz, or name=value lines")


def _read_csv(path: str) -> Value:
    text = without_comments(read_limited(path, "bindings file"))
    rows: list[list[sp.Expr]] = []
    memo: dict[str, sp.Expr] = {}
    offset = 0
    for number, line in enumerate(text.split("\n"), start=1):
        start, offset = offset, offset + len(line) + 1
        if not line.strip():
            continue
        fields = _csv_fields(line, start)
        for index, (at, field) in enumerate(fields, start=1):
            if not field:
                raise BackpropError(f"'{path}' line {number}: entry {index} is empty", Span(at, at + 1),
                                    source=text, origin=path)
        if rows and len(fields) != len(rows[0]):
            stripped = len(line) - len(line.lstrip())
            raise BackpropError(f"'{path}' line {number}: row {len(rows) + 1} has {_entries(len(fields))}, "
                                f"row 1 has {len(rows[0]):,}", Span(start + stripped, start + len(line.rstrip())),
                                hint="every row of a matrix has the same length", source=text, origin=path)
        rows.append([_entry_value(field, at, text, path, memo) for at, field in fields])
    if not rows:
        raise BackpropError(f"'{path}' holds no values", hint="one row per line, entries separated by commas")
    _check_size(len(rows) * len(rows[0]), f"'{path}'")
    flat = [value for row in rows for value in row]
    vector = len(rows) == 1 or len(rows[0]) == 1
    return _object_array(flat, (len(flat),) if vector else (len(rows), len(rows[0])))


def _csv_fields(line: str, start: int) -> list[tuple[int, str]]:
    """A CSV line's entries, (offset, text), split at the commas outside parentheses."""
    if "(" in line:
        parts, depth, begin = [], 0, 0
        for i, char in enumerate(line):
            if char == "(":
                depth += 1
            elif char == ")":
                depth = max(0, depth - 1)
            elif char == "," and depth == 0:
                parts.append(line[begin:i])
                begin = i + 1
        parts.append(line[begin:])
    else:
        parts = line.split(",")
    fields, at = [], start
    for part in parts:
        stripped = part.strip()
        fields.append((at + len(part) - len(part.lstrip()) if stripped else at, stripped))
        at += len(part) + 1
    return fields


# ---------------------------------------------------------------- JSON and TOML: numbers keep their text


class _Number(str):
    """A number's text as the file wrote it (JSON, TOML): read exactly, 0.1 as 1/10."""


class _NotFinite(str):
    """NaN or an infinity as the file wrote it."""


class _Object:
    """A JSON object, as its (name, value) pairs in order, a name given twice included."""

    def __init__(self, pairs: list[tuple[str, object]]):
        self.pairs = pairs


def _load_json(path: str):
    text = read_limited(path, "bindings file")
    try:
        data = json.loads(text, parse_float=_Number, parse_int=_Number, parse_constant=_NotFinite,
                          object_pairs_hook=_Object)
    except json.JSONDecodeError as exc:
        raise BackpropError(f"'{path}' is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                            Span(exc.pos, exc.pos + 1), source=text, origin=path) from None
    except RecursionError:
        raise BackpropError(f"'{path}' is nested too deeply to read") from None
    return data, text


def _json_items(path: str) -> list[_Item]:
    data, _ = _load_json(path)
    if not isinstance(data, _Object):
        raise BackpropError(f"'{path}' must hold an object of names and values",
                            hint='e.g. {"W1": [[0.5, -0.25], [-1, 0.5]], "b1": [0, "1/3"], "t": 1}'
                                 f"; for one value: --at NAME=@{path}")
    return _named_items(data.pairs, path)


def _toml_float(text: str) -> str:
    text = text.replace("_", "")
    return _NotFinite(text) if text.lstrip("+-") in ("inf", "nan") else _Number(text.removeprefix("+"))


def _toml_items(path: str) -> list[_Item]:
    text = read_limited(path, "bindings file")
    try:
        data = tomllib.loads(text, parse_float=_toml_float)
    except tomllib.TOMLDecodeError as exc:
        raise BackpropError(f"'{path}' is not valid TOML: {exc}") from None
    except RecursionError:
        raise BackpropError(f"'{path}' is nested too deeply to read") from None
    return _named_items(list(data.items()), path)


def _named_items(pairs: list[tuple[str, object]], path: str) -> list[_Item]:
    items = []
    for name, data in pairs:
        if not name.isidentifier() or not name.isascii():
            raise BackpropError(f"'{path}': '{name[:60]}' is not a name")
        items.append((name, f"{path} ({name})", lambda name=name, data=data: _data_value(data, name, f"'{path}'", path)))
    return items


def _data_value(data, name: str, where: str, path: str) -> Value:
    """A JSON or TOML value: a number, a string holding an expression, or a nested list of them."""
    memo: dict[str, sp.Expr] = {}
    if not isinstance(data, list):
        return _data_entry(data, name, where, path, memo)
    rank, inner = 0, data
    while isinstance(inner, list) and inner:
        rank, inner = rank + 1, inner[0]
    if rank > 2:
        raise BackpropError(f"{where}: {name} has rank {rank}: rank 0, 1 and 2 are enough", hint=_SHAPES_HINT)
    if isinstance(inner, list):  # [] or [[], ...]
        raise BackpropError(f"{where}: {name} is empty: an array needs at least one entry")
    if rank == 1:
        if any(isinstance(entry, list) for entry in data):
            raise BackpropError(f"{where}: {name} mixes rows and single entries", hint=_SHAPES_HINT)
        _check_size(len(data), f"{where}: {name}")
        return _object_array([_data_entry(entry, f"{name}[{i}]", where, path, memo)
                              for i, entry in enumerate(data)], (len(data),))
    width = len(data[0])
    for number, row in enumerate(data, start=1):
        if not isinstance(row, list):
            raise BackpropError(f"{where}: {name} mixes rows and single entries", hint=_SHAPES_HINT)
        if len(row) != width:
            raise BackpropError(f"{where}: {name}: row {number} has {_entries(len(row))}, row 1 has {width:,}",
                                hint="every row of a matrix has the same length")
        if any(isinstance(entry, list) for entry in row):
            raise BackpropError(f"{where}: {name} has rank 3 or more: rank 0, 1 and 2 are enough", hint=_SHAPES_HINT)
    _check_size(len(data) * width, f"{where}: {name}")
    return _object_array([_data_entry(entry, f"{name}[{i},{j}]", where, path, memo)
                          for i, row in enumerate(data) for j, entry in enumerate(row)], (len(data), width))


def _data_entry(data, label: str, where: str, path: str, memo: dict[str, sp.Expr]) -> sp.Expr:
    if isinstance(data, _NotFinite):
        raise BackpropError(f"{where}: {label} is {data}; values are finite numbers")
    if isinstance(data, str):  # a number's text, or an expression
        value = memo.get(data)
        if value is None:
            value = memo[data] = constant_value(data, f"{path} ({label})")
        return value
    if isinstance(data, bool):
        what = "true" if data else "false"
    elif isinstance(data, int):  # TOML: 0x10, 1_000
        if data.bit_length() > 3 * limits.MAX_EXACT_DIGITS:
            raise BackpropError(f"{where}: {label} is too large; exact numbers are limited to "
                                f"{limits.MAX_EXACT_DIGITS:,} digits")
        return Fraction(data)
    elif isinstance(data, float):
        return constant_value(repr(data), f"{path} ({label})")
    elif data is None:
        what = "null"
    elif isinstance(data, (_Object, dict)):
        what = "a table" if isinstance(data, dict) else "an object"
    else:  # TOML dates and times
        what = f"a {type(data).__name__}"
    raise BackpropError(f"{where}: {label} is {what}; a value is a number, a string holding an expression, "
                        "or a list of them")


# ---------------------------------------------------------------- .npy and .npz: numpy.load, never a pickle


def _binary_file(path: str) -> None:
    """The checks `read_limited` makes of a text file, for a binary one; noted as an input."""
    if "\x00" in path:
        raise BackpropError("bindings file path contains a NUL byte")
    file = Path(path)
    try:
        if file.is_dir():
            raise BackpropError(f"bindings file '{path}' is a directory, not a file")
        size = file.stat().st_size
    except FileNotFoundError:
        raise BackpropError(f"bindings file '{path}' does not exist") from None
    except OSError as exc:
        raise BackpropError(f"cannot read bindings file '{path}': {exc.strerror or exc}") from None
    if size > limits.MAX_ARRAY_FILE_BYTES:
        raise BackpropError(f"bindings file '{path}' has {size:,} bytes; the limit is {limits.MAX_ARRAY_FILE_BYTES:,} bytes")
    output.note_input(path)


def _npy_header(stream, where: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype an .npy stream declares, read before any of its data."""
    import numpy as np

    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(version)
    except (ValueError, EOFError, OSError, SyntaxError, TypeError):
        raise BackpropError(f"{where} is not a valid .npy file", hint="save arrays with numpy.save or numpy.savez") from None
    return shape, dtype


def _check_header(shape: tuple[int, ...], dtype: np.dtype, where: str) -> None:
    kind = dtype.kind
    if dtype.fields is not None or kind == "V":
        problem = "records (a structured dtype), not numbers"
    elif kind == "O":
        problem = ("Python objects (dtype object), which are not loaded: unpickling them could run code "
                   "from the file")
    elif kind == "c":
        problem = f"complex numbers ({dtype}); values are real"
    elif kind in "US":
        problem = f"text ({dtype}), not numbers"
    elif kind in "Mm":
        problem = f"dates or times ({dtype}), not numbers"
    elif kind == "f" and dtype.itemsize > 8:
        problem = f"{dtype} numbers, more precise than float64"
    elif kind not in "biuf":
        problem = f"values of dtype {dtype}"
    else:
        problem = None
    if problem is not None:
        raise BackpropError(f"{where} holds {problem}", hint="save float64, integer or boolean arrays")
    if len(shape) > 2:
        raise BackpropError(f"{where} has rank {len(shape)} (shape {shape}): rank 0, 1 and 2 are enough")
    entries = prod(shape)
    if entries == 0:
        raise BackpropError(f"{where} is empty (shape {shape}): an array needs at least one entry")
    _check_size(entries, where)


def _read_npy(path: str, name: str) -> Value:
    import numpy as np

    where = f"'{path}'"
    _binary_file(path)
    try:
        with open(path, "rb") as stream:
            _check_header(*_npy_header(stream, where), where)
        array = np.load(path, allow_pickle=False)
    except OSError as exc:
        raise BackpropError(f"cannot read bindings file '{path}': {exc.strerror or exc}") from None
    except (ValueError, EOFError):
        raise BackpropError(f"{where} is not a valid .npy file: its data does not match its header") from None
    if not isinstance(array, np.ndarray):
        raise BackpropError(f"{where} is not a valid .npy file", hint="save arrays with numpy.save or numpy.savez")
    return _array_value(array, name, where)


def _npz_items(path: str) -> list[_Item]:
    import numpy as np

    _binary_file(path)
    where = f"'{path}'"
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            unpacked = sum(member.file_size for member in members)
            if unpacked > limits.MAX_ARRAY_FILE_BYTES:
                raise BackpropError(f"{where} unpacks to {unpacked:,} bytes; the limit is "
                                    f"{limits.MAX_ARRAY_FILE_BYTES:,} bytes")
            names = []
            for member in members:
                name = member.filename.removesuffix(".npy")
                if not name.isidentifier() or not name.isascii() or not member.filename.endswith(".npy"):
                    raise BackpropError(f"{where} holds '{member.filename[:60]}', which is not a name's array (NAME.npy)",
                                        hint="save the arrays with numpy.savez(path, W1=..., b1=...)")
                with archive.open(member) as stream:
                    _check_header(*_npy_header(stream, f"{where} ({name})"), f"{where} ({name})")
                names.append(name)
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in names}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError,
            ValueError, KeyError):  # RuntimeError: an encrypted archive
        raise BackpropError(f"{where} is not a valid .npz file", hint="save arrays with numpy.savez") from None
    except OSError as exc:
        raise BackpropError(f"cannot read bindings file '{path}': {exc.strerror or exc}") from None
    return [(name, f"{path} ({name})", lambda name=name: _array_value(arrays[name], name, f"{where} ({name})"))
            for name in names]


def _array_value(array: np.ndarray, name: str, where: str) -> Value:
    """A loaded array as a value: integers exact (object), floats float64, a 0-d array a scalar."""
    import numpy as np

    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        if not finite.all():
            index = tuple(int(i) for i in np.argwhere(~finite)[0])
            label = name if not index else f"{name}[{','.join(map(str, index))}]"
            raise BackpropError(f"{where}: {label} is {float(array[index])}; values are finite numbers")
        if array.ndim == 0:
            return Fraction(float(array))  # the binary value, exactly
        return np.ascontiguousarray(array, dtype=np.float64)
    if array.ndim == 0:
        return Fraction(int(array))
    distinct, inverse = np.unique(array, return_inverse=True)  # one exact integer per distinct value
    table = _object_array([Fraction(int(v)) for v in distinct], (len(distinct),))
    return table[inverse.reshape(-1)].reshape(array.shape)


_VALUES_FILES: dict[str, Callable[[str], list[_Item]]] = {".json": _json_items, ".toml": _toml_items, ".npz": _npz_items}


def read_values_file(path: str) -> list[tuple[str, Value, str]]:
    """The named values of a `.json`, `.toml` or `.npz` file: [(name, value, origin)]."""
    kind = _suffix(path)
    if kind not in _VALUES_FILES:
        raise BackpropError(f"'{path}': a file of named values is .json, .toml or .npz")
    return [(name, load(), origin) for name, origin, load in _VALUES_FILES[kind](path)]

# Names SymPy's plain text (the JSON `exact` fields, SPEC §4) uses for its own functions and
# atoms: `sign(x)`, `Heaviside(x)`, `Abs(x)`, `Max(a, b)`, `Piecewise(...)`, `I`, `oo`. A program
# name spelled the same would print as `sign*sign(x)`, text no reader can parse back, so such a
# name is refused (with a rename hint) rather than printed ambiguously.
PRINTER_NAMES = frozenset({"sign", "Heaviside", "Abs", "Max", "Min", "Piecewise", "DiracDelta",
                           "I", "oo", "zoo", "nan", "True", "False"})


def refuse_printer_names(graph: Graph) -> None:
    for name, index in graph.names.items():
        if name in PRINTER_NAMES:
            span = graph.nodes[index].span
            for statement_name, _, statement_span in graph.statements:  # an assigned name: point at it
                start = graph.source.find(name, statement_span.start)
                if statement_name == name and start >= 0:
                    span = Span(start, start + len(name))
                    break
            raise BackpropError(
                f"the name '{name}' is reserved: the exact results would print it as SymPy's '{name}'",
                span, hint=f"rename it, e.g. {name}_ or my_{name}", source=graph.source, origin="program")


def resolve(graph: Graph, from_program: list[BindingText], from_command_line: list[BindingText]) -> dict[str, Value]:
    """The bound inputs: the program's `# at:` lines, overridden name by name by --at.
    A value is a SymPy number or an ndarray (see the module's docstring); shapes are not
    checked here. (A program name that SymPy's printed text uses for itself is refused first.)"""
    refuse_printer_names(graph)
    inputs = [graph.nodes[i].name for i in graph.inputs]
    input_set = set(inputs)
    values: dict[str, Value] = {}
    for layer in (from_program, from_command_line):
        seen: set[str] = set()
        for binding in layer:
            for name, origin, load in _items(binding):
                if name in seen:
                    raise BackpropError(f"'{name}' is bound twice ({origin})", hint="give each input one value")
                seen.add(name)
                if name not in input_set:
                    raise _not_an_input(graph, name, inputs)
                values[name] = load()
    return values


def _not_an_input(graph: Graph, name: str, inputs: list[str]) -> BackpropError:
    listing = ", ".join(inputs) if inputs else "none"
    if name in graph.names and graph.nodes[graph.names[name]].kind is not NodeKind.INPUT:
        message = f"'{name}' is assigned in the program, so it cannot be bound; the inputs are: {listing}"
    else:
        guess = suggest(name, inputs)
        message = (f"'{name}' is not an input of the program" + (f" (did you mean '{guess}'?)" if guess else "")
                   + f"; the inputs are: {listing}")
    return BackpropError(message)
