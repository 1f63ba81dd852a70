"""The tensor samples and views, end to end: the numbers, the walkthrough's rules and shapes, the
entry chain, symbolic tensors, and the commands that do not take tensors yet."""

import csv
import io

import sympy as sp

TWO_LAYER_SHAPES = "W1=2x2, x=2, b1=2, W2=1x2, b2=1, t=1"


def test_batch_bias_gradient_is_the_sum_over_the_batch(cli_json):
    report = cli_json("grad", "--sample", "batch-bias")
    bias = report["gradients"]["b"]
    assert bias["shape"] == [2]
    assert bias["exact"] == ["0", "1/2"]
    assert bias["float"] == [0.0, 0.5]
    assert bias["fd"] == [0.0, 0.5]
    assert bias["ok"] is True
    # Y - T row by row is [-3/2, 15/4], [2, -7/2], [-1/2, 1/4]: the bias gets the sum of the rows
    y = {n["name"]: n for n in report["nodes"] if n["name"]}["Y"]
    assert y["shape"] == [3, 2]
    assert report["gradients"]["W"]["exact"] == [["-3", "-11/2"], ["9/2", "45/4"]]
    assert report["check"]["ok"] is True


def test_two_layer_matrix_numbers(cli_json):
    report = cli_json("grad", "--sample", "two-layer-matrix")
    gradients = report["gradients"]
    assert gradients["W2"]["shape"] == [1, 2]
    assert gradients["W2"]["exact"][0][0] == "0"  # h[0] = tanh(0) = 0
    u = sp.tanh(sp.Rational(1, 4) - sp.tanh(sp.Rational(1, 2)))  # y = tanh(W2 @ h + b2)
    delta2 = (u - 1) * (1 - u**2)  # (y - t) * (1 - y^2)
    assert abs(gradients["b2"]["float"][0] - float(delta2)) < 1e-15
    h1 = sp.tanh(sp.Rational(1, 2))
    assert abs(gradients["W2"]["float"][0][1] - float(delta2 * h1)) < 1e-15
    # ∂J/∂W1 = outer(δ1, x) with δ1 = (W2.T @ δ2) * (1 - h^2), x = [1, 2]
    delta1 = [float(delta2 * 1 * 1), float(delta2 * -1 * (1 - h1**2))]
    assert all(abs(a - b) < 1e-15 for a, b in zip(gradients["W1"]["float"][0], [delta1[0], 2 * delta1[0]]))
    assert all(abs(a - b) < 1e-15 for a, b in zip(gradients["W1"]["float"][1], [delta1[1], 2 * delta1[1]]))
    assert all(g["ok"] for g in gradients.values())
    assert gradients["W1"]["worst"].startswith("W1[")


def test_softmax_ce_bias_gradient_is_p_minus_y(cli_json):
    report = cli_json("explain", "--sample", "softmax-ce")
    p = {n["name"]: n for n in report["nodes"] if n["name"]}["p"]["value"]["float"]
    assert report["gradients"]["b"]["float"] == [p[0], p[1] - 1, p[2]] or all(
        abs(a - b) < 1e-12 for a, b in zip(report["gradients"]["b"]["float"], [p[0], p[1] - 1, p[2]]))
    edges = report["edges"]
    assert {e["rule"] for e in edges} >= {"matmul", "softmax", "entrywise"}


def test_explain_shows_shapes_rules_and_ends_with_every_entry_checked(cli):
    code, out, err = cli("explain", "--sample", "two-layer-matrix")
    assert code == 0, err
    for line in (" h   = tanh(z1)            (2,)    = [0, 0.4621171573]",
                 "matmul: ∂J/∂W2 = outer(δ, h)   i.e. δ·hᵀ",
                 "outer((1,), (2,)) → (1, 2), the shape of W2 ✓",
                 "matmul: ∂J/∂h = W2.T @ δ",
                 "(2, 1) @ (1,) → (2,), the shape of h ✓",
                 "entry-wise: ∂J/∂z1 = δ * (1 - h^2)",
                 "in the program's names: ∂J/∂z2 = (1 - y^2)*(y - t)",
                 "matmul: ∂J/∂W1 = outer(δ, x)   i.e. δ·xᵀ",
                 "matmul: ∂J/∂x = W1.T @ δ"):
        assert line in out, line
    table = out[out.index("Gradients of J"):]
    rows = [line for line in table.splitlines() if line.strip()[:2] in ("W1", "x[", "b1", "W2", "b2", "t[")]
    assert len(rows) == 4 + 2 + 2 + 2 + 1 + 1 and all(row.rstrip().endswith("✓") for row in rows)
    assert out.rstrip().splitlines()[-1].endswith("∂J/∂t = [1.208992078] ✓")


