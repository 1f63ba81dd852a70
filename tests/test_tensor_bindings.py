"""Tensor bindings (SPEC §2): inline arrays, .csv, .npy, .npz, .json, .toml, name=value files,
`# at:` lines and case files, with the exact values and shapes they give and the exact errors.

The tensor engine is not here yet, so valid tensor values are checked at `resolve` (which checks
names, not shapes) on a scalar program; the CLI is used for what the current engine can run:
malformed files (exit 2, no traceback) and scalars read from the new kinds of file.
"""

import json
import time

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from backprop_cli import cases, limits, output
from backprop_cli.bindings import (binding_value, parse_bindings, read_bindings, read_value_file,
                                   read_values_file, resolve, split_top_level)
from backprop_cli.errors import BackpropError
from backprop_cli.graph import build_graph
from backprop_cli.parse import parse_program
from backprop_cli.source import BindingText, from_text

R = sp.Rational
LINEAR = "y = w*x + b; L = (y - t)^2/2"


def graph_of(program: str):
    return build_graph(parse_program(program), program)


def bind(*at: str, program: str = "L = W + b", from_program=()):
    return resolve(graph_of(program), list(from_program), [BindingText(text, "--at") for text in at])


def error_of(*at: str, program: str = "L = W + b") -> BackpropError:
    with pytest.raises(BackpropError) as caught:
        bind(*at, program=program)
    return caught.value


def assert_exact(value, expected):
    """An object array of exact numbers (Fractions for plain numbers, SymPy's for expressions such
    as sqrt(2)) with exactly these entries (and so this shape)."""
    assert isinstance(value, np.ndarray) and value.dtype == object
    assert value.shape == np.array(expected, dtype=object).shape
    assert all(isinstance(entry, (Fraction, sp.Basic)) for entry in value.flat)
    assert value.tolist() == expected


# ---------------------------------------------------------------- inline


def test_inline_matrix_and_vector():
    values = bind("W=[[1/2, -1/4], [-1, 1/2]], b=[0, 1/2]")
    assert_exact(values["W"], [[R(1, 2), R(-1, 4)], [-1, R(1, 2)]])
    assert_exact(values["b"], [0, R(1, 2)])


def test_inline_entries_are_constant_expressions_and_brackets_may_span_lines():
    values = bind("W=[\n  [1/3, sqrt(2)],\n  [-pi/4, max(1, 2)]\n]", "b=[0.1, 2e-3, -5]")
    assert_exact(values["W"], [[R(1, 3), sp.sqrt(2)], [-sp.pi / 4, 2]])
    assert_exact(values["b"], [R(1, 10), R(1, 500), -5])


def test_inline_arrays_and_scalars_together_and_scalars_unchanged():
    values = bind("W=[1, 2], b=1/3")
    assert_exact(values["W"], [1, 2])
    assert values["b"] == R(1, 3) and type(values["b"]) is Fraction


def test_commas_inside_brackets_do_not_split_bindings():
    assert split_top_level("W=[[1, 2], [3, 4]], b=[0, 1]; x=max(1, 2)") == [
        ("W=[[1, 2], [3, 4]]", 0), (" b=[0, 1]", 19), (" x=max(1, 2)", 29)]


