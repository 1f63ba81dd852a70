"""JSON and CSV streamed as text in pieces (issue 15 item 6): the streamed text is the text of the
whole report, byte for byte; the views' fast paths (numeric tensors from their float64 arrays,
CSV a column at a time) write what json and csv write."""

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli import output
from backprop_cli.engine import NumberMode, Request, run
from backprop_cli.errors import BackpropError
from backprop_cli.render import json_view, table, tensor_text
from backprop_cli.render.common import EdgeFormulas, exact_string
from backprop_cli.render.json_view import json_pieces, render_json
from backprop_cli.render.table import csv_pieces, render_csv
from backprop_cli.source import BindingText, from_sample, from_text, sample_names
from backprop_cli.tensors import TensorValue

MATRIX = ("H = tanh(X @ W1 + b1); Z = H @ W2 + b2; L = -sum(Y * log_softmax(Z)) / 4",
          "X=[[0.5, -1, 2], [1, 0.25, -0.5], [0, 1, 1], [-2, 0.5, 0.125]], "
          "W1=[[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]], b1=[0.01, -0.02], W2=[[1, -1, 0.5], [0.25, 2, -1]], "
          "b2=[0, 0.1, -0.1], Y=[[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]]")


def report_of(program: str, at: str | None = None, **options):
    return run(Request(from_text(program), [BindingText(at, "--at")] if at else [], **options))


def numeric_matrix_report():
    return report_of(*MATRIX, mode=NumberMode.NUMERIC)


def big_scalar_report():
    """Past PRETTY_JSON_MAX_NODES nodes, so the JSON is the compact, streamed form."""
    n = 700
    program = "\n".join([f"h{i} = tanh(w{i}*x + b{i})" for i in range(n)] + ["L = (" + " + ".join(
        f"h{i}" for i in range(n)) + " - t)^2/2"])
    at = ", ".join([f"w{i}={(i % 7 - 3) / 4}, b{i}={i % 5 / 10}" for i in range(n)] + ["x=0.5, t=1"])
    return report_of(program, at)


def reference_json(report) -> str:
    """The report as json itself writes it: every tensor through json_entries and json.dumps."""
    whole = json_view.json_lists
    json_view.json_lists = lambda tensor: None
    try:
        return "".join(json_view.json_pieces(report))
    finally:
        json_view.json_lists = whole


