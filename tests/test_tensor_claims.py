"""Tensor claims: values and formulas compared shape first, then entry by entry; each known matrix
mistake diagnosed from a constructed wrong answer, word for word; none for an unrelated error;
the seed tutorial's formulas as a case file; claims from files; random mutations never pass."""

import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

TWO_LAYER = "z1 = W1 @ x + b1; h = tanh(z1); z2 = W2 @ h + b2; y = tanh(z2); J = sum((y - t)^2) / 2"


def likely(out: str) -> list[str]:
    """The diagnosis sentences of a check report, in order, each joined back into one line."""
    import re

    text = " ".join(line.strip() for line in out.splitlines())
    stops = re.compile(r" (?:✗|✓) | or: | likely mistake: | \d+ passed, \d+ failed")
    found = []
    for match in re.finditer(r"(?:likely mistake|or): ", text):
        end = stops.search(text, match.end())
        found.append(text[match.end():end.start() if end else len(text)].strip())
    return found


@pytest.mark.parametrize("claim, diagnosis", [
    ("W2 = outer(y - t, h)", "the local derivative of y is left out: f′ = 1 - y^2"),
    ("b2 = (y - t)*(1 - y^2)^2", "the local derivative of y, 1 - y^2, is applied twice"),
    ("h = (y - t)*(1 - y^2)", "W2ᵀ is missing: the gradient reaches h through (W2 @ h) as W2.T @ δ"),
    ("W1 = outer((W2.T @ ((y - t)*(1 - y^2)))*(1 - h^2), x).T",
     "transposed: the claim is the transpose of the right gradient"),
    ("W1 = (W2.T @ ((y - t)*(1 - y^2))) * (1 - h^2) * W1",
     "the layer's weight W1 stands where its input belongs: the rule is ∂J/∂W1 = outer(δ, x)"),
    ("W2 = outer((y - t)*(1 - y^2), x)",
     "x stands where the layer's input h belongs: the rule is ∂J/∂W2 = outer(δ, h)"),
    ("h = z1", None),  # a value that is no known mistake
])
def test_each_matrix_mistake_is_named(cli, claim, diagnosis):
    code, out, err = cli("check", "--sample", "two-layer-matrix", "--expect", claim)
    assert code == 1, err
    found = likely(out)
    if diagnosis is None:
        assert found == [], out
    else:
        assert found[0] == diagnosis, out


def test_delta_given_for_the_activation_is_named_as_the_other_gradient(cli):
    code, out, _ = cli("check", "--sample", "two-layer-matrix", "--expect", "h = (1 - h^2)*(W2.T @ ((1 - y^2)*(y - t)))")
    assert code == 1
    assert likely(out) == ["that is ∂J/∂z1, not ∂J/∂h"], out


@pytest.mark.parametrize("claim, diagnosis", [
    ("b = Y - T", "not summed over the batch: b is added to each of the 3 rows of Y, so its gradient "
                  "is the sum of the rows' gradients, sum(δ, 0)"),
    ("b = mean(Y - T, 0)", "a mean where the sum belongs: b is added to each of the 3 rows of Y, and "
                           "its gradient is their sum, 3 times the mean"),
    ("W = X.T @ (Y - T)", "transposed: the claim is the transpose of the right gradient"),
    ("W = (Y - T).T @ X * 2", "the claim is 2 times the right gradient (a factor 1/2 left out?)"),
    ("b = [[0, 1/2]]", "the right values in the wrong shape: NumPy keeps (2,) and the claim's shape apart "
                       "(a vector (n,) is not a row (1, n) or a column (n, 1))"),
    ("W = -(Y - T).T @ X", "the sign is flipped"),
    ("b = sum(Y - T, 1)", "summed over the wrong axis: b is added to each of the 3 rows of Y, so its gradient sums "
                          "over the rows, sum(δ, 0), not along each row"),
])
def test_batch_mistakes_are_named(cli, claim, diagnosis):
    code, out, _ = cli("check", "--sample", "batch-bias", "--expect", claim)
    assert code == 1
    assert likely(out)[0] == diagnosis, out