@pytest.mark.parametrize("text, message, caret", [
    ("W=[[1, 2], [3, 4, 5]]", "row 2 has 3 entries, row 1 has 2", "             ^^^^^^^^^"),
    ("W=[[1, 2], [3]]", "row 2 has 1 entry, row 1 has 2", "             ^^^"),
    ("W=[[1, 2], [3, 4]", "'[' is never closed", "    ^"),
    ("W=[[[1]]]", "rank 3 or more: rank 0, 1 and 2 are enough", "      ^"),
    ("W=[]", "empty brackets: an array needs at least one entry", "    ^^"),
    ("W=[[1], []]", "empty brackets: an array needs at least one entry", "          ^^"),
    ("W=[1, oops]", "a value cannot use the name 'oops'", "        ^^^^"),
    ("W=[1, 2 +]", "expected a value, found the end of the program", "           ^"),
    ("W=[1, [2]]", "rows and single entries are mixed", "     ^"),
    ("W=[1,]", "expected an entry after ','", "       ^"),
    ("W=[,1]", "expected an entry before ','", "     ^"),
    ("W=[1, 2[3]]", "'[' inside an entry", "         ^"),
    ("W=[1, 2] + 1", "unexpected text after the array", "           ^^^"),
    ("W=[1e5000]", "the number 1e5000 is too large or too precise; exact numbers are limited to 1,000 digits",
     "     ^^^^^^"),
])
def test_inline_errors_point_into_the_binding_text(text, message, caret):
    error = error_of(text)
    assert error.message == message
    assert error.source == text and error.origin == "--at"
    assert error.caret_lines()[-1] == caret, error.render()


def test_an_inline_error_on_a_later_line_of_a_file_names_that_line(tmp_path):
    path = tmp_path / "values.txt"
    path.write_text("b = [0, 1]\nW = [[1, 2],\n     [3, oops]]\n")
    error = error_of(f"@{path}")
    assert error.message == "a value cannot use the name 'oops'"
    assert error.caret_lines() == [f"  --> {path}, line 3, column 10", "       [3, oops]]", "           ^^^^"]


def test_entries_are_never_evaluated_as_python():
    assert error_of("W=[__import__]").message == "a value cannot use the name '__import__'"
    assert error_of("W=[1, exec(1)]").message == "unknown function 'exec'"
    assert error_of("W=[x.__class__]").message == "unknown attribute '.__class__'"


# ---------------------------------------------------------------- csv


def test_csv_matrix_with_comments_blank_lines_and_expressions(tmp_path):
    path = tmp_path / "w1.csv"
    path.write_text("# the first layer\n1/3, 0.5,  -2\n\n  -1,2e-3,max(1, 2)   # row two\n")
    assert_exact(bind(f"W=@{path}")["W"], [[R(1, 3), R(1, 2), -2], [-1, R(1, 500), 2]])


@pytest.mark.parametrize("text", ["1, 2, 3\n", "1\n2\n3\n", "1,\t2 ,3", "\n# a column\n1\n\n2\n3\n"])
def test_csv_single_row_or_column_is_a_vector(tmp_path, text):
    path = tmp_path / "b.csv"
    path.write_text(text)
    assert_exact(bind(f"b=@{path}")["b"], [1, 2, 3])


