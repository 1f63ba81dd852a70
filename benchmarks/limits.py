"""Figures for issue 16's limits: how long the hostile claims of the issue take now.

    python benchmarks/limits.py

Each run is a fresh `backprop` process, timed from outside (median of 3). These are
figures, not tests: the tests assert what the product enforces (exit codes, messages,
the --timeout it was given), never a wall-clock time.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BACKPROP = [sys.executable, "-m", "backprop_cli"]
FIVE = "(sqrt(2)+sqrt(3)+sqrt(5)-3)^1000"


def timed(args: list[str], stdin: str | None = None) -> tuple[float, int]:
    times, code = [], None
    for _ in range(3):
        start = time.monotonic()
        code = subprocess.run([*BACKPROP, *args], input=stdin, capture_output=True, text=True, timeout=300).returncode
        times.append(time.monotonic() - start)
    return statistics.median(times), code


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wide = Path(tmp) / "wide.bp"
        n = 1000
        wide.write_text("f = " + " + ".join(f"w{i}*x{i}" for i in range(n)) + "\n")
        at = Path(tmp) / "wide.at"
        at.write_text(", ".join(f"w{i}={i % 7 + 1}, x{i}={i % 5 + 2}" for i in range(n)) + "\n")
        expect = ", ".join(f"w{i}={i % 5 + 3}" for i in range(n))
        runs = [
            ("start-up: grad --sample linear", ["grad", "--sample", "linear"], None),
            (f"check --expect \"x={FIVE}\"", ["check", "f = x^2", "--at", "x=3", "--expect", f"x={FIVE}"], None),
            (f"check --expect \"x = 2*x*{FIVE}\"", ["check", "f = x^2", "--at", "x=3", "--expect", f"x = 2*x*{FIVE}"],
             None),
            ("quiz --level formulas, the power as an answer",
             ["quiz", "--sample", "branch", "--level", "formulas"], f"skip\nskip\nskip\n{FIVE}\n"),
            ("1,000 wrong claims on a 3,000-node program",
             ["check", "--file", str(wide), "--at", f"@{at}", "--expect", expect], None),
        ]
        print("| run | seconds (median of 3) | exit code |\n|---|---|---|")
        for title, args, stdin in runs:
            seconds, code = timed(args, stdin)
            print(f"| {title} | {seconds:.2f} | {code} |")


if __name__ == "__main__":
    main()
