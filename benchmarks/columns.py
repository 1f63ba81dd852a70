"""Numeric mode over whole columns against the per-node float path, on the benchmark's programs.

    python benchmarks/columns.py            # the programs up to 100,000 nodes, medians of 5
    python benchmarks/columns.py --repeat 1

In one process, in turns: forward + local derivatives + reverse sweep per node
(`settings.VECTORISED_MIN_NODES` out of reach) and over columns (vectorised.py), then the
directional check's two high-precision passes in 30-digit mpmath and in double-double. Every
value, local derivative, kink, contribution, sweep step and gradient of the two paths must be
the same float to the last bit; the check's errors are printed side by side. Times are ratios
of medians taken in the same rounds, after one untimed round of each (templates compiled, numpy
warmed up). No test asserts a timing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from programs import all_programs  # noqa: E402

from backprop_cli import settings  # noqa: E402
from backprop_cli.engine import Request, load  # noqa: E402
from backprop_cli.finite_difference import directional_check  # noqa: E402
from backprop_cli.forward import run_forward  # noqa: E402
from backprop_cli.graph import NodeKind  # noqa: E402
from backprop_cli.source import from_text  # noqa: E402
from backprop_cli.sweeps import run_backward  # noqa: E402


def _bits(column) -> list:
    return [x.hex() if isinstance(x, float) else repr(x) for x in column]


def _passes(graph, bindings, columns: bool):
    settings.VECTORISED_MIN_NODES = 2_000 if columns else 10**12  # columns for every numeric program here
    graph._reaches.clear()
    start = time.perf_counter()
    trace = run_backward(run_forward(graph, bindings, numeric=True))
    return time.perf_counter() - start, trace


def _check(trace, columns: bool):
    flat = trace.forward.flat
    if not columns:
        trace.forward.flat = None  # the 30-digit decimal passes
    inputs = [i for i in trace.graph.inputs if trace.graph.nodes[i].kind is NodeKind.INPUT]
    start = time.perf_counter()
    checks, method = directional_check(trace, inputs)
    elapsed = time.perf_counter() - start
    trace.forward.flat = flat
    return elapsed, checks[0].error, method


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("| program | nodes | groups | passes per node s | over columns s | ratio | bit for bit "
          "| check 30-digit s | double-double s | ratio | error 30-digit | error double-double |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, (text, _) in all_programs().items():
        graph, bindings = load(Request(source=from_text(text)))
        graph.edges  # built once, outside the timings
        times = {"nodes": [], "columns": [], "check nodes": [], "check columns": []}
        same = True
        _passes(graph, bindings, False), _passes(graph, bindings, True)  # compiled templates, numpy warmed up
        for _ in range(args.repeat):
            t_nodes, per_node = _passes(graph, bindings, False)
            t_columns, columns = _passes(graph, bindings, True)
            times["nodes"].append(t_nodes)
            times["columns"].append(t_columns)
            same = same and all(_bits(a) == _bits(b) for a, b in (
                (per_node.forward.column, columns.forward.column), (per_node.locals.local, columns.locals.local),
                (per_node.contributions, columns.contributions), (per_node.gradient_column, columns.gradient_column)))
            same = same and per_node.order == columns.order and per_node.locals.kink == columns.locals.kink
            if columns.forward.flat is not None:
                c_nodes, e_nodes, _ = _check(columns, False)
                c_columns, e_columns, method = _check(columns, True)
                times["check nodes"].append(c_nodes)
                times["check columns"].append(c_columns)
        flat = columns.forward.flat
        median = {k: statistics.median(v) if v else None for k, v in times.items()}
        if flat is None:
            print(f"| {name} | {len(graph.nodes):,} | — (per node) | {median['nodes']:.3f} | — | — | — | — | — | — | — | — |")
            continue
        print(f"| {name} | {len(graph.nodes):,} | {len(flat.groups):,} | {median['nodes']:.3f} | "
              f"{median['columns']:.3f} | {median['columns'] / median['nodes']:.2f} | {'✓' if same else '✗'} | "
              f"{median['check nodes']:.3f} | {median['check columns']:.3f} | "
              f"{median['check columns'] / median['check nodes']:.2f} | {e_nodes:.2e} | {e_columns:.2e} |")


if __name__ == "__main__":
    main()
