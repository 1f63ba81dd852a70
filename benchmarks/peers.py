"""Peer implementations of the same benchmark graphs, each run as its own process:

    python peers.py micrograd SPEC.json     # micrograd's Value (pip install micrograd)
    python peers.py torch SPEC.json         # PyTorch autograd on scalar tensors
    python peers.py sympy SPEC.json         # naive SymPy: diff the flattened output by each input

Each builds the graph from the spec (the same weights as the backprop program), runs the
forward and backward pass, and prints a JSON line: the gradients of a few inputs and the
seconds spent after imports, so the benchmark can check the peers agree.
"""

from __future__ import annotations

import json
import sys
import time


def build(spec: dict, leaf, relu, square_half):
    """Walk the network description with the peer's own operations; returns (output, leaves)."""
    values = spec["values"]
    leaves = {name: leaf(value) for name, value in values.items()}
    if spec["kind"] == "mlp":
        widths = spec["widths"]
        previous = [leaves[f"x{i}"] for i in range(widths[0])]
        for layer in range(1, len(widths)):
            current = []
            last = layer == len(widths) - 1
            for j in range(widths[layer]):
                total = None
                for i, source in enumerate(previous):
                    term = leaves[f"w{layer}_{j}_{i}"] * source
                    total = term if total is None else total + term
                total = total + leaves[f"b{layer}_{j}"]
                current.append(total if last else relu(total))
            previous = current
        return square_half(previous[0] - leaves["t0"]), leaves
    if spec["kind"] == "chain":
        h = leaves["x"]
        for _ in range(spec["depth"]):
            h = relu(h) * leaves["a"] + leaves["b"]
        return h, leaves
    total = None
    for i in range(spec["widths"][0]):
        term = leaves[f"c{i}"] * leaves["x"]
        total = term if total is None else total + term
    return square_half(total), leaves


def report(gradients: dict, names: list[str], seconds: float) -> None:
    print(json.dumps({"gradients": {n: gradients[n] for n in names}, "seconds": seconds}))


def run_micrograd(spec: dict, names: list[str]) -> None:
    from micrograd.engine import Value

    start = time.perf_counter()
    out, leaves = build(spec, Value, lambda v: v.relu(), lambda v: v ** 2 / 2)
    out.backward()
    report({n: leaves[n].grad for n in names}, names, time.perf_counter() - start)


def run_torch(spec: dict, names: list[str]) -> None:
    import torch

    start = time.perf_counter()
    out, leaves = build(spec, lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True),
                        torch.relu, lambda v: v ** 2 / 2)
    out.backward()
    report({n: float(leaves[n].grad) for n in names}, names, time.perf_counter() - start)


def run_sympy(spec: dict, names: list[str]) -> None:
    import sympy as sp

    start = time.perf_counter()
    symbols = {}

    def leaf(value):
        symbol = sp.Symbol(f"s{len(symbols)}", real=True)
        symbols[symbol] = sp.Float(value)
        return symbol

    out, leaves = build(spec, leaf, lambda v: sp.Max(0, v), lambda v: v ** 2 / 2)
    gradients = {n: float(sp.diff(out, leaves[n]).subs(symbols)) for n in names}
    report(gradients, names, time.perf_counter() - start)


if __name__ == "__main__":
    peer, path = sys.argv[1], sys.argv[2]
    with open(path) as handle:
        data = json.load(handle)
    sys.setrecursionlimit(1_000_000)  # micrograd's topological sort recurses
    {"micrograd": run_micrograd, "torch": run_torch, "sympy": run_sympy}[peer](data["spec"], data["names"])