def reference_csv(report) -> str:
    """The CSV as it was written before it was streamed: csv.writer over Report.entries()."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.CSV_COLUMNS)
    for entry in report.entries():
        gradient = entry.gradient
        writer.writerow([
            entry.label, exact_string(entry.value), exact_string(gradient),
            repr(gradient.float()) if gradient.float() is not None else "",
            table.format_decimal(entry.estimate, 17) if entry.estimate is not None else "",
            f"{entry.error:.3e}" if entry.error is not None else "",
            "" if entry.ok is None else str(entry.ok).lower(), entry.status.value])
    return buffer.getvalue()


@pytest.fixture
def small_pieces(monkeypatch):
    """Pieces and slices of a few records and characters: every seam is exercised."""
    monkeypatch.setattr(output, "STREAM_SLICE", 7)
    monkeypatch.setattr(json_view, "RECORDS_PER_PIECE", 3)
    monkeypatch.setattr(table, "CSV_ROWS_PER_PIECE", 2)


# ---------------------------------------------------------------- the streamed text is the whole text

@pytest.mark.parametrize("name", sample_names())
@pytest.mark.parametrize("command", [["grad"], ["explain"], ["explain", "--forward"], ["explain", "--lr", "1/10"]])
def test_streamed_json_parses_and_equals_the_unstreamed_one(cli, small_pieces, name, command):
    code, out, err = cli(*command, "--sample", name, "--format", "json")
    options = {"forward_mode": "--forward" in command, "lr": "1/10" if "--lr" in command else None}
    if code == 2:  # forward mode over too many entries: an error before any view
        with pytest.raises(BackpropError):
            run(Request(from_sample(name), **options))
        return
    whole = render_json(run(Request(from_sample(name), **options)))
    assert out == whole
    assert json.loads(out) == json.loads(reference_json(run(Request(from_sample(name), **options))))


@pytest.mark.parametrize("make", [big_scalar_report, numeric_matrix_report])
def test_compact_json_streams_the_same_bytes_json_writes(make, small_pieces, monkeypatch):
    report = make()
    monkeypatch.setattr(json_view, "PRETTY_JSON_MAX_NODES", 100)  # the matrix program's 48 entries too
    pieces = list(json_pieces(report))
    assert len(pieces) > 10 and all(isinstance(p, str) for p in pieces)
    text = "".join(pieces)
    assert text.count("\n") == 1  # compact: past the size where it is indented
    assert text == reference_json(report)
    data = json.loads(text)
    assert len(data["nodes"]) == report.trace.output + 1 and len(data["edges"]) == len(report.trace.steps)


def dict_json(report) -> str:
    """A scalar report as the JSON of SPEC §4 built the plain way, dicts of Values from the trace's
    accessors and its Steps, encoded by json: what the numeric fast paths (gradients, inputs and
    node values from the columns, labels, edge formulas) must write byte for byte."""
    trace = report.trace
    nodes = trace.graph.nodes
    formula = EdgeFormulas(trace)
    gradients = {}
    for check in report.checks:
        entry = json_view._number(trace.gradients.get(check.node))
        entry.update({"fd": json_view._finite(check.estimate), "error": check.error, "ok": check.ok,
                      "status": check.status.value})
        gradients[nodes[check.node].label] = entry
    document = {
        "of": nodes[trace.output].label,
        "value": json_view._number(trace.values[trace.output]),
        "gradients": gradients,
        "check": {"method": report.method, "ok": report.ok},
        "inputs": {nodes[i].label: json_view._number(trace.values[i]) for i in trace.graph.inputs},
        "nodes": [{"id": n.index, "name": n.name, "label": n.text, "kind": n.kind.value, "op": n.op,
                   "args": list(n.args), "value": json_view._number(trace.values[n.index]),
                   "gradient": json_view._number(trace.gradients.get(n.index))}
                  for n in nodes[: trace.output + 1]],
        "edges": [{"from": step.source, "to": step.consumer, "position": step.position,
                   "local_formula": formula(step), "local": json_view._number(step.local),
                   "upstream": json_view._number(step.upstream), "contribution": json_view._number(step.contribution),
                   "kink": step.kink} for step in trace.steps],
        "notes": json_view.notes_lines(report, json_view.Messages("en")),
    }
    return json.dumps(document, ensure_ascii=False) + "\n"


def odd_numeric_report():
    """Past the pretty size, numeric: kinks at 0 (relu, abs), a dead relu's -0.0, subtracted and
    repeated terms, labels with doubled blanks, a line break inside brackets, a label past
    MAX_LABEL_CHARS; a constant-only node and an input the output does not use."""
    n = 400
    lines = [f"h{i} = relu(w{i}*x  +  b{i})" if i % 3 else f"h{i} = abs(w{i}*x - (b{i}\n + c))" for i in range(n)]
    lines.append("z = " + " + ".join(f"h{i}*2" for i in range(n)) + " - (1/4)^2")
    lines.append("q = unused*z")
    lines.append("L = (z - t)^2/2 + 0*x + v*x")
    at = ", ".join([f"w{i}={(i % 7 - 3) / 4}, b{i}={(i % 5 - 2) / 8}" for i in range(n)]
                   + ["x=0.5, t=1, c=1/4, unused=3, v=-1/3"])
    return report_of("\n".join(lines), at, mode=NumberMode.NUMERIC, of="L")


@pytest.mark.parametrize("make", [big_scalar_report, odd_numeric_report])
def test_numeric_json_is_the_json_of_plain_dicts(make, small_pieces):
    report = make()
    assert report.trace.numeric and report.trace.graph.size[0] > json_view.PRETTY_JSON_MAX_NODES
    text = "".join(json_pieces(report))
    assert text == dict_json(report)
    if make is odd_numeric_report:  # what makes it odd is there
        data = json.loads(text)
        assert data["inputs"]["v"] == {"exact": "-1/3", "float": -1 / 3, "is_exact": True}
        assert {e["kink"] for e in data["edges"]} == {True, False}
        labels = [node["label"] for node in data["nodes"]]
        assert "w1*x + b1" in labels and "(b0 + c)" in labels and any(" … " in label for label in labels)


def test_numeric_csv_rows_are_the_rows_of_report_entries_for_odd_programs(small_pieces):
    report = odd_numeric_report()
    assert "".join(csv_pieces(report)) == reference_csv(report)


def test_streamed_matrix_json_on_stdout_equals_the_whole_text(cli, small_pieces):
    program, at = MATRIX
    code, out, err = cli("grad", program, "--at", at, "--numeric", "--format", "json")
    assert code == 0, err
    assert out == render_json(numeric_matrix_report())
    gradients = json.loads(out)["gradients"]
    assert gradients["W1"]["shape"] == [3, 2] and len(gradients["W1"]["exact"][0]) == 2
    assert gradients["W1"]["exact"][0][0] == repr(gradients["W1"]["float"][0][0])


@pytest.mark.parametrize("name", sample_names())
def test_streamed_csv_equals_the_rows_of_report_entries(cli, small_pieces, name):
    code, out, err = cli("grad", "--sample", name, "--format", "csv")
    assert code in (0, 1), err
    report = run(Request(from_sample(name)))
    assert out == render_csv(report) == reference_csv(report)


@pytest.mark.parametrize("make", [big_scalar_report, numeric_matrix_report])
def test_big_csv_equals_the_rows_of_report_entries(make, small_pieces):
    report = make()
    pieces = list(csv_pieces(report))
    assert len(pieces) > 5
    assert "".join(pieces) == reference_csv(report)


def test_csv_of_a_numeric_matrix_program_names_every_entry(cli):
    program, at = MATRIX
    code, out, _ = cli("grad", program, "--at", at, "--numeric", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["input"] for r in rows[:3]] == ["X[0,0]", "X[0,1]", "X[0,2]"]
    assert len(rows) == 12 + 6 + 2 + 6 + 3 + 12  # X, W1, b1, W2, b2, Y in order of first use
    assert out == reference_csv(numeric_matrix_report())


def test_the_real_process_streams_into_a_file_and_an_ascii_stream(tmp_path):
    """stdout redirected to a file (the direct file-descriptor writes), and a stream that is not
    UTF-8 (every non-ASCII character escaped): the same data as the whole text."""
    program, at = MATRIX
    args = [sys.executable, "-m", "backprop_cli", "grad", program, "--at", at, "--numeric", "--format", "json"]
    target = tmp_path / "grad.json"
    with target.open("wb") as handle:
        done = subprocess.run(args, stdout=handle, stderr=subprocess.PIPE, timeout=120)
    assert done.returncode == 0, done.stderr
    whole = render_json(numeric_matrix_report())
    assert target.read_bytes() == whole.encode("utf-8")
    ascii_run = subprocess.run(args, capture_output=True, timeout=120, env={"PYTHONIOENCODING": "ascii",
                                                                           "PATH": "/usr/bin:/bin"})
    assert ascii_run.returncode == 0, ascii_run.stderr
    assert ascii_run.stdout.isascii() and json.loads(ascii_run.stdout) == json.loads(whole)


# ---------------------------------------------------------------- the output's slices

@given(st.lists(st.text(max_size=12), max_size=30), st.integers(1, 9), st.booleans())
@settings(max_examples=200, deadline=None)
def test_json_written_in_pieces_is_the_json_written_whole(pieces, size, utf8):
    """Escapes are per character: slicing the text anywhere writes the same characters."""
    text = json.dumps(pieces, ensure_ascii=False)
    cut = [text[i:i + size] for i in range(0, len(text), size)]

    def written(data) -> str:
        stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8" if utf8 else "ascii")
        old, output.STREAM_SLICE = output.STREAM_SLICE, size
        previous, sys.stdout = sys.stdout, stream
        try:
            output.write_json(data)
        finally:
            sys.stdout, output.STREAM_SLICE = previous, old
        stream.flush()
        return stream.buffer.getvalue().decode("utf-8")

    assert written(iter(cut)) == written(text)
    assert json.loads(written(iter(cut))) == pieces


def test_slices_join_small_pieces_and_cut_a_long_text(monkeypatch):
    monkeypatch.setattr(output, "STREAM_SLICE", 4)
    assert list(output.slices(iter(["a", "bc", "def", "g"]))) == ["abcdef", "g"]
    assert list(output.slices("abcdefghij")) == ["abcd", "efgh", "ij"]
    assert list(output.slices(iter([]))) == [] and list(output.slices("")) == []


# ---------------------------------------------------------------- the fast paths write what json writes

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20)


@given(json_like)
@settings(max_examples=200, deadline=None)
def test_pieces_of_data_without_raw_parts_are_what_json_dumps_writes(data):
    assert "".join(json_view._pieces(data)) == json.dumps(data, ensure_ascii=False)


@given(json_like, json_like)
@settings(max_examples=100, deadline=None)
def test_raw_parts_are_placed_as_the_text_json_would_write(first, second):
    document = {"a": [first, {"b": second}], "c": second}
    raw = {"a": [json_view.Raw(json.dumps(first, ensure_ascii=False)),
                 {"b": json_view.Raw(iter([json.dumps(second, ensure_ascii=False)]))}], "c": second}
    assert "".join(json_view._pieces(raw)) == json.dumps(document, ensure_ascii=False)


floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([0.0, -0.0, 5e-324, 1e300, 1.0])


@given(st.integers(0, 2).flatmap(
    lambda ndim: st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim).flatmap(
        lambda shape: st.lists(floats, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))).map(
            lambda entries: np.array(entries, dtype=np.float64).reshape(shape)))))
@settings(max_examples=200, deadline=None)
def test_json_lists_of_a_float_array_are_json_entries_as_json_writes_them(array):
    tensor = TensorValue(array.shape, array=array)
    exact, floating = tensor_text.json_lists(tensor)
    assert exact == json.dumps(tensor_text.json_entries(tensor, "exact"))
    assert floating == json.dumps(tensor_text.json_entries(tensor, "float"))


def test_json_lists_leave_nan_infinity_and_values_to_json():
    assert tensor_text.json_lists(TensorValue((2,), array=np.array([1.0, np.nan]))) is None
    assert tensor_text.json_lists(TensorValue((1,), array=np.array([np.inf]))) is None
    seeded = TensorValue((), array=np.asarray(1.0))
    seeded.entries[()] = seeded.entries[()].__class__(1, 1.0)  # an entry set on its own, as the output's seed
    assert tensor_text.json_lists(seeded) is None
