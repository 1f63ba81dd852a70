"""Benchmark programs: scalar MLPs written out node by node, a deep chain and a wide fan-out.

Every program exists twice: as backprop program text (weights in a `# at:` line), which
`backprop grad --file` reads and which `peer_script.py` translates for micrograd and PyTorch,
and as a plain description (`Network`) that the in-memory peers (`peers.py`: micrograd,
PyTorch, naive SymPy) build the same graph from. The hidden units use relu, which all peers have.

`mlp_matrix` is the hook for the matrix-form MLP of the tensor issue (see its docstring).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import struct
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
    hidden = sum(widths[1:-1])
    # inputs; a product and a sum per weight (the bias closes each sum); a relu per hidden unit;
    # then y0 - t0, ^2 and /2 with their two constants
    net.nodes = len(net.values) + 2 * weights + hidden + 5
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
    net.nodes = len(net.values) + 2 * width - 1 + 4  # products, sums, then ^2 and /2 with their constants
    header = "# at: " + ", ".join(f"{k}={v}" for k, v in net.values.items())
    return header + "\n" + "\n".join(lines) + "\n", net


def all_programs(big: bool = False) -> dict[str, tuple[str, Network]]:
    programs = {name: mlp(name, widths) for name, widths in MLP_SIZES.items() if big or name not in BIG}
    programs["chain-10k"] = chain()
    programs["fanout-10k"] = fanout()
    return programs


# ---------------------------------------------------------------- hook: the matrix-form MLP
# HOOK (tensor issue): backprop has no tensor language yet; it rejects `@`. This writes the same
# kind of network in matrix form, `h1 = relu(W1 @ x + b1)`, with its weights in `.npy` files
# named by the `# at:` line. The binding syntax is a guess until the tensor issue lands: adapt
# it here, then run.py times it (it tries the program once and records the rejection otherwise).

MATRIX_WIDTHS = [32, 128, 128, 96, 1]  # the shape of mlp-100k, as four matrices


def write_npy(path: Path, rows: list[list[float]]) -> None:
    """A float64 array in NumPy's .npy format (version 1.0), written without NumPy."""
    shape = (len(rows), len(rows[0]))
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"  # the data starts at a multiple of 64
    data = struct.pack(f"<{shape[0] * shape[1]}d", *(v for row in rows for v in row))
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + data)


def mlp_matrix(folder: Path, widths: list[int] = MATRIX_WIDTHS, seed: int = 0) -> Path:
    """Write mlp-matrix.bp and its .npy weights (column vectors for x, the biases and t) into folder."""
    rng = random.Random(seed)
    arrays = {"x": [[_value(rng)] for _ in range(widths[0])]}
    lines = []
    previous = "x"
    for layer in range(1, len(widths)):
        arrays[f"W{layer}"] = [[_value(rng) for _ in range(widths[layer - 1])] for _ in range(widths[layer])]
        arrays[f"b{layer}"] = [[_value(rng)] for _ in range(widths[layer])]
        unit = f"h{layer}" if layer < len(widths) - 1 else "y"
        total = f"W{layer} @ {previous} + b{layer}"
        lines.append(f"{unit} = relu({total})" if unit != "y" else f"y = {total}")
        previous = unit
    arrays["t"] = [[0.5]]
    lines.append("L = sum((y - t)^2)/2")
    for name, rows in arrays.items():
        write_npy(folder / f"{name}.npy", rows)
    program = folder / "mlp-matrix.bp"
    header = "# at: " + ", ".join(f"{name}={name}.npy" for name in arrays)
    program.write_text(header + "\n" + "\n".join(lines) + "\n")
    return program
