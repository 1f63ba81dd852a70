"""The benchmark: whole processes doing the same job on the same program files, in turns.

    python benchmarks/run.py                      # everything, medians of 5
    python benchmarks/run.py --quick --repeat 1   # the small programs, one round
    python benchmarks/run.py --matrix             # only the matrix-form MLP (about a minute)

The job: read a generated program file, compute every input's gradient, print them. backprop
does it as `backprop grad --file P --format csv` and `--format json`; micrograd and PyTorch do it
as `python peer_script.py PEER P`, which reads the same file, translates it to a Python script
(`^` as `**`, relu as the peer's own op, inputs bound from the same `# at:` numbers), runs it,
calls `backward()` and prints every input's gradient. Their gradients must agree with backprop's
CSV to 1e-9 relative. Extra figures: the in-memory peers of `peers.py` (micrograd and PyTorch
building the graph from a description, no program text), and naive SymPy on the small programs
(capped at --sympy-cap seconds, run once). Every number is a whole process, timed in this one
run; the commands of each table take turns (one run of each per round), so the ratios compare
like with like. Peers that are not installed are skipped (`pip install micrograd torch`).

The matrix-form MLP (784-128-10, a batch of 32, 101,770 parameters) has a table of its own: backprop
`grad --file P --at @weights.npz --wrt W1,b1,W2,b2 --format json`, the floor
`python -c "import numpy, sympy, rich, typer"` and PyTorch's script on the same program and .npz
(`peer_script.py torch P --at @weights.npz --wrt ...`), in turns; the four gradients must agree
entry by entry to 1e-9 relative.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import importlib.util
import io
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
from programs import BIG, MATRIX_PARAMETERS, all_programs, mlp_matrix  # noqa: E402

# the console script next to this Python (as an installed user runs it), else on PATH, else -m
_SCRIPT = Path(sys.executable).parent / "backprop"
BACKPROP = str(_SCRIPT) if _SCRIPT.exists() else shutil.which("backprop") or f"{sys.executable} -m backprop_cli"
PYTHON = sys.executable
FLOOR = [PYTHON, "-c", "import sympy, rich, typer"]
MATRIX_FLOOR = [PYTHON, "-c", "import numpy, sympy, rich, typer"]  # numpy: the tensor container
GiB = 1024 ** 3


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


class Failed(Exception):
    """A command that exited non-zero or was stopped; its message goes into the table."""


def run_once(command: list[str], timeout: float | None = None) -> tuple[float, str, int]:
    try:
        return timed(command, timeout)
    except subprocess.TimeoutExpired:
        raise Failed(f"stopped after {timeout:g} s") from None
    except RuntimeError as error:
        message = str(error).rsplit("@@ ", 1)[0]  # without the probe's own timing line
        message = "exited" + message.split(" exited", 1)[-1]  # without the command
        if 'File "' in message:  # a crash (the tail of a traceback): its last line says what it was
            message = message.split(":", 1)[0] + ": a traceback ending " + message.strip().splitlines()[-1]
        raise Failed(" ".join(message.split())[:300]) from None


def median_times(commands: dict[str, list[str]], repeat: int, timeout: float | None = None
                 ) -> dict[str, tuple[float, str, int] | Failed]:
    """Median wall time, last stdout and peak memory (KiB) of each command, taking them in turns
    (one run of each per round) so that a slow spell of this shared machine hits them all alike.
    A command that fails once is recorded as failed and not run again."""
    runs: dict[str, list[tuple[float, str, int]]] = {key: [] for key in commands}
    failed: dict[str, Failed] = {}
    for _ in range(repeat):
        for key, command in commands.items():
            if key not in failed:
                try:
                    runs[key].append(run_once(command, timeout))
                except Failed as error:
                    failed[key] = error
    return {key: failed[key] if key in failed else
            (statistics.median(r[0] for r in results), results[-1][1], max(r[2] for r in results))
            for key, results in runs.items()}


def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def agree(a: float, b: float) -> bool:
    """Equal to 1e-9 relative (a gradient of exactly 0 must be 0)."""
    return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def backprop_gradients(csv_text: str) -> dict[str, float]:
    return {row["input"]: float(row["float"]) for row in csv.DictReader(io.StringIO(csv_text))}


def peer_gradients(csv_text: str) -> dict[str, float]:
    return {row["input"]: float(row["gradient"]) for row in csv.DictReader(io.StringIO(csv_text))}


def agreement(ours: dict[str, float], theirs: dict[str, float]) -> str:
    if set(ours) != set(theirs):
        return f"✗ inputs differ ({len(ours)} against {len(theirs)})"
    wrong = [name for name in ours if not agree(ours[name], theirs[name])]
    return f"✓ {len(ours):,}" if not wrong else f"✗ {len(wrong):,} of {len(ours):,}"


def compile_bytecode() -> None:
    """Write backprop's .pyc files, as `pip install .` does. An editable install run with
    PYTHONDONTWRITEBYTECODE=1 (set on this machine) would otherwise compile every module on
    every start, about 40 ms a run that no installed user pays; the peers' packages were
    compiled by pip."""
    spec = importlib.util.find_spec("backprop_cli")
    if spec is not None and spec.submodule_search_locations:
        subprocess.run([PYTHON, "-m", "compileall", "-q", *spec.submodule_search_locations], check=True)


def target(ratio: float, limit: float) -> str:
    return f"{ratio:.2f} × (≤ {limit}) {'✓' if ratio <= limit else '✗'}"


def flat(nested) -> list[float]:
    """The entries of a gradient as JSON nests them (a number, or lists of lists), row by row."""
    if not isinstance(nested, list):
        return [float(nested)]
    return [value for item in nested for value in flat(item)]


def matrix_job(folder: Path, backprop: list[str], repeat: int, say) -> list[tuple[str, str]]:
    """The matrix-form MLP's table, in turns: backprop's JSON run (its default check), the same without
    the check and as CSV, the floor and PyTorch's script. Returns the verdicts against issue 13's targets."""
    matrix = mlp_matrix(folder)
    wrt = ",".join(MATRIX_PARAMETERS)
    grad = [*backprop, "grad", "--file", str(matrix.program), "--at", f"@{matrix.weights}", "--wrt", wrt,
            "--timeout", "0"]
    commands = {
        "json": [*grad, "--format", "json"],
        "json, --check none": [*grad, "--format", "json", "--check", "none"],
        "csv, --check none": [*grad, "--format", "csv", "--check", "none"],
        "floor": MATRIX_FLOOR,
    }
    if available("torch"):
        commands["torch"] = [PYTHON, str(HERE / "peer_script.py"), "torch", str(matrix.program),
                             "--at", f"@{matrix.weights}", "--wrt", wrt]
    measured = median_times(commands, repeat, timeout=600)
    floor, torch = measured["floor"], measured.get("torch")
    if isinstance(floor, Failed):
        raise SystemExit(f"the floor failed: {floor}")
    for key in ("json", "json, --check none"):  # the gradients: from the run with the check, if it ran
        if not isinstance(measured[key], Failed):
            ours, source = json.loads(measured[key][1]), key
            break
    else:
        ours, source = None, None
    if ours is not None and torch is not None and not isinstance(torch, Failed):
        theirs = json.loads(torch[1])["gradients"]
        pairs = {name: (flat(ours["gradients"][name]["float"]), flat(theirs[name])) for name in MATRIX_PARAMETERS}
        wrong = sum(not agree(a, b) for mine, peer in pairs.values() for a, b in zip(mine, peer))
        worst = max((abs(a - b) / max(abs(a), abs(b)) for mine, peer in pairs.values()
                     for a, b in zip(mine, peer) if a != b), default=0.0)
        shapes = all(len(mine) == len(peer) for mine, peer in pairs.values())
        entries = sum(len(mine) for mine, _ in pairs.values())
        agreement_ = (f"✓ {entries:,} entries (worst {worst:.1e} relative; gradients of `{source}`)"
                      if shapes and not wrong else f"✗ {wrong:,} of {entries:,} entries")
    else:
        agreement_ = "— (no gradients to compare)"

    lines = matrix.program.read_text().splitlines()[2:]
    say(f"### The matrix-form MLP: {matrix.parameters:,} parameters (medians of {repeat}, in turns)")
    say()
    say("`" + "; ".join(lines) + "`, all inputs bound from one .npz (float64: the numeric mode), the job "
        f"the gradients of {', '.join(MATRIX_PARAMETERS)}.")
    say()
    say("| run | seconds | peak MiB | output MB | × floor | × torch script | target |")
    say("|---|---|---|---|---|---|---|")
    labels = {
        "json": ("`backprop grad --file P --at @weights.npz --wrt W1,b1,W2,b2 --format json` (its default check)",
                 "≤ 1.5 × floor, ≤ 0.5 × torch"),
        "json, --check none": ("the same with `--check none`", ""),
        "csv, --check none": ("`--format csv --check none`", ""),
        "floor": ('`python -c "import numpy, sympy, rich, typer"` (the floor)', ""),
        "torch": ("PyTorch's script on P and the .npz (`peer_script.py torch`)", ""),
    }
    torch_s = torch[0] if torch is not None and not isinstance(torch, Failed) else None
    for key, (label, goal) in labels.items():
        if key not in measured:
            continue
        result = measured[key]
        if isinstance(result, Failed):
            say(f"| {label} | failed: {result} | | | | | {goal} |")
            continue
        seconds, out, peak = result
        against_torch = f"{seconds / torch_s:.2f}" if torch_s else "—"
        say(f"| {label} | {seconds:.2f} | {peak / 1024:.0f} | {len(out.encode()) / 1e6:.1f} | "
            f"{seconds / floor[0]:.2f} | {against_torch} | {goal} |")
    check = measured["json"]
    if not isinstance(check, Failed):
        say()
        say(f"backprop's check: {json.loads(check[1])['check']['ok']}.")
    say()
    say(f"Gradients against PyTorch's (1e-9 relative, every entry): {agreement_}.")

    verdicts = []
    bare = measured["json, --check none"]
    for against, seconds, limit in (("`import numpy, sympy, rich, typer`", floor[0], 1.5),
                                    ("PyTorch's script", torch_s, 0.5)):
        if seconds is None:
            continue
        label = f"matrix MLP `grad --format json` ≤ {limit} × {against}"
        if isinstance(check, Failed):
            aside = "" if isinstance(bare, Failed) else f"; with `--check none` {bare[0] / seconds:.2f} ×"
            verdicts.append((label, f"failed{aside} ✗"))
        else:
            verdicts.append((label, target(check[0] / seconds, limit)))
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="skip the 100,000- and 1,000,000-node MLPs")
    parser.add_argument("--repeat-big", type=int, default=1, help="rounds for the 1,000,000-node MLP")
    parser.add_argument("--big-cap", type=float, default=900.0, help="stop a 1,000,000-node run after this")
    parser.add_argument("--sympy-cap", type=float, default=60.0)
    parser.add_argument("--markdown", type=Path, help="also write the tables here")
    parser.add_argument("--matrix", action="store_true", help="only the matrix-form MLP's table")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="backprop-bench-"))
    programs = all_programs(big=not args.quick)
    if args.quick:
        programs.pop("mlp-100k")
    for name, (text, _) in programs.items():
        (folder / f"{name}.bp").write_text(text)
    peers = [p for p, module in (("micrograd", "micrograd"), ("torch", "torch")) if available(module)]
    backprop = BACKPROP.split()
    lines: list[str] = []
    verdicts: list[tuple[str, str]] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    def table(header: list[str]) -> None:
        say("| " + " | ".join(header) + " |")
        say("|" + "---|" * len(header))

    def row(cells: list[str]) -> None:
        say("| " + " | ".join(cells) + " |")

    compile_bytecode()

    def finish(issues: str) -> None:
        say()
        say(f"### Against the targets ({issues})")
        say()
        table(["target", "measured"])
        for label, verdict in verdicts:
            row([label, verdict])
        if args.markdown:
            args.markdown.write_text("\n".join(lines) + "\n")
        shutil.rmtree(folder, ignore_errors=True)

    if args.matrix:
        verdicts = matrix_job(folder, backprop, args.repeat, say)
        finish("issue 13")
        return

    # ------------------------------------------------------------ start-up and exact mode
    samples = ["branch", "circuit", "linear", "sigmoid-neuron", "two-layer"]
    startup_commands = {
        "floor": FLOOR,
        "--help": [*backprop, "--help"],
        "grad -h": [*backprop, "grad", "-h"],
        "linear": [*backprop, "grad", "--sample", "linear"],
        "explain two-layer --exact": [*backprop, "explain", "--sample", "two-layer", "--exact"],
        **{f"grad --sample {s} --exact": [*backprop, "grad", "--sample", s, "--exact"] for s in samples},
        "mlp-100 exact": [*backprop, "grad", "--file", str(folder / "mlp-100.bp"), "--exact"],
    }
    startup = median_times(startup_commands, args.repeat)
    floor = startup["floor"][0]
    say(f"### Start-up and exact mode (medians of {args.repeat}, in turns)")
    say()
    table(["run", "seconds", "× cold-start floor", "target"])
    row(['`python -c "import sympy, rich, typer"` (the floor)', f"{floor:.3f}", "1.00", ""])
    labels = {"--help": ("`backprop --help`", 0.35), "grad -h": ("`backprop grad -h`", 0.35),
              "linear": ("`backprop grad --sample linear`", 1.2),
              "explain two-layer --exact": ("`backprop explain --sample two-layer --exact`", 1.5),
              **{f"grad --sample {s} --exact": (f"`backprop grad --sample {s} --exact`", 1.5) for s in samples},
              "mlp-100 exact": ("`backprop grad` on mlp-100 (122 nodes), exact", 1.5)}
    exact_ratios = []
    for key, (label, limit) in labels.items():
        result = startup[key]
        if isinstance(result, Failed):
            row([label, f"failed: {result}", "", f"≤ {limit}"])
            verdicts.append((label, f"failed: {result}"))
            continue
        ratio = result[0] / floor
        row([label, f"{result[0]:.3f}", f"{ratio:.2f}", f"≤ {limit} {'✓' if ratio <= limit else '✗'}"])
        if limit == 1.5:
            exact_ratios.append(ratio)
        else:
            verdicts.append((f"{label} ≤ {limit} × the floor", target(ratio, limit)))
    if exact_ratios:
        worst = max(exact_ratios)
        verdicts.append(("exact mode on the samples and mlp-100 ≤ 1.5 × the floor",
                         f"{min(exact_ratios):.2f}–{worst:.2f} × {'✓' if worst <= 1.5 else '✗'}"))

    # ------------------------------------------------------------ the job, on every program
    rows = []
    for name, (text, network) in programs.items():
        if name in BIG:
            continue
        program = folder / f"{name}.bp"
        spec = folder / f"{name}.json"
        names = list(network.values)[:3] + (["t0"] if "t0" in network.values else [])
        spec.write_text(json.dumps({"spec": dataclasses.asdict(network), "names": names}))
        grad = [*backprop, "grad", "--file", str(program), "--timeout", "0"]
        commands = {"csv": [*grad, "--format", "csv"], "json": [*grad, "--format", "json"]}
        commands.update({peer: [PYTHON, str(HERE / "peer_script.py"), peer, str(program)] for peer in peers})
        commands.update({f"{peer} in memory": [PYTHON, str(HERE / "peers.py"), peer, str(spec)] for peer in peers})
        measured = median_times(commands, args.repeat)
        failures = {key: value for key, value in measured.items() if isinstance(value, Failed)}
        if failures:
            raise SystemExit(f"{name}: {failures}")
        data = json.loads(measured["json"][1])
        ours = backprop_gradients(measured["csv"][1])
        result = {"program": name, "nodes": len(data["nodes"]), "expected nodes": network.nodes,
                  "check": data["check"]["ok"], "json agrees": all(
                      agree(ours[n], data["gradients"][n]["float"]) for n in ours)}
        for key in commands:
            result[key], result[f"{key} MiB"] = measured[key][0], measured[key][2] / 1024
        for peer in peers:
            result[f"{peer} agrees"] = agreement(ours, peer_gradients(measured[peer][1]))
            few = json.loads(measured[f"{peer} in memory"][1])["gradients"]
            result[f"{peer} in memory agrees"] = all(agree(ours[n], few[n]) for n in names)
        if result["nodes"] <= 1_500:  # naive SymPy: the small programs only, capped, once
            try:
                seconds, out, _ = run_once([PYTHON, str(HERE / "peers.py"), "sympy", str(spec)], args.sympy_cap)
                result["sympy"] = seconds
                result["sympy agrees"] = all(agree(ours[n], json.loads(out)["gradients"][n]) for n in names)
            except Failed:
                result["sympy"] = math.inf
        rows.append(result)
        print(f"  {name}: done", file=sys.stderr, flush=True)

    say()
    say(f"### The job as whole processes: `backprop grad --file P` against the peers' scripts on P "
        f"(medians of {args.repeat}, in turns)")
    say()
    header = ["program", "nodes", "csv s", "json s", "peak MiB csv / json", "check"]
    for peer in peers:
        header += [f"{peer} script s", f"csv ÷ {peer}", f"json ÷ {peer}", "agree (every input)"]
    table(header)
    for r in rows:
        cells = [r["program"], f"{r['nodes']:,}", f"{r['csv']:.2f}", f"{r['json']:.2f}",
                 f"{r['csv MiB']:.0f} / {r['json MiB']:.0f}", str(r["check"])]
        for peer in peers:
            cells += [f"{r[peer]:.2f}", f"{r['csv'] / r[peer]:.2f}", f"{r['json'] / r[peer]:.2f}",
                      r[f"{peer} agrees"]]
        row(cells)
    miscounted = [r["program"] for r in rows if r["nodes"] != r["expected nodes"]]
    if miscounted:
        say()
        say(f"(programs.py's node count differs from backprop's JSON for: {', '.join(miscounted)})")
    if not all(r["json agrees"] for r in rows):
        say()
        say("(backprop's JSON and CSV gradients differ on: "
            + ", ".join(r["program"] for r in rows if not r["json agrees"]) + ")")

    say()
    say(f"### Extra figures: in-memory peers and naive SymPy (same rounds as above)")
    say()
    header = ["program", "µs/node (json)"]
    for peer in peers:
        header += [f"{peer} in memory s", f"json ÷ it", "agree"]
    header += ["naive SymPy s (once)"]
    table(header)
    for r in rows:
        cells = [r["program"], f"{1e6 * r['json'] / r['nodes']:.1f}"]
        for peer in peers:
            key = f"{peer} in memory"
            cells += [f"{r[key]:.2f}", f"{r['json'] / r[key]:.2f}", "✓" if r[f"{key} agrees"] else "✗"]
        cells.append("—" if "sympy" not in r else (f"> {args.sympy_cap:.0f} (stopped)" if r["sympy"] == math.inf
                                                   else f"{r['sympy']:.2f} {'✓' if r['sympy agrees'] else '✗'}"))
        row(cells)

    hundred_k = next((r for r in rows if r["program"] == "mlp-100k"), None)
    if hundred_k is not None and "micrograd" in peers:
        verdicts.append(("mlp-100k `grad --format csv` ≤ 0.33 × micrograd's script",
                         target(hundred_k["csv"] / hundred_k["micrograd"], 0.33)))
        verdicts.append(("mlp-100k `grad --format json` ≤ 1.0 × micrograd's script",
                         target(hundred_k["json"] / hundred_k["micrograd"], 1.0)))

    # ------------------------------------------------------------ the 1,000,000-node MLP
    big_rows = []
    for name in [n for n in programs if n in BIG]:
        program = folder / f"{name}.bp"
        small = folder / "mlp-100k.bp"
        csv_of = lambda p: [*backprop, "grad", "--file", str(p), "--format", "csv", "--timeout", "0"]  # noqa: E731
        commands = {"csv": csv_of(program), "csv 100k": csv_of(small)}
        commands.update({peer: [PYTHON, str(HERE / "peer_script.py"), peer, str(program)] for peer in peers})
        measured = median_times(commands, args.repeat_big, timeout=args.big_cap)
        big_rows.append((name, programs[name][1].nodes, measured))
        print(f"  {name}: done", file=sys.stderr, flush=True)
    if big_rows:
        say()
        say(f"### The 1,000,000-node MLP, `grad --format csv` (rounds: {args.repeat_big}, in turns with "
            "the 100,000-node run)")
        say()
        header = ["program", "nodes", "csv s", "peak MiB", "÷ mlp-100k csv (same rounds)"]
        for peer in peers:
            header += [f"{peer} script s", f"peak MiB", f"csv ÷ {peer}", "agree"]
        table(header)
        for name, nodes, measured in big_rows:
            small = measured["csv 100k"]
            ours = measured["csv"]
            if isinstance(ours, Failed):
                cells = [name, f"{nodes:,}", f"failed: {ours}", "", ""]
                verdicts.append((f"{name} csv ≤ 11 × the 100,000-node run, peak ≤ 3 GiB", f"failed: {ours}"))
                gradients = None
            else:
                growth = ours[0] / small[0] if not isinstance(small, Failed) else math.nan
                cells = [name, f"{nodes:,}", f"{ours[0]:.2f}", f"{ours[2] / 1024:,.0f}",
                         f"{growth:.1f} ({small[0]:.2f} s)" if not math.isnan(growth) else "—"]
                verdicts.append((f"{name} csv ≤ 11 × the 100,000-node run", target(growth, 11)))
                verdicts.append((f"{name} csv peak memory ≤ 3 GiB",
                                 f"{ours[2] * 1024 / GiB:.2f} GiB {'✓' if ours[2] * 1024 <= 3 * GiB else '✗'}"))
                gradients = backprop_gradients(ours[1])
            for peer in peers:
                theirs = measured[peer]
                if isinstance(theirs, Failed):
                    cells += [f"failed: {theirs}", "", "", ""]
                    continue
                cells += [f"{theirs[0]:.2f}", f"{theirs[2] / 1024:,.0f}",
                          f"{ours[0] / theirs[0]:.2f}" if gradients is not None else "—",
                          agreement(gradients, peer_gradients(theirs[1])) if gradients is not None else "—"]
            row(cells)

    # ------------------------------------------------------------ growth
    mlps = [(r["program"], r["nodes"], r["csv"]) for r in rows if r["program"].startswith("mlp")]
    for name, nodes, measured in big_rows:
        if not isinstance(measured["csv"], Failed):
            mlps.append((name, nodes, measured["csv"][0]))
    say()
    say("### Growth of backprop's time per 10× nodes (MLPs, `--format csv`)")
    say()
    for (small, small_nodes, small_s), (big, big_nodes, big_s) in zip(mlps, mlps[1:]):
        size, growth = big_nodes / small_nodes, big_s / small_s
        say(f"- {small} → {big}: {size:.1f}× nodes, {growth:.1f}× time "
            f"({growth ** (1 / math.log10(size)):.1f}× per 10×)")
    if any(name in BIG for name, _, _ in mlps):
        say("  (the last step compares runs from different tables; the ratio in the table above is the one "
            "measured in turns)")

    # ------------------------------------------------------------ the matrix-form MLP
    if not args.quick:
        say()
        verdicts += matrix_job(folder, backprop, args.repeat, say)

    # ------------------------------------------------------------ against the targets
    finish("issue 15" if args.quick else "issues 15 and 13")


if __name__ == "__main__":
    main()
