"""Every input of tests/data/hostile.jsonl, through the installed `backprop` as a real process:
exit code 2, a message on stderr, no traceback, within the time bound, and nothing executed."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "data" / "hostile.jsonl"
ROWS = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
BACKPROP = [shutil.which("backprop")] if shutil.which("backprop") else [sys.executable, "-m", "backprop_cli"]
SECONDS = 5.0


def run_row(row):
    folder = tempfile.mkdtemp(prefix="backprop-hostile-")
    marker = os.path.join(folder, "pwned")

    def fill(text):
        return text.replace("{dir}", folder).replace("{marker}", marker)

    for name, content in row.get("files", {}).items():
        path = Path(folder) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(fill(content).encode("utf-8"))
    stdin = row.get("stdin")
    if "stdin_repeat" in row:
        piece, count = row["stdin_repeat"]
        stdin = piece * count + "x"
    start = time.monotonic()
    try:
        result = subprocess.run([*BACKPROP, *[fill(a) for a in row["args"]]], input=fill(stdin) if stdin else "",
                                capture_output=True, text=True, timeout=SECONDS * 4,
                                env={**os.environ, "COLUMNS": "100"})
    except subprocess.TimeoutExpired:
        return row, None, SECONDS * 4, False
    seconds = time.monotonic() - start
    pwned = os.path.exists(marker)
    shutil.rmtree(folder, ignore_errors=True)
    return row, result, seconds, pwned


@pytest.fixture(scope="module")
def results():
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(run_row, ROWS))


def test_the_corpus_is_large_and_covers_every_channel():
    assert len(ROWS) >= 150
    prefixes = {row["id"].split("-")[0] for row in ROWS}
    assert {"program", "at", "expect", "cases", "sample", "file", "stdin", "option", "dos", "unicode",
            "domain", "malformed"} <= prefixes


def test_every_hostile_input_is_refused_cleanly(results):
    problems = []
    for row, result, seconds, pwned in results:
        if result is None:
            problems.append(f"{row['id']}: hung past {SECONDS * 4} s")
            continue
        if result.returncode != 2:
            problems.append(f"{row['id']}: exit {result.returncode}: {result.stdout[:200]!r} {result.stderr[:200]!r}")
        if "Traceback" in result.stderr or "Traceback" in result.stdout:
            problems.append(f"{row['id']}: traceback: {result.stderr[-300:]!r}")
        if "error" not in result.stderr.lower():
            problems.append(f"{row['id']}: no error message: {result.stderr[:200]!r}")
        if seconds > SECONDS:
            problems.append(f"{row['id']}: took {seconds:.1f} s")
        if pwned:
            problems.append(f"{row['id']}: the injection ran")
    assert not problems, "\n".join(problems)
