"""Benchmark programs: scalar MLPs written out node by node, a deep chain and a wide fan-out.

Every program exists twice: as backprop program text (weights in a `# at:` line), which
`backprop grad --file` reads and which `peer_script.py` translates for micrograd and PyTorch,
and as a plain description (`Network`) that the in-memory peers (`peers.py`: micrograd,
PyTorch, naive SymPy) build the same graph from. The hidden units use relu, which all peers have.

`mlp_matrix` writes the matrix-form MLP (784-128-10, a batch of 32) with its arrays in one
`.npz`; the PyTorch peer runs that program through `peer_script.py` too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

# widths of the scalar MLPs, chosen for about 100, 1,000, 10,000, 100,000 and 1,000,000 graph nodes
MLP_SIZES = {
    "mlp-100": [3, 4, 4, 1],
    "mlp-1k": [8, 16, 16, 1],
    "mlp-10k": [16, 48, 48, 1],
    "mlp-100k": [32, 128, 128, 96, 1],
    "mlp-1m": [64, 256, 480, 400, 1],
}
BIG = {"mlp-1m"}  # run only without --quick, and on their own (see run.py)


@dataclass
class Network:
    name: str
    kind: str  # mlp | chain | fanout
    widths: list[int] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)  # every input's value
    depth: int = 0
    nodes: int = 0  # graph nodes as backprop counts them: inputs, constants, operations


def _value(rng: random.Random) -> float:
    return round(rng.uniform(-1, 1), 3) or 0.001


def mlp(name: str, widths: list[int], seed: int = 0) -> tuple[str, Network]:
    rng = random.Random(seed)
    net = Network(name, "mlp", widths)
    lines: list[str] = []
    previous = [f"x{i}" for i in range(widths[0])]
    for name_ in previous:
        net.values[name_] = _value(rng)
    for layer in range(1, len(widths)):
        current = []
        last = layer == len(widths) - 1
        for j in range(widths[layer]):
            terms = []
            for i, source in enumerate(previous):
                weight = f"w{layer}_{j}_{i}"
                net.values[weight] = _value(rng)
                terms.append(f"{weight}*{source}")
            bias = f"b{layer}_{j}"
            net.values[bias] = _value(rng)
            unit = f"h{layer}_{j}" if not last else f"y{j}"
            total = " + ".join(terms) + f" + {bias}"
            lines.append(f"{unit} = {total}" if last else f"{unit} = relu({total})")
            current.append(unit)
        previous = current
    net.values["t0"] = 0.5
    lines.append("L = (y0 - t0)^2/2")
    weights = sum(a * b for a, b in zip(widths, widths[1:]))
    units = sum(widths[1:])
    hidden = sum(widths[1:-1])
    # inputs; a product per weight; one sum per unit (its products and its bias: sums are n-ary);
    # a relu per hidden unit; then y0 - t0, ^2 and /2 with their two constants
    net.nodes = len(net.values) + weights + units + hidden + 5
    header = "# at: " + ", ".join(f"{k}={v}" for k, v in net.values.items())
    return header + "\n" + "\n".join(lines) + "\n", net


def chain(depth: int = 10_000) -> tuple[str, Network]:
    """h_i = relu(h_{i-1})*a + b, depth times: deep, not wide."""
    net = Network("chain-10k", "chain", depth=depth, values={"x": 0.7, "a": 1.0001, "b": 0.0001})
    lines = ["h0 = x"] + [f"h{i} = relu(h{i - 1})*a + b" for i in range(1, depth + 1)]
    net.nodes = len(net.values) + 1 + 3 * depth  # the inputs, the copy h0, then relu, * and + per step
    header = "# at: " + ", ".join(f"{k}={v}" for k, v in net.values.items())
    return header + "\n" + "\n".join(lines) + "\n", net


def fanout(width: int = 10_000) -> tuple[str, Network]:
    """One input feeding `width` products that are summed: a node with 10,000 consumers."""
    net = Network("fanout-10k", "fanout", widths=[width], values={"x": 0.5})
    for i in range(width):
        net.values[f"c{i}"] = round(0.001 * (i % 997) - 0.4, 3)
    terms = [f"c{i}*x" for i in range(width)]
    lines = [f"s = {' + '.join(terms)}", "L = s^2/2"]
    net.nodes = len(net.values) + width + 1 + 4  # products, one n-ary sum, then ^2 and /2 with their constants
    header = "# at: " + ", ".join(f"{k}={v}" for k, v in net.values.items())
    return header + "\n" + "\n".join(lines) + "\n", net


def all_programs(big: bool = False) -> dict[str, tuple[str, Network]]:
    programs = {name: mlp(name, widths) for name, widths in MLP_SIZES.items() if big or name not in BIG}
    programs["chain-10k"] = chain()
    programs["fanout-10k"] = fanout()
    return programs


# ---------------------------------------------------------------- the matrix-form MLP
# A batch through a 784-128-10 tanh network in matrix form, softmax cross-entropy: 101,770
# parameters in four arrays (the job is their gradients). All six arrays are in one .npz, which
# backprop binds with `--at @FILE.npz` (every array bound to its name, float64: the numeric mode).

MATRIX_WIDTHS = (784, 128, 10)  # inputs, hidden units, classes
MATRIX_BATCH = 32
MATRIX_PARAMETERS = ("W1", "b1", "W2", "b2")  # the names --wrt asks for; X and Y are data


@dataclass
class Matrix:
    program: Path
    weights: Path  # the .npz of every input
    parameters: int  # entries of the arrays in MATRIX_PARAMETERS


def mlp_matrix(folder: Path, widths: tuple[int, int, int] = MATRIX_WIDTHS, batch: int = MATRIX_BATCH,
               seed: int = 0) -> Matrix:
    """Write mlp-matrix.bp and mlp-matrix.npz into folder: standard normal inputs X (batch, n), weights
    scaled by 1/sqrt(fan-in) so tanh stays off its flat ends, biases of 0.1·N(0, 1), one-hot labels Y."""
    import numpy as np  # backprop's own dependency; only the matrix program needs it here

    n_in, n_hidden, n_out = widths
    rng = np.random.default_rng(seed)
    arrays = {
        "X": rng.standard_normal((batch, n_in)),
        "W1": rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in),
        "b1": 0.1 * rng.standard_normal(n_hidden),
        "W2": rng.standard_normal((n_hidden, n_out)) / np.sqrt(n_hidden),
        "b2": 0.1 * rng.standard_normal(n_out),
        "Y": np.eye(n_out)[rng.integers(0, n_out, batch)],
    }
    weights = folder / "mlp-matrix.npz"
    np.savez(weights, **arrays)
    program = folder / "mlp-matrix.bp"
    program.write_text(
        f"# A {n_in}-{n_hidden}-{n_out} tanh MLP on a batch of {batch}, softmax cross-entropy; bind with --at @{weights.name}\n"
        f"# X ({batch}, {n_in}), W1 ({n_in}, {n_hidden}), b1 ({n_hidden},), W2 ({n_hidden}, {n_out}), "
        f"b2 ({n_out},), Y ({batch}, {n_out}) one-hot\n"
        "H = tanh(X @ W1 + b1)\n"
        "Z = H @ W2 + b2\n"
        f"L = -sum(Y * log_softmax(Z)) / {batch}\n")
    return Matrix(program, weights, sum(arrays[name].size for name in MATRIX_PARAMETERS))