def test_right_claims_pass_shape_and_entries(cli, cli_json):
    code, out, _ = cli("check", "--sample", "batch-bias", "--expect", "b = sum(Y - T, 0)",
                       "--expect", "W = (Y - T).T @ X", "--expect", "b=[0, 1/2]", "--expect", "b=[0, 0.5000001]")
    assert code == 0, out
    assert out.rstrip().endswith("4 passed, 0 failed")
    code, out, _ = cli("check", "--sample", "batch-bias", "--expect", "b=[0, 1/3]")
    assert code == 1
    assert "b[1]: 0 ≠ 1/2" not in out and "b[1]: 1/3 ≠ 1/2" in out
    assert "right: ∂L/∂b = [0, 1/2]" in out and "as a formula: ∂L/∂b = sum(Y - T, 0)" in out
    code, out, _ = cli("check", "--sample", "batch-bias", "--expect", "b=[1, 2, 3]")
    assert "∂L/∂b = [1, 2, 3] has shape (3,); the gradient has shape (2,)" in out


def test_json_report_of_a_tensor_claim(cli):
    code, out, _ = cli("check", "--sample", "batch-bias", "--expect", "b = Y - T", "--format", "json")
    data = json.loads(out)
    claim = data["claims"][0]
    assert claim["ok"] is False and claim["shape"] == [2] and claim["claimed_shape"] == [3, 2]
    assert claim["correct"]["exact"] == ["0", "1/2"]
    assert claim["formula"] == "sum(Y - T, 0)"
    assert [d["kind"] for d in claim["diagnoses"]] == ["missing_sum", "other_node"]


def test_seed_formulas_case_file(cli):
    code, out, _ = cli("check", "--cases", "samples/seed-formulas.toml")
    assert code == 1
    assert out.rstrip().endswith("2 passed, 4 failed")
    found = likely(out)
    assert found == [
        "W2ᵀ is missing: the gradient reaches h through (W2 @ h) as W2.T @ δ",
        "that is ∂J/∂z2, not ∂J/∂h",
        "x stands where the layer's input h belongs: the rule is ∂J/∂W2 = outer(δ, h)",
        "the local derivative of y, 1 - y^2, is applied twice",
        "the layer's weight W1 stands where its input belongs: the rule is ∂J/∂W1 = outer(δ, x)",
    ], out
    for formula in ("as a formula: ∂J/∂h = W2.T @ ((1 - y^2)*(y - t))", "as a formula: ∂J/∂W2 = outer((1 - y^2)*(y - t), h)",
                    "as a formula: ∂J/∂b2 = (1 - y^2)*(y - t)"):
        assert formula in " ".join(line.strip() for line in out.splitlines()), formula


def test_claims_from_files(cli, tmp_path):
    np.savez(tmp_path / "grads.npz", W=np.array([[-3.0, -5.5], [4.5, 11.25]]), b=np.array([0.0, 0.5, 0.0]))
    np.save(tmp_path / "db.npy", np.array([0.0, 0.5]))
    (tmp_path / "grads.json").write_text('{"b": [0, "1/2"], "W": [[-3, -5.5], [4.5, 11.25]]}')
    code, out, _ = cli("check", "--sample", "batch-bias", "--expect", f"@{tmp_path / 'grads.npz'}")
    assert code == 1
    assert f"✓ ∂L/∂W = @{tmp_path / 'grads.npz'} (W)" in out
    assert f"∂L/∂b = @{tmp_path / 'grads.npz'} (b) has shape (3,); the gradient has shape (2,)" in " ".join(out.split())
    code, out, _ = cli("check", "--sample", "batch-bias", "--expect", f"b=@{tmp_path / 'db.npy'}",
                       "--expect", f"@{tmp_path / 'grads.json'}")
    assert code == 0, out
    assert out.rstrip().endswith("3 passed, 0 failed")
    code, _, err = cli("check", "--sample", "batch-bias", "--expect", f"@{tmp_path / 'missing.npz'}")
    assert code == 2 and "does not exist" in err


def test_sigmoid_bce_simplification_can_be_claimed(cli):
    code, out, _ = cli("check", "--sample", "sigmoid-bce", "--expect", "z = (p - t)/4", "--expect", "z = p - t")
    assert code == 1
    assert "✓ ∂L/∂z = (p - t)/4" in out
    assert likely(out) == ["the claim is 4 times the right gradient (a factor 1/4 left out?)"]