def test_broadcast_is_shown_as_the_fan_out_it_is(cli):
    code, out, _ = cli("explain", "--sample", "batch-bias")
    assert "broadcast: sums the copies back: ∂L/∂b = sum(δ, 0)   i.e. δ[0] + δ[1] + δ[2]" in out
    assert "(3, 2) → (2,), the shape of b ✓" in out


def test_csv_has_one_row_per_entry(cli):
    code, out, _ = cli("grad", "--sample", "batch-bias", "--format", "csv", "--wrt", "b,W")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["input"] for r in rows] == ["b[0]", "b[1]", "W[0,0]", "W[0,1]", "W[1,0]", "W[1,1]"]
    assert [r["exact"] for r in rows] == ["0", "1/2", "-3", "-11/2", "9/2", "45/4"]
    assert all(r["ok"] == "true" for r in rows)


def test_entry_expands_one_entry_into_its_scalar_chain(cli):
    code, out, _ = cli("explain", "--sample", "two-layer-matrix", "--entry", "W1[0,1]")
    assert code == 0
    chain = out[out.index("One entry"):out.index("Gradients of J")]
    assert "∂J/∂W1[0,1] = ∂J/∂(W1 @ x)[0] × x[1]\n    = (-1.156186098) × 2 = -2.312372197" in chain
    assert "∂J/∂z1[0] = ∂J/∂h[0] × (1 - h[0]^2)" in chain
    assert "∂J/∂h[0] = ∂J/∂(W2 @ h)[0] × W2[0,0]" in chain
    assert chain.rstrip().endswith("∂J/∂J = 1")
    code, _, err = cli("explain", "--sample", "two-layer-matrix", "--entry", "W1[2,0]")
    assert code == 2 and "W1 has shape (2, 2), which has no entry [2,0]" in err
    code, _, err = cli("explain", "--sample", "linear", "--entry", "w[0]")
    assert code == 2 and "the program has no vectors or matrices" in err


def test_learning_rate_updates_every_entry(cli_json):
    report = cli_json("explain", "--sample", "batch-bias", "--lr", "1/2")
    update = report["step"]["updates"]["b"]
    assert update["old"]["exact"] == ["1", "-1/2"]
    assert update["new"]["exact"] == ["1", "-3/4"]  # b - 1/2 * [0, 1/2]


def test_symbolic_tensors_give_matrix_formulas_checked_at_random_points(cli, cli_json):
    program = "h = tanh(W1 @ x + b1); y = W2 @ h + b2; L = sum((y - t)^2)/2"
    report = cli_json("grad", program, "--shape", TWO_LAYER_SHAPES)
    formulas = {name: g["formula"] for name, g in report["gradients"].items()}
    assert formulas == {
        "W1": "outer((1 - h^2)*(W2.T @ (y - t)), x)",
        "x": "W1.T @ ((1 - h^2)*(W2.T @ (y - t)))",
        "b1": "(1 - h^2)*(W2.T @ (y - t))",
        "W2": "outer(y - t, h)",
        "b2": "y - t",
        "t": "t - y",
    }
    assert all(g["ok"] is True and g["exact"] is None and g["float"] is None for g in report["gradients"].values())
    assert report["gradients"]["W1"]["shape"] == [2, 2]
    code, out, _ = cli("explain", "z1 = W1 @ x + b1; h = tanh(z1); z2 = W2 @ h + b2; y = tanh(z2); "
                       "J = sum((y - t)^2) / 2", "--shape", TWO_LAYER_SHAPES)
    assert code == 0
    assert "W2.T @ ((1 - y^2)*(y - t))" in out  # ∂J/∂h, an intermediate, in the list too


def test_symbolic_tensor_broadcasts_and_scalar_upstreams(cli_json):
    report = cli_json("grad", "Y = X @ W.T + b; L = mean(Y)", "--shape", "X=4x2, W=3x2, b=3")
    assert report["gradients"]["b"]["formula"] == "sum(ones(4, 3)/12, 0)"
    assert report["gradients"]["X"]["formula"] == "(ones(4, 3)/12) @ W"
    assert all(g["ok"] for g in report["gradients"].values())


