"""Case files: many gradient claims, checked in one run (CI, homework sets).

    [[case]]
    name = "linear neuron, squared error"
    program = "y = w*x + b; L = (y - t)^2 / 2"
    at = { x = 2, w = 3, b = 1, t = 10 }
    expect = { w = -6, b = -3, x = "-9" }   # numbers or expressions (strings)
    tol = 1e-9                              # optional
    of = "L"                                # optional

`name` may also be a table of languages, `name = { en = "a sign slip", zh = "符号错误" }`: the
case is called by the --lang one, else by its English, else by its first.

`at` takes vectors and matrices too, `at = { W = [[1, 2], [3, 4]], x = [1, "-1/2"] }`: written
out as the bindings text `W=[[1, 2], [3, 4]], x=[1, (-1/2)]` and read by bindings.py. `expect`
is scalar-only for now.

A malformed case is reported with its name and field and never stops the others.
The time limit (--timeout) bounds the whole file: the case that runs out of time is
reported as such, the cases after it as not run, and everything decided before
stays in the report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from backprop_cli import deadline
from backprop_cli.claims import CheckOutcome, Claim, check_claims, parse_claims
from backprop_cli.engine import Request, load
from backprop_cli.errors import BackpropError
from backprop_cli.source import BindingText, from_text, read_limited, sample_text, shipped_cases

KNOWN_FIELDS = {"name", "program", "at", "expect", "tol", "of"}


@dataclass
class CaseResult:
    name: str
    outcome: CheckOutcome | None = None
    error: BackpropError | None = None
    field: str | None = None  # the malformed field
    timed_out: bool = False  # the run's time limit was reached in this case (`error` says so)
    not_run: bool = False  # the time limit was reached before this case

    @property
    def ok(self) -> bool:
        return self.outcome is not None and self.outcome.ok


def _scalar_text(value, case: str, field: str, key: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _Malformed(field, f"'{key}' must be a number or a string, not {type(value).__name__}")
    return value if isinstance(value, str) else repr(value)


def _value_text(value, key: str, field: str = "at") -> str:
    """An `at` (or `expect`) value as the bindings text reads it: a number or an expression as a scalar is
    written today; a (nested) list as `[...]`, each string entry in parentheses so that it stays
    one entry whatever it holds."""
    if not isinstance(value, list):
        return _scalar_text(value, "", field, key)
    rows = []
    for row in value:
        if not isinstance(row, list):
            rows.append(_entry_text(row, key))
        elif any(isinstance(entry, list) for entry in row):
            raise _Malformed("at", f"'{key}' has rank 3 or more: rank 0, 1 and 2 are enough")
        else:
            rows.append("[" + ", ".join(_entry_text(entry, key) for entry in row) + "]")
    return "[" + ", ".join(rows) + "]"


def _entry_text(value, key: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _Malformed("at", f"'{key}' has an entry that is {type(value).__name__}; entries are numbers or strings")
    return f"({value})" if isinstance(value, str) else repr(value)


class _Malformed(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def load_cases(path: str) -> list[dict]:
    """A cases file's [[case]] tables: a path, `-` for stdin, or the name of a shipped cases file
    (`seed-formulas`) where no such file is here."""
    shipped = shipped_cases(path) if path != "-" and not os.path.exists(path) else None
    text = sample_text(shipped) if shipped else read_limited(path, "cases file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BackpropError(f"cases file '{path}' is not valid TOML: {exc}") from None
    cases = data.get("case")
    if not isinstance(cases, list) or not cases:
        raise BackpropError(f"cases file '{path}' has no [[case]] tables",
                            hint="see `backprop check --help`, or an example: backprop samples homework")
    return cases


def run_case(raw: dict, number: int, language: str = "en") -> CaseResult:
    name = _name(raw, number, language)
    try:
        unknown = sorted(set(raw) - KNOWN_FIELDS)
        if unknown:
            raise _Malformed(unknown[0], f"unknown field (fields: {', '.join(sorted(KNOWN_FIELDS))})")
        program = raw.get("program")
        if not isinstance(program, str) or not program.strip():
            raise _Malformed("program", "a program (a string) is required")
        at = raw.get("at", {})
        if not isinstance(at, dict):
            raise _Malformed("at", "must be a table, e.g. at = { x = 2, w = 3 }")
        expect = raw.get("expect")
        if not isinstance(expect, dict) or not expect:
            raise _Malformed("expect", "a table of claims is required, e.g. expect = { w = -6 }")
        tol = raw.get("tol")
        if tol is not None and (isinstance(tol, bool) or not isinstance(tol, (int, float)) or tol < 0):
            raise _Malformed("tol", "must be a non-negative number")
        of = raw.get("of")
        if of is not None and not isinstance(of, str):
            raise _Malformed("of", "must be a name (a string)")
        bindings = [f"{k}={_value_text(v, k)}" for k, v in at.items()]
        claims_text = [f"{k}={_value_text(v, k, 'expect')}" for k, v in expect.items()]  # tensors as [[...]]
    except _Malformed as error:
        return CaseResult(name, error=BackpropError(error.message), field=error.field)
    stage = "program"
    try:
        request = Request(from_text(program, f"case '{name}'"),
                          [BindingText(", ".join(bindings), "at")] if bindings else [], of=of)
        stage = "at"
        graph, values = load(request)
        stage = "expect"
        claims = parse_claims(claims_text)
        outcome = check_claims(graph, values, claims, float(tol) if tol is not None else None)
        deadline.check()  # a verdict reached after the limit was hit (and swallowed) is not one
    except Exception as error:  # noqa: BLE001 - sorted out just below
        if deadline.expired():  # whatever the time-limit error turned into on its way out
            return CaseResult(name, error=deadline.settle(), timed_out=True)
        if isinstance(error, MemoryError):
            return CaseResult(name, error=BackpropError("the case needs more memory than is available"),
                              field=stage)
        if not isinstance(error, BackpropError):
            raise
        if error.source is not None and error.source == program:  # it points into the program
            stage = "program"
        return CaseResult(name, error=error, field=stage)
    return CaseResult(name, outcome=outcome)


def _name(raw, number: int, language: str = "en") -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    if isinstance(name, dict):  # { en = "...", zh = "..." }
        names = [text for text in (name.get(language), name.get("en"), *name.values()) if isinstance(text, str) and text]
        name = names[0] if names else None
    return name if isinstance(name, str) and name else f"case {number}"


def run_cases(path: str, language: str = "en") -> list[CaseResult]:
    """Every case, in order, within the run's one time limit; each called by its name in `language`."""
    results: list[CaseResult] = []
    raws = load_cases(path)
    for number, raw in enumerate(raws, start=1):
        if results and results[-1].timed_out:
            results.append(CaseResult(_name(raw, number, language), not_run=True))
            continue
        if not isinstance(raw, dict):
            results.append(CaseResult(f"case {number}", error=BackpropError("not a table"), field="case"))
            continue
        if deadline.expired():  # between two cases
            results.append(CaseResult(_name(raw, number, language), error=deadline.settle(), timed_out=True))
            continue
        try:
            results.append(run_case(raw, number, language))
        except BackpropError:
            if not deadline.expired():
                raise
            results.append(CaseResult(_name(raw, number, language), error=deadline.settle(), timed_out=True))
    return results


__all__ = ["CaseResult", "Claim", "load_cases", "run_case", "run_cases"]