RIGHT = {  # two-layer-matrix's gradients, as a student should write them
    "W2": "outer((y - t)*(1 - y^2), h)",
    "h": "W2.T @ ((y - t)*(1 - y^2))",
    "W1": "outer((W2.T @ ((y - t)*(1 - y^2)))*(1 - h^2), x)",
    "b1": "(W2.T @ ((y - t)*(1 - y^2)))*(1 - h^2)",
    "x": "W1.T @ ((W2.T @ ((y - t)*(1 - y^2)))*(1 - h^2))",
}
MUTATIONS = [
    ("W2.T", "W2"), ("W1.T", "W1"),  # a transpose dropped
    ("*(1 - h^2)", ""), ("*(1 - y^2)", ""),  # a factor dropped
    ("outer((y - t)*(1 - y^2), h)", "outer(h, (y - t)*(1 - y^2))"),  # operands swapped
    (", x)", ", h)"), ("(y - t)", "(t - y)"),
]


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(sorted(RIGHT)), mutation=st.sampled_from(MUTATIONS))
def test_right_formulas_pass_and_mutated_ones_never_do(name, mutation):
    from backprop_cli.claims import check_claims, parse_claims
    from backprop_cli.engine import load, Request
    from backprop_cli.source import from_sample

    graph, bindings = load(Request(from_sample("two-layer-matrix")))
    right = RIGHT[name]
    outcome = check_claims(graph, bindings, parse_claims([f"{name} = {right}"]))
    assert outcome.ok, right
    old, new = mutation
    if old not in right:
        return
    mutated = right.replace(old, new, 1)
    try:
        outcome = check_claims(graph, bindings, parse_claims([f"{name} = {mutated}"]))
    except Exception as error:  # a mutation that breaks the shapes is an error, which is not a pass either
        from backprop_cli.errors import BackpropError
        assert isinstance(error, BackpropError), error
        return
    assert not outcome.ok, mutated


def test_a_formula_is_proven_symbolically_where_sympy_can(cli):
    code, out, _ = cli("check", "--sample", "two-layer-matrix", "--expect", "W2 = outer((y - t)*(1 - y^2), h)")
    assert code == 0
    assert "(SymPy simplifies the difference to 0, and it agrees at 4 random points)" in " ".join(out.split())
    # an equal form SymPy cannot see through the matrix operations stays with the random points
    code, out, _ = cli("check", "--sample", "batch-bias", "--expect", "W = (X.T @ (Y - T)).T")
    assert code == 0 and "agrees at 4 random points where the program is defined" in " ".join(out.split())


def test_a_formula_whose_shapes_do_not_fit_is_a_wrong_claim(cli):
    """`x @ W2` for (2,) @ (1, 2) is a wrong answer, not bad input: exit 1, the reason and the
    right gradient shown, and the other claims still checked."""
    right_b1 = "b1 = (1 - h^2)*(W2.T @ ((1 - y^2)*(y - t)))"
    code, out, err = cli("check", "--sample", "two-layer-matrix", "--expect", "W1 = x @ W2", "--expect", right_b1)
    assert code == 1 and err == ""
    text = " ".join(out.split())
    assert ("✗ ∂J/∂W1 = x @ W2 cannot be evaluated: its shapes do not fit "
            "(x @ W2: (2,) @ (1, 2) — the inner sizes 2 and 1 differ)") in text
    assert "as a formula: ∂J/∂W1 = outer((1 - h^2)*(W2.T @ ((1 - y^2)*(y - t))), x)" in text
    assert "✓ ∂J/∂b1 =" in text and text.endswith("1 passed, 1 failed")
    code, out, _ = cli("check", "--sample", "two-layer-matrix", "--expect", "W1 = x @ W2", "--lang", "zh")
    assert code == 1 and "无法求值：形状对不上" in out and "内侧维度 2 与 1 不一致" in out
    code, out, _ = cli("check", "--sample", "two-layer-matrix", "--expect", "W1 = x @ W2", "--format", "json")
    claim = json.loads(out)["claims"][0]
    assert code == 1 and claim["ok"] is False and claim["claimed_shape"] is None and claim["method"] == "shapes"
    assert claim["shape_error"] == "x @ W2: (2,) @ (1, 2) — the inner sizes 2 and 1 differ"
