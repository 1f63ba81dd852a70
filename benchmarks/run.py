"""The benchmark: backprop against micrograd, PyTorch and naive SymPy on the same graphs.

    python benchmarks/run.py              # everything, medians of 5
    python benchmarks/run.py --repeat 3 --quick   # smaller sizes only

Every number is a whole process (start-up, parsing, passes, output), timed in this one run,
so the ratios compare like with like. Peers that are not installed are skipped (micrograd:
`pip install micrograd`; PyTorch: `pip install torch`). Naive SymPy is capped: it is run on
the small programs only and stopped after --sympy-cap seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from programs import all_programs  # noqa: E402

BACKPROP = shutil.which("backprop") or f"{sys.executable} -m backprop_cli"
PYTHON = sys.executable


def timed(command: list[str], timeout: float | None = None) -> tuple[float, str, int]:
    """Wall time, stdout and peak memory (KiB) of one process."""
    # The clock stops when the process ends; its output goes to a file, as a CI job's would, and
    # is passed on only then. (Timing until the 80 MB were copied on added about a second.)
    probe = ("import resource, subprocess, sys, tempfile, time; out = tempfile.TemporaryFile(); "
             "t = time.perf_counter(); r = subprocess.run(sys.argv[1:], stdout=out, stderr=subprocess.PIPE); "
             "elapsed = time.perf_counter() - t; out.seek(0); sys.stdout.write(out.read().decode()); "
             "sys.stderr.write(r.stderr.decode(errors='replace') + f'\\n@@ {elapsed} "
             "{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss} {r.returncode}\\n')")
    # The probe and what it runs form a process group of their own: on a timeout the whole group
    # is killed. (Killing only the probe left a capped naive-SymPy run computing on as an orphan,
    # which slowed every later measurement of the run.)
    with subprocess.Popen([PYTHON, "-c", probe, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    marker = result.stderr.rsplit("@@ ", 1)[-1].split()
    seconds, peak, code = float(marker[0]), int(marker[1]), int(marker[2])
    if code != 0:
        raise RuntimeError(f"{command[:3]} exited {code}: {result.stderr[-500:]}")
    return seconds, result.stdout, peak


def median_times(commands: dict[str, list[str]], repeat: int) -> dict[str, tuple[float, str, int]]:
    """Median wall time, last stdout and peak memory of each command, taking them in turns
    (one run of each per round) so that a slow spell of this shared machine hits them all alike."""
    runs: dict[str, list[tuple[float, str, int]]] = {key: [] for key in commands}
    for _ in range(repeat):
        for key, command in commands.items():
            runs[key].append(timed(command))
    return {key: (statistics.median(r[0] for r in results), results[-1][1], max(r[2] for r in results))
            for key, results in runs.items()}


def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def agree(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def compile_bytecode() -> None:
    """Write backprop's .pyc files, as `pip install .` does. An editable install run with
    PYTHONDONTWRITEBYTECODE=1 (set on this machine) would otherwise compile every module on
    every start, about 40 ms a run that no installed user pays; the peers' packages were
    compiled by pip."""
    spec = importlib.util.find_spec("backprop_cli")
    if spec is not None and spec.submodule_search_locations:
        subprocess.run([PYTHON, "-m", "compileall", "-q", *spec.submodule_search_locations], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="skip the 100,000-node MLP")
    parser.add_argument("--sympy-cap", type=float, default=60.0)
    parser.add_argument("--markdown", type=Path, help="also write the tables here")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="backprop-bench-"))
    programs = all_programs()
    if args.quick:
        programs.pop("mlp-100k")
    peers = [p for p, module in (("micrograd", "micrograd"), ("torch", "torch")) if available(module)]
    rows = []
    lines: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    compile_bytecode()
    # start-up and exact mode against the cold-start floor
    startup = median_times({
        "floor": [PYTHON, "-c", "import sympy, rich, typer"],
        "linear": [*BACKPROP.split(), "grad", "--sample", "linear"],
        "two-layer": [*BACKPROP.split(), "explain", "--sample", "two-layer", "--exact"],
    }, args.repeat)
    floor, linear, two_layer = (startup[key][0] for key in ("floor", "linear", "two-layer"))
    say("## Start-up and exact mode (medians of %d, in turns)" % args.repeat)
    say()
    say("| run | seconds | × cold-start floor | target |")
    say("|---|---|---|---|")
    say(f"| `python -c \"import sympy, rich, typer\"` (the floor) | {floor:.3f} | 1.00 | |")
    say(f"| `backprop grad --sample linear` | {linear:.3f} | {linear / floor:.2f} | ≤ 1.2 |")
    say(f"| `backprop explain --sample two-layer --exact` | {two_layer:.3f} | {two_layer / floor:.2f} | ≤ 1.5 |")
    for name, (text, network) in programs.items():
        program = folder / f"{name}.bp"
        program.write_text(text)
        spec = folder / f"{name}.json"
        names = list(network.values)[:3] + (["t0"] if "t0" in network.values else [])
        spec.write_text(json.dumps({"spec": dataclasses.asdict(network), "names": names}))
        commands = {"backprop": [*BACKPROP.split(), "grad", "--file", str(program), "--format", "json",
                                 "--timeout", "0"]}
        commands.update({peer: [PYTHON, str(HERE / "peers.py"), peer, str(spec)] for peer in peers})
        if name == "mlp-100":
            commands["exact"] = [*BACKPROP.split(), "grad", "--file", str(program), "--exact"]
            commands["floor"] = [PYTHON, "-c", "import sympy, rich, typer"]
        measured = median_times(commands, args.repeat)
        seconds, out, peak = measured["backprop"]
        data = json.loads(out)
        nodes = len(data["nodes"])
        ours = {n: data["gradients"][n]["float"] for n in names}
        row = {"program": name, "nodes": nodes, "backprop": seconds, "memory": peak, "check": data["check"]["ok"]}
        if name == "mlp-100":
            exact, floor_here = measured["exact"][0], measured["floor"][0]
            say(f"| `backprop grad` on mlp-100 ({nodes} nodes), exact | {exact:.3f} | {exact / floor_here:.2f} "
                "| ≤ 1.5 |")
        for peer in peers:
            peer_seconds, peer_out, _ = measured[peer]
            gradients = json.loads(peer_out)["gradients"]
            row[peer] = peer_seconds
            row[f"{peer} agrees"] = all(agree(ours[n], gradients[n]) for n in names)
        if nodes <= 1_500:  # naive SymPy: the small programs only, and capped
            try:
                sympy_seconds, sympy_out, _ = timed([PYTHON, str(HERE / "peers.py"), "sympy", str(spec)],
                                                    timeout=args.sympy_cap)
                row["sympy"] = sympy_seconds
                row["sympy agrees"] = all(agree(ours[n], json.loads(sympy_out)["gradients"][n]) for n in names)
            except subprocess.TimeoutExpired:
                row["sympy"] = math.inf
        rows.append(row)
    say()
    say(f"## Whole-process wall time, `backprop grad --format json` and peers (medians of {args.repeat}, in turns)")
    say()
    header = ["program", "nodes", "backprop s", "µs/node", "peak MiB", "check"]
    for peer in peers:
        header += [f"{peer} s", f"backprop ÷ {peer}", "agree"]
    header += ["naive SymPy s"]
    say("| " + " | ".join(header) + " |")
    say("|" + "---|" * len(header))
    for row in rows:
        cells = [row["program"], f"{row['nodes']:,}", f"{row['backprop']:.2f}",
                 f"{1e6 * row['backprop'] / row['nodes']:.1f}", f"{row['memory'] / 1024:.0f}", str(row["check"])]
        for peer in peers:
            cells += [f"{row[peer]:.2f}", f"{row['backprop'] / row[peer]:.1f}", "✓" if row[f"{peer} agrees"] else "✗"]
        sympy_cell = "—" if "sympy" not in row else (f"> {args.sympy_cap:.0f} (stopped)" if row["sympy"] == math.inf
                                                      else f"{row['sympy']:.2f}")
        cells.append(sympy_cell)
        say("| " + " | ".join(cells) + " |")
    mlps = [r for r in rows if r["program"].startswith("mlp")]
    say()
    say("## Growth of backprop's time per 10× nodes (MLPs)")
    say()
    for small, big in zip(mlps, mlps[1:]):
        size = big["nodes"] / small["nodes"]
        growth = big["backprop"] / small["backprop"]
        say(f"- {small['program']} → {big['program']}: {size:.1f}× nodes, {growth:.1f}× time "
            f"({growth ** (1 / math.log10(size)):.1f}× per 10×)")
    if len(mlps) >= 3:
        first, last = mlps[1], mlps[-1]
        size = last["nodes"] / first["nodes"]
        growth = last["backprop"] / first["backprop"]
        say(f"- {first['program']} → {last['program']}: {size:.0f}× nodes, {growth:.1f}× time "
            f"({growth ** (1 / math.log10(size)):.1f}× per 10×; target ≤ 12×)")
    if args.markdown:
        args.markdown.write_text("\n".join(lines) + "\n")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
