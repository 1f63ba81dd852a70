"""Every input of tests/data/hostile.jsonl, through the installed `backprop` as a real process:
its exit code (2 unless the row says otherwise), a message on stderr, no traceback, no raw
control character on stdout or stderr, nothing executed, input files intact and no partial file.

Rows may set up the environment as a shell would: closed streams (`<&-`, `>&-`, `2>&-`), stdout on
/dev/full or on a pipe nobody reads, a file-size limit (prlimit), environment variables, symbolic
links. No row is judged by how long it took: each only has to finish within a bound far above the
product's own --timeout (which a loaded machine cannot reach with nothing wrong)."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.dom.minidom
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from backprop_cli.limits import DEFAULT_TIMEOUT_SECONDS

CORPUS = Path(__file__).parent / "data" / "hostile.jsonl"
ROWS = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
BACKPROP = [shutil.which("backprop")] if shutil.which("backprop") else [sys.executable, "-m", "backprop_cli"]
BOUND_SECONDS = 4 * DEFAULT_TIMEOUT_SECONDS  # a hang, not a slow machine
# What must never reach a terminal raw: C0 controls but tab and newline, DEL, C1, bidirectional
# controls, non-characters (lone surrogates are looked for in the bytes: decoding hides them).
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffe\uffff]")
REDIRECT = {"stdin": "<&-", "stdout": ">&-", "stderr": "2>&-"}


def fill(text, folder):
    return text.replace("{dir}", folder).replace("{marker}", os.path.join(folder, "pwned"))


def snapshot(folder):
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in Path(folder).rglob("*")}


def run_row(row):
    if row.get("needs") and not shutil.which(row["needs"]):
        return row, None, None, f"skipped: needs {row['needs']}"
    if row.get("prlimit_fsize") and not shutil.which("prlimit"):
        return row, None, None, "skipped: needs prlimit"
    folder = tempfile.mkdtemp(prefix="backprop-hostile-")
    row = {**row, "stderr_has": fill(row["stderr_has"], folder)} if row.get("stderr_has") else row
    for name, content in row.get("files", {}).items():
        path = Path(folder) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(fill(content, folder).encode("utf-8"))
    for link, target in row.get("symlinks", {}).items():
        os.symlink(target, os.path.join(folder, link))
    before = snapshot(folder)
    stdin = row.get("stdin")
    if "stdin_repeat" in row:
        piece, count = row["stdin_repeat"]
        stdin = piece * count + "x"
    command = [*BACKPROP, *[fill(a, folder) for a in row["args"]]]
    if row.get("prlimit_fsize"):
        command = ["prlimit", f"--fsize={row['prlimit_fsize']}", *command]
    redirects = [REDIRECT[stream] for stream in row.get("close", [])]
    if row.get("stdout_to"):
        redirects.append(f"> {fill(row['stdout_to'], folder)}")
    if redirects:  # as the user's shell does it
        command = ["sh", "-c", 'exec "$@" ' + " ".join(redirects), "sh", *command]
    env = {**os.environ, "COLUMNS": "100", **row.get("env", {})}
    stdout = subprocess.PIPE
    reader = None
    if row.get("broken_pipe"):
        reader, stdout = os.pipe()
        os.close(reader)  # nobody will read: every write is EPIPE
    try:
        result = subprocess.run(command, input=fill(stdin, folder).encode("utf-8") if stdin else b"",
                                stdout=stdout, stderr=subprocess.PIPE, timeout=BOUND_SECONDS, env=env)
    except subprocess.TimeoutExpired:
        return row, None, None, f"hung past {BOUND_SECONDS} s"
    finally:
        if row.get("broken_pipe"):
            os.close(stdout)
    problems = inspect_files(row, folder, before)
    shutil.rmtree(folder, ignore_errors=True)
    return row, result, problems, None


def inspect_files(row, folder, before):
    problems = []
    if os.path.exists(os.path.join(folder, "pwned")):
        problems.append("the injection ran")
    after = snapshot(folder)
    for name in row.get("intact", []):
        if after.get(name) != before.get(name):
            problems.append(f"input file {name} changed: {after.get(name)!r:.120}")
    allowed = set(before) | set(row.get("creates", []))
    extra = sorted(set(after) - allowed)
    if extra:
        problems.append(f"partial or unexpected files: {extra}")
    for name in row.get("xml", []):
        if after.get(name) is not None:
            try:
                xml.dom.minidom.parseString(after[name])
            except Exception as exc:  # noqa: BLE001 - any parse failure is the finding
                problems.append(f"{name} is not well-formed XML: {exc}")
    return problems


CHUNK = 60  # rows per test, run four at a time: each test stays well inside pytest's faulthandler_timeout
CHUNKS = [ROWS[i:i + CHUNK] for i in range(0, len(ROWS), CHUNK)]


def test_the_corpus_is_large_and_covers_every_channel():
    assert len(ROWS) >= 400
    prefixes = {row["id"].split("-")[0] for row in ROWS}
    assert {"program", "at", "expect", "cases", "sample", "file", "stdin", "option", "dos", "unicode",
            "domain", "malformed", "io", "encoding", "lang", "control"} <= prefixes
    assert len({row["id"] for row in ROWS}) == len(ROWS)


def judge(row, result):
    """What is wrong with one finished row."""
    problems = []
    expected = row.get("exit", 2)
    out = result.stdout.decode("utf-8", "replace") if result.stdout else ""
    err = result.stderr.decode("utf-8", "replace")
    closed = set(row.get("close", []))
    if result.returncode != expected:
        problems.append(f"exit {result.returncode}, expected {expected}: {out[:200]!r} {err[:300]!r}")
    if "Traceback" in err or "Traceback" in out or "Exception ignored" in err:
        problems.append(f"traceback: {err[-300:]!r}")
    if "stderr" not in closed and not row.get("stderr_empty"):
        if expected == 2 and "error" not in err.lower():
            problems.append(f"no error message: {err[:200]!r}")
        wanted = row.get("stderr_has")
        if wanted and wanted not in err:
            problems.append(f"stderr lacks {wanted!r}: {err[:400]!r}")
    if row.get("stderr_empty") and err:
        problems.append(f"stderr should be empty: {err[:200]!r}")
    if row.get("stdout_has") and row["stdout_has"] not in out:
        problems.append(f"stdout lacks {row['stdout_has']!r}: {out[:300]!r}")
    for name, text in (("stdout", out), ("stderr", err)):
        raw = RAW_CONTROL.search(text)
        if raw:
            problems.append(f"raw control character U+{ord(raw.group()):04X} on {name}: "
                            f"{text[max(0, raw.start() - 40):raw.start() + 40]!r}")
    if result.stdout and b"\xed\xb0" in result.stdout + result.stderr:  # an encoded lone surrogate
        problems.append("a lone surrogate was written")
    if row.get("stdout_encoding") and result.stdout:
        try:
            result.stdout.decode(row["stdout_encoding"])
        except UnicodeDecodeError as exc:
            problems.append(f"stdout is not {row['stdout_encoding']}: {exc}")
    if row.get("json") and expected in (0, 1):
        try:
            json.loads(result.stdout)
        except ValueError as exc:
            problems.append(f"stdout is not JSON: {exc}: {out[:200]!r}")
    return problems


@pytest.mark.parametrize("chunk", range(len(CHUNKS)), ids=lambda i: f"rows-{i * CHUNK}-")
def test_every_hostile_input_is_refused_cleanly(chunk):
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run_row, CHUNKS[chunk]))
    problems = []
    for row, result, file_problems, note in results:
        if note and note.startswith("skipped"):
            continue
        if result is None:
            problems.append(f"{row['id']}: {note}")
            continue
        problems.extend(f"{row['id']}: {p}" for p in judge(row, result) + file_problems)
    assert not problems, "\n".join(problems)