def test_shape_declarations_are_checked(cli):
    for shape, message in (("W1=2y2", "--shape W1=2y2: a shape is N (a vector) or MxN (a matrix)"),
                           ("V=2", "--shape V: 'V' is not an input"),
                           ("W1", "--shape W1: write name=shape")):
        code, _, err = cli("grad", "L = sum(W1 @ x)", "--shape", shape)
        assert code == 2 and message in err, err


def test_forward_mode_over_tensors(cli, cli_json):
    """explain --forward: one pass per entry of a --wrt tensor, or one --tangent direction; each
    result agrees with the reverse pass (∇L·v) and a central difference along v."""
    report = cli_json("explain", "--sample", "batch-bias", "--forward", "--wrt", "b")
    assert report["passes"] == {"forward": 18, "reverse": 1}
    assert [p["direction"] for p in report["forward"]] == [{"b": ["1", "0"]}, {"b": ["0", "1"]}]
    assert [p["result"]["exact"] for p in report["forward"]] == ["0", "1/2"]  # ∂L/∂b entry by entry
    assert all(p["agrees"] and p["ok"] for p in report["forward"])
    code, out, _ = cli("explain", "--sample", "two-layer-matrix", "--forward", "--tangent", "x=[1, -1]")
    assert code == 0
    for line in ("ẋ = [1, -1]", "(W1 @ x)˙ = Ẇ1 @ x + W1 @ ẋ = [3/4, -3/2]", "ḣ = (1 - h^2) * ż1",
                 "Result: the derivative of J along v is -2.231059478",
                 "reverse mode gives ∇J·v = -2.231059478: they agree ✓"):
        assert line in out, line
    assert "one pass per entry of the inputs for the full gradient (12 passes" in " ".join(out.split())
    code, _, err = cli("explain", "--sample", "batch-bias", "--forward", "--tangent", "b=[1]")
    assert code == 2 and "--tangent b: the direction has shape (1,), and b has shape (2,)" in err
    code, _, err = cli("explain", "--sample", "batch-bias", "--forward", "--wrt", "X,W,T")
    assert code == 2 and "forward mode needs one pass per entry: more than 12 here" in err


def test_chinese_walkthrough(cli):
    code, out, _ = cli("explain", "--sample", "batch-bias", "--lang", "zh")
    assert code == 0
    for phrase in ("矩阵乘法：∂L/∂X = δ @ W", "广播：把各份副本的梯度加回来", "与 b 的形状一致 ✓"):
        assert phrase in out, phrase


