"""How fast could `backprop grad --format csv` be on the 100,000-node MLP, on this stack? Floors, in turns.

    python benchmarks/floor.py              # medians of 5
    python benchmarks/floor.py --repeat 9

Issue 15 asks for `grad --format csv` on mlp-100k in at most 0.33 × the time micrograd's script
takes for the same job (`peer_script.py micrograd P`). This measures, as whole processes taking
turns with that script and with backprop itself, jobs that do strictly less than the CSV run must:

- `start-up`: Python importing what the CSV run imports before it reads a program (backprop's
  CLI with Typer and Rich, and numpy, the columns' container) and nothing else;
- `start-up + read + tokens + CSV`: the same, then reading P, splitting the program into tokens
  with one regular expression, one tuple per token, and writing a CSV of the real run's 33,250
  rows and columns (the names, the values as written, a float's repr for each gradient: here the
  bound value's) — no parse, no graph, no arithmetic, no check;
- `python -c "import ast; ast.parse(P)"`: CPython's own parser on the program (with `^` as `**`),
  a front end in C, with start-up of a bare Python only.

Any real implementation does all of the second job and more (a parse into nodes, both passes, the
30-digit check), so its time is a floor under any design of the CLI on this stack (Python, Typer,
Rich, numpy).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from programs import all_programs  # noqa: E402
from run import BACKPROP, PYTHON, Failed, compile_bytecode, median_times  # noqa: E402

START_UP = "import backprop_cli.cli, numpy, typer, rich.console"

# The least a CSV run does besides start-up: read the file, tokenise the program, write the rows.
# (Less than the real CSV: the values as written, where the real one writes each as its exact
# fraction, 689/1000, and a float from each binding where the real one computes the gradient.)
LEAST_JOB = START_UP + r"""
import csv, re, sys
header, _, program = open(sys.argv[1]).read().partition("\n")
tokens = [(kind, token) for kind, token in enumerate(re.findall(r"[A-Za-z_][A-Za-z0-9_]*|[0-9.]+|\S", program))]
rows = []
for name, value in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=(-?[0-9.]+)", header):
    number = repr(float(value))
    rows.append((name, value, number, number, "", "8.821e-17", "true", "ok"))
writer = csv.writer(sys.stdout, lineterminator="\n")
writer.writerow(["input", "value", "exact", "float", "fd", "error", "ok", "status"])
writer.writerows(rows)
"""

AST_PARSE = "import ast, sys; ast.parse(open(sys.argv[1]).read().replace('^', '**'))"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="backprop-floor-"))
    program = folder / "mlp-100k.bp"
    program.write_text(all_programs()["mlp-100k"][0])
    compile_bytecode()
    commands = {
        "micrograd's script (`peer_script.py micrograd P`)": [PYTHON, str(HERE / "peer_script.py"), "micrograd",
                                                             str(program)],
        "`backprop grad --file P --format csv`": [*BACKPROP.split(), "grad", "--file", str(program), "--format", "csv"],
        "start-up: `import backprop_cli.cli, numpy, typer, rich.console`": [PYTHON, "-c", START_UP],
        "start-up + read + tokens + CSV (no parse, no arithmetic)": [PYTHON, "-c", LEAST_JOB, str(program)],
        "bare Python + `ast.parse(P)`": [PYTHON, "-c", AST_PARSE, str(program)],
    }
    results = median_times(commands, args.repeat)
    reference = results[next(iter(commands))]
    if isinstance(reference, Failed):
        sys.exit(f"micrograd's script failed ({reference}); pip install micrograd")
    print(f"mlp-100k, whole processes in turns, medians of {args.repeat}\n")
    print("| job | seconds | ÷ micrograd's script |\n|---|---|---|")
    for label, result in results.items():
        if isinstance(result, Failed):
            print(f"| {label} | failed: {result} | |")
        else:
            print(f"| {label} | {result[0]:.3f} | {result[0] / reference[0]:.2f} |")
    print("\nIssue 15's target for the CSV run: ≤ 0.33 × micrograd's script.")


if __name__ == "__main__":
    main()
