"""Benchmark programs: scalar MLPs written out node by node, a deep chain and a wide fan-out.

Every program exists twice: as backprop program text (weights in a `# at:` line) and as a
plain description (`Network`) that the peer runners (micrograd, PyTorch, naive SymPy) build
the same graph from. The hidden units use relu, which all peers have.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# widths of the scalar MLPs, chosen for about 100, 1,000, 10,000 and 100,000 graph nodes
MLP_SIZES = {
    "mlp-100": [3, 4, 4, 1],
    "mlp-1k": [8, 16, 16, 1],
    "mlp-10k": [16, 48, 48, 1],
    "mlp-100k": [32, 128, 128, 96, 1],
}


@dataclass
class Network:
    name: str
    kind: str  # mlp | chain | fanout
    widths: list[int] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)  # every input's value
    depth: int = 0


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
    header = "# at: " + ", ".join(f"{k}={v}" for k, v in net.values.items())
    return header + "\n" + "\n".join(lines) + "\n", net


def chain(depth: int = 10_000) -> tuple[str, Network]:
    """h_i = relu(h_{i-1})*a + b, depth times: deep, not wide."""
    net = Network("chain-10k", "chain", depth=depth, values={"x": 0.7, "a": 1.0001, "b": 0.0001})
    lines = ["h0 = x"] + [f"h{i} = relu(h{i - 1})*a + b" for i in range(1, depth + 1)]
    header = "# at: " + ", ".join(f"{k}={v}" for k, v in net.values.items())
    return header + "\n" + "\n".join(lines) + "\n", net


def fanout(width: int = 10_000) -> tuple[str, Network]:
    """One input feeding `width` products that are summed: a node with 10,000 consumers."""
    net = Network("fanout-10k", "fanout", widths=[width], values={"x": 0.5})
    for i in range(width):
        net.values[f"c{i}"] = round(0.001 * (i % 997) - 0.4, 3)
    terms = [f"c{i}*x" for i in range(width)]
    lines = [f"s = {' + '.join(terms)}", "L = s^2/2"]
    header = "# at: " + ", ".join(f"{k}={v}" for k, v in net.values.items())
    return header + "\n" + "\n".join(lines) + "\n", net


def all_programs() -> dict[str, tuple[str, Network]]:
    programs = {name: mlp(name, widths) for name, widths in MLP_SIZES.items()}
    programs["chain-10k"] = chain()
    programs["fanout-10k"] = fanout()
    return programs