def test_a_big_numeric_tensor_program_in_json(cli, tmp_path):
    """Float weights from .npz select the numeric mode; the gradients are whole, node records of
    tensors past 1,000 entries give their shape only, and the check runs in long double."""
    import json

    import numpy as np

    rng = np.random.default_rng(7)
    np.savez(tmp_path / "w.npz", W=rng.normal(size=(50, 45)), x=rng.normal(size=45))
    code, out, err = cli("grad", "L = sum(tanh(W @ x))", "--at", f"@{tmp_path / 'w.npz'}", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    W = np.load(tmp_path / "w.npz")["W"]
    x = np.load(tmp_path / "w.npz")["x"]
    expected = np.outer(1 - np.tanh(W @ x) ** 2, x)
    assert np.allclose(report["gradients"]["W"]["float"], expected, rtol=1e-12, atol=0)
    assert report["gradients"]["W"]["exact"][0][0] == repr(report["gradients"]["W"]["float"][0][0])
    assert report["gradients"]["W"]["ok"] is True
    assert "numpy long double" in report["check"]["method"]
    records = {n["name"]: n for n in report["nodes"] if n["name"]}
    assert records["W"]["value"] == {"shape": [50, 45], "exact": None, "float": None, "abbreviated": True}
    assert records["x"]["value"]["float"] == x.tolist()


def test_formulas_along_an_axis_and_of_a_softmax_matrix_are_right(cli_json):
    report = cli_json("grad", "L = sum(sum(X, 1) * c)", "--shape", "X=3x3, c=3")
    assert report["gradients"]["X"]["formula"] == "outer(c, ones(3))" and report["gradients"]["X"]["ok"]
    report = cli_json("grad", "L = sum(log_softmax(Z) * T)", "--shape", "Z=3x3, T=3x3")
    assert report["gradients"]["Z"]["ok"] is True
    report = cli_json("grad", "L = sum(relu(W @ x))", "--shape", "W=2x2, x=2")
    assert report["gradients"]["W"]["formula"] == "outer((1 if (W @ x) > 0, else 0), x)"
    assert report["gradients"]["W"]["ok"] is True  # a Piecewise formula is evaluated, not skipped
    report = cli_json("grad", "L = sum(W * c)", "--shape", "W=2x2, c=2x1")
    assert report["gradients"]["c"]["formula"] == "—"  # (2, 1): the language cannot keep the axis
    assert report["gradients"]["c"]["status"] == "skipped"


def test_user_mistakes_around_tensors_are_errors_not_tracebacks(cli):
    for args, message in [
        (["grad", "L = sum(sqrt(x))", "--at", "x=[0, 1]"],
         "∂L/∂x is undefined here: it needs the local derivative ∂(sqrt(x))/∂x = 1/(2*sqrt(x)), which has no "
         "value at an entry of x (2,)"),
        (["grad", "L = sum(x*y)", "--shape", "x=²"], "--shape x=²: a shape is N (a vector) or MxN (a matrix)"),
        (["grad", "L = sum(x*y)", "--shape", "x=3", "--at", "x=[1, 2]"],
         "--shape x: 'x' is bound (its value has shape (2,)); --shape declares unbound inputs"),
        (["check", "--sample", "linear", "--expect", "w=[1, 2]"], "the claim has shape (2,), and the gradient of w "
                                                                  "is a scalar"),
        (["explain", "--sample", "batch-bias", "--entry", "b[0]", "--format", "json"],
         "--entry expands one entry in the tree view of the reverse pass"),
    ]:
        code, _, err = cli(*args)
        assert code == 2 and message in " ".join(err.split()), (args, err)
    code, out, _ = cli("check", "--sample", "linear", "--expect", "w=sum([1, -7])")
    assert code == 0 and "✓ ∂L/∂w = sum([1, -7])" in out


def test_the_table_of_a_big_tensor_gives_its_first_entries_and_counts_the_rest(cli, tmp_path):
    import numpy as np

    rng = np.random.default_rng(3)
    np.savez(tmp_path / "w.npz", W=rng.normal(size=(60, 50)), x=rng.normal(size=50))
    code, out, _ = cli("grad", "L = sum(tanh(W @ x))", "--at", f"@{tmp_path / 'w.npz'}")
    assert code == 0
    rows = [line.split()[0] for line in out.splitlines() if line.strip().startswith("W[")]
    assert rows[:12] == [f"W[0,{k}]" for k in range(12)]
    assert 12 <= len(rows) <= 12 + 3  # and the entries the check took one by one
    assert f"… {3000 - len(rows):,} more of W" in out
    assert "Tables show each tensor's first 12 entries" in " ".join(out.split())


def test_scalar_inputs_in_a_tensor_program(cli):
    """A scalar input beside tensors (a literal's entry, a factor): every view, the table too."""
    for program, at in (("L = a * sum(x)", "a=1, x=[1, 2]"), ("y = [[a, 2], [3, 4]] @ x; L = sum(y)", "x=[1, 2], a=1")):
        code, out, err = cli("grad", program, "--at", at)
        assert code == 0, err
        assert " a  " in out or "a " in out
    code, out, _ = cli("grad", "L = a * sum(x)", "--at", "a=1, x=[1, 2]", "--format", "csv")
    rows = [line.split(",") for line in out.splitlines()[1:]]
    assert [(r[0], r[1], r[2], r[6]) for r in rows] == [("a", "1", "3", "true"), ("x[0]", "1", "1", "true"),
                                                        ("x[1]", "2", "1", "true")]


def test_a_transpose_hint_never_doubles_a_transpose(cli):
    program = "G = X.T @ (Y - T).T; L = sum(G)"
    code, _, err = cli("grad", program, "--at", "X=[[1, 2], [3, 4], [5, 6]], Y=[[1, 0], [0, 1], [1, 1]], "
                       "T=[[0, 0], [1, 1], [0, 1]]")
    assert code == 2 and "hint: did you mean X @ (Y - T).T?" in err
    # as a claimed gradient the same formula is a wrong answer, with the reason (tensor claims)
    code, out, _ = cli("check", "--sample", "batch-bias", "--expect", "W = X.T @ (Y - T).T")
    assert code == 1 and "the inner sizes 3 and 2 differ" in " ".join(out.split())