def test_csv_single_number_is_a_vector_of_one(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("0.25\n")
    assert_exact(bind(f"b=@{path}")["b"], [R(1, 4)])


def test_csv_crlf_and_byte_order_mark(tmp_path):
    path = tmp_path / "w.csv"
    path.write_bytes("\ufeff1,2\r\n3,4\r\n".encode())
    assert_exact(bind(f"W=@{path}")["W"], [[1, 2], [3, 4]])


def test_csv_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("1, 2\n# a comment\n3\n")
    error = error_of(f"W=@{path}")
    assert error.message == f"'{path}' line 3: row 2 has 1 entry, row 1 has 2"
    assert error.caret_lines() == [f"  --> {path}, line 3, column 1", "  3", "  ^"]
    path.write_text("1,,2\n")
    assert error_of(f"W=@{path}").message == f"'{path}' line 1: entry 2 is empty"
    path.write_text("1, 2\n3, oops\n")
    error = error_of(f"W=@{path}")
    assert error.message == "a value cannot use the name 'oops'"
    assert error.caret_lines() == [f"  --> {path}, line 2, column 4", "  3, oops", "     ^^^^"]
    path.write_text("# nothing here\n\n")
    assert error_of(f"W=@{path}").message == f"'{path}' holds no values"


# ---------------------------------------------------------------- npy


def test_npy_float_array_is_float64_as_it_is(tmp_path):
    path = tmp_path / "w1.npy"
    array = np.array([[0.1, -0.25], [1e-300, 2.0]])
    np.save(path, array)
    value = bind(f"W=@{path}")["W"]
    assert value.dtype == np.float64 and value.shape == (2, 2) and (value == array).all()


def test_npy_float32_is_widened_exactly(tmp_path):
    path = tmp_path / "w.npy"
    np.save(path, np.array([0.1, 3.0], dtype=np.float32))
    value = bind(f"W=@{path}")["W"]
    assert value.dtype == np.float64 and value.tolist() == [float(np.float32(0.1)), 3.0]


def test_npy_integers_and_booleans_are_exact(tmp_path):
    path = tmp_path / "w.npy"
    np.save(path, np.array([[1, -2], [3, 2**40]], dtype=np.int64))
    value = bind(f"W=@{path}")["W"]
    assert_exact(value, [[1, -2], [3, 2**40]])
    assert all(type(entry) is Fraction and entry.denominator == 1 for entry in value.flat)
    np.save(path, np.array([True, False, True]))
    assert_exact(bind(f"W=@{path}")["W"], [1, 0, 1])
    np.save(path, np.array([7, 8], dtype=np.uint8))
    assert_exact(bind(f"W=@{path}")["W"], [7, 8])


def test_npy_zero_dimensional_is_a_scalar(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.float64(0.1))
    value = bind(f"W=@{path}")["W"]
    assert value == R(3602879701896397, 36028797018963968) and type(value) is Fraction  # 0.1's binary value
    np.save(path, np.int32(-3))
    assert bind(f"W=@{path}")["W"] == -3


def test_npy_object_arrays_are_never_unpickled(tmp_path):
    path = tmp_path / "evil.npy"
    np.save(path, np.array([1, "a", None], dtype=object), allow_pickle=True)
    error = error_of(f"W=@{path}")
    assert error.message == (f"'{path}' holds Python objects (dtype object), which are not loaded: "
                             "unpickling them could run code from the file")
    assert error.hint == "save float64, integer or boolean arrays"


@pytest.mark.parametrize("array, message", [
    (np.array([1 + 2j]), "holds complex numbers (complex128); values are real"),
    (np.array(["a", "b"]), "holds text (<U1), not numbers"),
    (np.zeros(2, dtype=[("a", "f8")]), "holds records (a structured dtype), not numbers"),
    (np.array(["2024-01-01"], dtype="datetime64[D]"), "holds dates or times (datetime64[D]), not numbers"),
    (np.zeros((2, 2, 2)), "has rank 3 (shape (2, 2, 2)): rank 0, 1 and 2 are enough"),
    (np.zeros((0, 3)), "is empty (shape (0, 3)): an array needs at least one entry"),
])
def test_npy_that_is_not_a_real_vector_or_matrix(tmp_path, array, message):
    path = tmp_path / "w.npy"
    np.save(path, array)
    assert error_of(f"W=@{path}").message == f"'{path}' {message}"


def test_npy_nan_and_infinity_name_the_entry(tmp_path):
    path = tmp_path / "w1.npy"
    np.save(path, np.array([[1.0, np.nan], [np.inf, 0.0]]))
    assert error_of(f"W=@{path}").message == f"'{path}': W[0,1] is nan; values are finite numbers"
    np.save(path, np.array([1.0, 2.0, -np.inf]))
    assert error_of(f"W=@{path}").message == f"'{path}': W[2] is -inf; values are finite numbers"
    np.save(path, np.float64(np.inf))
    assert error_of(f"W=@{path}").message == f"'{path}': W is inf; values are finite numbers"


def test_npy_damaged_missing_directory_and_too_large(tmp_path, monkeypatch):
    path = tmp_path / "w.npy"
    path.write_bytes(b"1, 2, 3\n")
    error = error_of(f"W=@{path}")
    assert error.message == f"'{path}' is not a valid .npy file"
    assert error.hint == "save arrays with numpy.save or numpy.savez"
    np.save(path, np.arange(6.0).reshape(2, 3))
    path.write_bytes(path.read_bytes()[:-8])
    assert error_of(f"W=@{path}").message == f"'{path}' is not a valid .npy file: its data does not match its header"
    missing = tmp_path / "nope.npy"
    assert error_of(f"W=@{missing}").message == f"bindings file '{missing}' does not exist"
    folder = tmp_path / "dir.npy"
    folder.mkdir()
    assert error_of(f"W=@{folder}").message == f"bindings file '{folder}' is a directory, not a file"
    np.save(path, np.zeros(100))
    size = path.stat().st_size
    monkeypatch.setattr(limits, "MAX_ARRAY_FILE_BYTES", 500)
    assert error_of(f"W=@{path}").message == f"bindings file '{path}' has {size:,} bytes; the limit is 500 bytes"
    monkeypatch.setattr(limits, "MAX_ARRAY_FILE_BYTES", 10**9)
    monkeypatch.setattr(limits, "MAX_ARRAY_ENTRIES", 99)
    assert error_of(f"W=@{path}").message == f"'{path}' has 100 entries; the limit is 99"


def test_a_bound_file_is_an_input_no_output_may_replace(tmp_path):
    output.reset_files()
    path = tmp_path / "w.npy"
    np.save(path, np.zeros(2))
    bind(f"W=@{path}")
    with pytest.raises(BackpropError, match="an input of this run"):
        output.write_file(str(path), "x", "-o")
    output.reset_files()


# ---------------------------------------------------------------- npz


def test_npz_binds_each_array_by_its_name(tmp_path):
    path = tmp_path / "weights.npz"
    np.savez(path, W=np.array([[0.5, 1.5]]), b=np.array([1, 2]), c=np.float64(0.5))
    values = bind(f"@{path}", program="L = W + b + c")
    assert values["W"].dtype == np.float64 and values["W"].tolist() == [[0.5, 1.5]]
    assert_exact(values["b"], [1, 2])
    assert values["c"] == R(1, 2)


def test_npz_compressed_works_too(tmp_path):
    path = tmp_path / "weights.npz"
    np.savez_compressed(path, W=np.eye(2), b=np.array([True]))
    values = bind(f"@{path}")
    assert values["W"].tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert_exact(values["b"], [1])


def test_npz_errors(tmp_path, monkeypatch):
    path = tmp_path / "weights.npz"
    np.savez(path, W=np.eye(2), b=np.array([None], dtype=object))
    assert error_of(f"@{path}").message == (f"'{path}' (b) holds Python objects (dtype object), which are not "
                                             "loaded: unpickling them could run code from the file")
    np.savez(path, **{"W": np.eye(2), "layer-1": np.zeros(2)})
    assert error_of(f"@{path}").message == f"'{path}' holds 'layer-1.npy', which is not a name's array (NAME.npy)"
    np.savez(path, W=np.array([[1.0, np.nan]]))
    assert error_of(f"@{path}").message == f"'{path}' (W): W[0,1] is nan; values are finite numbers"
    np.savez(path, W=np.eye(2), x=np.zeros(2))
    assert error_of(f"@{path}").message == "'x' is not an input of the program; the inputs are: W, b"
    np.savez_compressed(path, W=np.zeros(10_000))
    monkeypatch.setattr(limits, "MAX_ARRAY_FILE_BYTES", 50_000)
    assert error_of(f"@{path}").message == f"'{path}' unpacks to 80,128 bytes; the limit is 50,000 bytes"
    path.write_bytes(b"PK\x03\x04 not a zip")
    assert error_of(f"@{path}").message == f"'{path}' is not a valid .npz file"


def test_a_single_array_file_must_be_bound_to_a_name(tmp_path):
    path = tmp_path / "w1.npy"
    np.save(path, np.zeros(2))
    error = error_of(f"@{path}")
    assert error.message == f"'{path}' holds one array; bind it to a name" and error.hint == f"e.g. --at W=@{path}"


# ---------------------------------------------------------------- json


def test_json_many_names_numbers_keep_their_text(tmp_path):
    path = tmp_path / "values.json"
    path.write_text(json.dumps({"W": [[0.1, "1/3"], [-1, 2.5e-3]], "b": "-pi/4", "c": 3, "d": [1e2, "sqrt(2)"]}))
    values = bind(f"@{path}", program="L = W + b + c + d")
    assert_exact(values["W"], [[R(1, 10), R(1, 3)], [-1, R(1, 400)]])
    assert values["b"] == -sp.pi / 4 and values["c"] == 3 and type(values["c"]) is Fraction
    assert_exact(values["d"], [100, sp.sqrt(2)])


def test_json_one_name(tmp_path):
    path = tmp_path / "w.json"
    path.write_text("[[1, 2.5], [3, \"1/3\"]]")
    assert_exact(bind(f"W=@{path}")["W"], [[1, R(5, 2)], [3, R(1, 3)]])
    path.write_text("0.75")
    assert bind(f"W=@{path}")["W"] == R(3, 4)
    path.write_text("[1, 2]")
    assert_exact(bind(f"W=@{path}")["W"], [1, 2])


def test_json_syntax_error_gives_line_and_column(tmp_path):
    path = tmp_path / "values.json"
    path.write_text('{"W": [1, 2,\n  ]}')
    error = error_of(f"@{path}")
    assert error.message == f"'{path}' is not valid JSON: Expecting value (line 2, column 3)"
    assert error.caret_lines() == [f"  --> {path}, line 2, column 3", "    ]}", "    ^"]


@pytest.mark.parametrize("content, message", [
    ('{"W": [1, NaN]}', "W[1] is NaN; values are finite numbers"),
    ('{"W": [[1, -Infinity]]}', "W[0,1] is -Infinity; values are finite numbers"),
    ('{"W": [1, null]}', "W[1] is null; a value is a number, a string holding an expression, or a list of them"),
    ('{"W": true}', "W is true; a value is a number, a string holding an expression, or a list of them"),
    ('{"W": {"a": 1}}', "W is an object; a value is a number, a string holding an expression, or a list of them"),
    ('{"W": [[1, 2], [3]]}', "W: row 2 has 1 entry, row 1 has 2"),
    ('{"W": [[1, 2], 3]}', "W mixes rows and single entries"),
    ('{"W": [1, [2]]}', "W mixes rows and single entries"),
    ('{"W": [[[1]]]}', "W has rank 3: rank 0, 1 and 2 are enough"),
    ('{"W": [[1], [[2]]]}', "W has rank 3 or more: rank 0, 1 and 2 are enough"),
    ('{"W": []}', "W is empty: an array needs at least one entry"),
    ('{"W": [[]]}', "W is empty: an array needs at least one entry"),
])
def test_json_malformed_values_name_the_name_and_entry(tmp_path, content, message):
    path = tmp_path / "values.json"
    path.write_text(content)
    assert error_of(f"@{path}").message == f"'{path}': {message}"


def test_json_file_shapes_and_names(tmp_path):
    path = tmp_path / "values.json"
    path.write_text("[1, 2]")
    assert error_of(f"@{path}").message == f"'{path}' must hold an object of names and values"
    path.write_text('{"W": 1, "W": 2}')
    assert error_of(f"@{path}").message == f"'W' is bound twice ({path} (W))"
    path.write_text('{"not a name": 1}')
    assert error_of(f"@{path}").message == f"'{path}': 'not a name' is not a name"
    path.write_text('{"W": "oops"}')
    assert error_of(f"@{path}").message == "a value cannot use the name 'oops'"
    path.write_text('{"W": [1, 2]}')
    error = error_of(f"W=@{path}")
    assert error.message == f"'{path}' holds an object of names, not one value"
    assert error.hint == f"read all of its names with --at @{path}"
    path.write_text('{"W": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert error_of(f"@{path}").message == f"'{path}' is nested too deeply to read"


# ---------------------------------------------------------------- toml


def test_toml_many_names(tmp_path):
    path = tmp_path / "values.toml"
    path.write_text('W = [[0.1, "1/3"], [-1, 1_000.5]]\nb = [0x10, +2.5e-1]\nc = "-pi/4"\n')
    values = bind(f"@{path}", program="L = W + b + c")
    assert_exact(values["W"], [[R(1, 10), R(1, 3)], [-1, R(2001, 2)]])
    assert_exact(values["b"], [16, R(1, 4)])
    assert values["c"] == -sp.pi / 4


def test_toml_errors(tmp_path):
    path = tmp_path / "values.toml"
    path.write_text("W = [1, 2\n")
    assert error_of(f"@{path}").message == f"'{path}' is not valid TOML: Unclosed array (at end of document)"
    path.write_text("W = [1.0, -inf]\n")
    assert error_of(f"@{path}").message == f"'{path}': W[1] is -inf; values are finite numbers"
    path.write_text("[W]\na = 1\n")
    assert error_of(f"@{path}").message == (f"'{path}': W is a table; a value is a number, a string holding an "
                                             "expression, or a list of them")
    path.write_text("W = 1979-05-27\n")
    assert error_of(f"@{path}").message == (f"'{path}': W is a date; a value is a number, a string holding an "
                                             "expression, or a list of them")


def test_a_one_name_file_of_another_kind(tmp_path):
    path = tmp_path / "w.toml"
    path.write_text("W = 1\n")
    error = error_of(f"W=@{path}")
    assert error.message == f"'{path}': a file for one value is .csv, .npy or .json"
    error = error_of("b=1, W=@")
    assert (error.message, error.caret_lines()[-1]) == ("'W' is given '@' but no file", "         ^")


# ---------------------------------------------------------------- name=value files, `# at:` lines, cases


def test_name_value_file_with_arrays(tmp_path):
    path = tmp_path / "values.txt"
    path.write_text("# the layer\nW = [[1, 2],   # first row\n     [3, 4]]\n\nb = [1/2, -1]; c = 3\n")
    values = bind(f"@{path}", program="L = W + b + c")
    assert_exact(values["W"], [[1, 2], [3, 4]])
    assert_exact(values["b"], [R(1, 2), -1])
    assert values["c"] == 3


def test_a_name_value_file_may_point_at_array_files(tmp_path):
    np.save(tmp_path / "w.npy", np.eye(2))
    path = tmp_path / "values.txt"
    path.write_text(f"W = @{tmp_path / 'w.npy'}\nb = [1, 2]\n")
    values = bind(f"@{path}")
    assert values["W"].tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_at_lines_carry_arrays():
    program = "# at: W=[[1, 2], [3, 4]], b=[1/2, -1]\n# at: c=3\nL = W + b + c\n"
    source = from_text(program)
    assert [b.text for b in source.bindings] == [" W=[[1, 2], [3, 4]], b=[1/2, -1]", " c=3"]
    values = resolve(graph_of(source.text), source.bindings, [BindingText("b=[0, 0]", "--at")])
    assert_exact(values["W"], [[1, 2], [3, 4]])
    assert_exact(values["b"], [0, 0])  # --at overrides the program's line name by name
    assert values["c"] == 3


def test_at_line_array_error_points_into_the_line():
    source = from_text("# at: W=[[1, 2], [3]]\nL = W + b\n")
    with pytest.raises(BackpropError) as caught:
        resolve(graph_of(source.text), source.bindings, [])
    assert caught.value.message == "row 2 has 1 entry, row 1 has 2"
    assert caught.value.caret_lines() == ["  --> '# at:' line 1, line 1, column 12", "  W=[[1, 2], [3]]",
                                          "             ^^^"]


def test_a_tensor_bound_to_a_scalar_program_is_a_clear_error(cli):
    code, _, err = cli("grad", "f = x*w", "--at", "x=[1]")
    assert code == 2 and err.startswith("error: the output f has shape (1,); the output must be a scalar"), err


def test_names_are_still_checked_for_tensor_values():
    assert error_of("V=[1, 2]").message == "'V' is not an input of the program; the inputs are: W, b"
    assert error_of("W=[1, 2], W=[3]").message == "'W' is bound twice (--at (W))"
    assert error_of("L=[1, 2]").message == "'L' is assigned in the program, so it cannot be bound; the inputs are: W, b"


def test_case_at_arrays_become_tensor_bindings(monkeypatch):
    seen = {}

    def check_claims(graph, values, claims, tol):
        seen.update(values)
        return None

    monkeypatch.setattr(cases, "check_claims", check_claims)
    raw = {"name": "tensors", "program": "L = W + x + s", "at": {"W": [[1, 2], [3, 4.5]], "x": [1, "-1/2"], "s": 0.1},
           "expect": {"s": 1}}
    result = cases.run_case(raw, 1)
    assert result.error is None
    assert_exact(seen["W"], [[1, 2], [3, R(9, 2)]])
    assert_exact(seen["x"], [1, R(-1, 2)])
    assert seen["s"] == R(1, 10)


@pytest.mark.parametrize("at, message", [
    ({"W": [[1, 2], [3]]}, "row 2 has 1 entry, row 1 has 2"),
    ({"W": [[[1]]]}, "'W' has rank 3 or more: rank 0, 1 and 2 are enough"),
    ({"W": [1, True]}, "'W' has an entry that is bool; entries are numbers or strings"),
    ({"W": []}, "empty brackets: an array needs at least one entry"),
    ({"W": ["1], b=[2"]}, "unexpected text after the array"),  # a string entry cannot end the array
])
def test_case_at_malformed_arrays(at, message):
    result = cases.run_case({"program": "L = W + b", "at": at, "expect": {"W": 1}}, 1)
    assert (result.field, result.error.message) == ("at", message)


def test_case_expect_arrays_are_tensor_claims():
    """SPEC §3's `expect = { W = [[...]] }`: an array claims a tensor gradient, entry by entry."""
    program = "Y = X @ W.T + b; L = sum((Y - T)^2) / 2"
    at = {"X": [[1, 2], [0, -1], [3, 1]], "W": [[0.5, -1], [0.25, 2]], "b": [1, -0.5], "T": [[1, 0], [0, 1], [2, 2]]}
    right = cases.run_case({"program": program, "at": at, "expect": {"b": [0, "1/2"], "W": [[-3, -5.5], [4.5, 11.25]]}}, 1)
    assert right.error is None and right.ok
    wrong = cases.run_case({"program": program, "at": at, "expect": {"b": [0, 1]}}, 1)
    assert wrong.error is None and not wrong.ok
    scalar = cases.run_case({"program": "L = W + b", "at": {"W": 1, "b": 2}, "expect": {"W": [1, 2]}}, 1)
    assert scalar.field == "expect" and "the claim has shape (2,), and the gradient of W is a scalar" in scalar.error.message


# ---------------------------------------------------------------- the public functions


def test_public_readers(tmp_path):
    path = tmp_path / "values.json"
    path.write_text('{"W": [1, 2], "b": 0.5}')
    assert [(name, origin) for name, _, origin in read_values_file(str(path))] == [
        ("W", f"{path} (W)"), ("b", f"{path} (b)")]
    assert read_values_file(str(path))[1][1] == R(1, 2)
    (tmp_path / "w.csv").write_text("1, 2\n3, 4\n")
    assert_exact(read_value_file(str(tmp_path / "w.csv")), [[1, 2], [3, 4]])
    assert_exact(binding_value(" [1/2, 1] ", "--tangent"), [R(1, 2), 1])
    assert binding_value("1/3", "--tangent") == R(1, 3)
    assert_exact(read_bindings(BindingText("W=[1, 2]", "--at"))[0][1], [1, 2])
    assert parse_bindings(BindingText("W=[1, 2], x=3", "--at")) == [("W", "[1, 2]", "--at (W)"), ("x", "3", "--at (x)")]
    with pytest.raises(BackpropError, match="is a file of values; here the bindings must be text"):
        parse_bindings(BindingText(f"@{path}", "--tangent"))


# ---------------------------------------------------------------- the CLI: exit 2, never a traceback


@pytest.mark.parametrize("name, content, message", [
    ("bad.json", '{"x": [1,\n', "is not valid JSON"),
    ("bad.toml", "x = [1,\n", "is not valid TOML"),
    ("bad.npy", "not numpy", "is not a valid .npy file"),
    ("bad.npz", "not a zip", "is not a valid .npz file"),
])
def test_cli_malformed_values_file_is_exit_2(cli, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    code, out, err = cli("grad", LINEAR, "--at", f"@{path}" if name[-3:] != "npy" else f"x=@{path}")
    assert code == 2, err
    assert err.startswith(f"error: '{path}' {message}") and "Traceback" not in err and out == ""


def test_cli_malformed_csv_and_pickle_are_exit_2(cli, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("1, 2\n3\n")
    code, _, err = cli("grad", LINEAR, "--at", f"x=@{path}")
    assert code == 2 and err.startswith(f"error: '{path}' line 2: row 2 has 1 entry, row 1 has 2\n"), err
    evil = tmp_path / "x.npy"
    np.save(evil, np.array([object()], dtype=object), allow_pickle=True)
    code, _, err = cli("grad", LINEAR, "--at", f"x=@{evil}")
    assert code == 2 and "holds Python objects (dtype object), which are not loaded" in err and "Traceback" not in err


def test_cli_scalars_from_json_toml_and_npz(cli, tmp_path):
    (tmp_path / "v.json").write_text('{"x": 2, "w": "3", "b": 1.0, "t": 10}')
    (tmp_path / "v.toml").write_text('x = 2\nw = "3"\nb = 1.0\nt = 10\n')
    np.savez(tmp_path / "v.npz", x=np.int64(2), w=np.float64(3.0), b=np.array(True), t=np.int8(10))
    for name in ("v.json", "v.toml", "v.npz"):
        code, out, err = cli("grad", LINEAR, "--at", f"@{tmp_path / name}", "--format", "csv")
        assert code == 0, err
        assert "w,3,-6," in out and "b,1,-3," in out


# ---------------------------------------------------------------- speed


def test_a_hundred_thousand_entries_bind_quickly(tmp_path):
    rng = np.random.default_rng(0)
    rows = [[f"{v:.6f}" for v in row] for row in rng.uniform(-1, 1, (1000, 100))]
    (tmp_path / "w.csv").write_text("\n".join(", ".join(row) for row in rows))
    (tmp_path / "v.json").write_text('{"W": [' + ", ".join("[" + ", ".join(row) + "]" for row in rows) + "]}")
    np.save(tmp_path / "w.npy", rng.uniform(-1, 1, (1000, 1000)))
    for at in (f"W=@{tmp_path / 'w.csv'}", f"@{tmp_path / 'v.json'}"):
        start = time.perf_counter()
        value = bind(at)["W"]
        assert time.perf_counter() - start < 2.5  # about half a second here
        assert value.shape == (1000, 100) and value[0, 0] == R(rows[0][0])
    start = time.perf_counter()
    assert bind(f"W=@{tmp_path / 'w.npy'}")["W"].shape == (1000, 1000)
    assert time.perf_counter() - start < 0.5
