"""Where a program comes from: an argument, a file, stdin, or a shipped sample.

A program file may carry its bindings in comment lines `# at: x=2, w=3`, and
a sample's first comment line is its description.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from backprop_cli import limits, output
from backprop_cli.errors import BackpropError, Span

SAMPLE_SUFFIX = ".bp"
CASES_SUFFIX = ".toml"  # shipped cases files (backprop check --cases), printed by `backprop samples NAME`
AT_PREFIX = "# at:"


@dataclass(frozen=True)
class BindingText:
    """Bindings as written: `x=2, w=3`, with where they came from."""

    text: str
    origin: str  # "--at", "# at: (line 3)", a file name


@dataclass(frozen=True)
class ProgramSource:
    text: str
    origin: str  # "program", a path, "stdin", "sample linear"
    bindings: list[BindingText] = field(default_factory=list)  # from `# at:` lines
    description: str | None = None


def _comment_metadata(text: str) -> tuple[list[BindingText], str | None]:
    bindings: list[BindingText] = []
    description = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith(AT_PREFIX):
            bindings.append(BindingText(stripped[len(AT_PREFIX):], f"'# at:' line {number}"))
        elif stripped.startswith("#") and description is None:
            description = stripped.lstrip("#").strip() or None
        elif stripped and not stripped.startswith("#") and description is None:
            description = ""  # code came first: no description line
    return bindings, description or None


def from_text(text: str, origin: str = "program") -> ProgramSource:
    bindings, description = _comment_metadata(text)
    return ProgramSource(text, origin, bindings, description)


def read_limited(path: str, what: str) -> str:
    """Read a text file or stdin ('-'), refusing anything over the program limit.

    Every file read here is an input of the run, which no output of the run may replace."""
    limit = limits.MAX_PROGRAM_CHARS
    if "\x00" in path:
        raise BackpropError(f"{what} path contains a NUL byte")
    try:
        if path == "-":
            data = output.stdin_or_error(
                f"cannot read the {what} from standard input ('-'): it is closed",
                "pipe it in (... | backprop ...), or give a file path").read(limit + 1)
        else:
            file = Path(path)
            if file.is_dir():
                raise BackpropError(f"{what} '{path}' is a directory, not a file")
            size = file.stat().st_size
            if size > 4 * limit:
                raise BackpropError(f"{what} '{path}' has {size:,} bytes; the limit is {limit:,} characters")
            output.note_input(path)
            with file.open(encoding="utf-8") as handle:
                data = handle.read(limit + 1)
    except FileNotFoundError:
        raise BackpropError(f"{what} '{path}' does not exist") from None
    except UnicodeDecodeError as exc:
        raise BackpropError(f"{what} '{path}' is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise BackpropError(f"cannot read {what} '{path}': {exc.strerror or exc}") from None
    if len(data) > limit:
        raise BackpropError(f"{what} '{path}' has more than {limit:,} characters; the limit is {limit:,} characters")
    if "\x00" in data:
        raise BackpropError(f"{what} '{path}' contains a NUL byte; is it a binary file?")
    return data.removeprefix("\ufeff")  # editors on Windows start UTF-8 files with a byte-order mark


def from_file(path: str) -> ProgramSource:
    text = read_limited(path, "program file")
    return from_text(text, "stdin" if path == "-" else path)


# ---------------------------------------------------------------- samples


def _samples_dir():
    from importlib import resources  # only for --sample and the samples list

    return resources.files("backprop_cli.samples")


def sample_names() -> list[str]:
    return sorted(p.name[: -len(SAMPLE_SUFFIX)] for p in _samples_dir().iterdir()
                  if p.name.endswith(SAMPLE_SUFFIX))


def shipped_cases(name: str) -> str | None:
    """The shipped cases file a name means (`seed-formulas` or `seed-formulas.toml`), or None."""
    stem = name.removesuffix(CASES_SUFFIX)
    return stem if "/" not in name and stem in cases_names() else None


def from_sample(name: str) -> ProgramSource:
    names = sample_names()
    if name not in names and shipped_cases(name):
        raise BackpropError(f"'{name}' is a shipped cases file, not a program",
                            hint=f"run its cases: backprop check --cases {shipped_cases(name)}")
    if name not in names:
        from backprop_cli.parse import suggest

        guess = suggest(name, names)
        raise BackpropError(
            f"no sample called '{output.visible(name[:60])}'" + (f" (did you mean '{guess}'?)" if guess else ""),
            hint="samples: " + ", ".join(names) + "  (list them with: backprop samples)")
    text = (_samples_dir() / (name + SAMPLE_SUFFIX)).read_text(encoding="utf-8")
    return from_text(text, f"sample {name}")


def samples() -> list[ProgramSource]:
    return [from_sample(name) for name in sample_names()]


def cases_names() -> list[str]:
    return sorted(p.name[: -len(CASES_SUFFIX)] for p in _samples_dir().iterdir()
                  if p.name.endswith(CASES_SUFFIX))


def cases_description(name: str) -> str | None:
    return _comment_metadata(sample_text(name))[1]


def sample_text(name: str) -> str:
    """A shipped file's text: a program sample (`linear`, `linear.bp`) or a cases file
    (`homework`, `homework.toml`), for a user who installed with pip and has no samples/ folder."""
    programs, cases = sample_names(), cases_names()
    for suffix, names in ((SAMPLE_SUFFIX, programs), (CASES_SUFFIX, cases)):
        stem = name.removesuffix(suffix)
        if stem in names and (stem == name or name.endswith(suffix)):
            return (_samples_dir() / (stem + suffix)).read_text(encoding="utf-8")
    from backprop_cli.parse import suggest

    everything = programs + cases
    guess = suggest(name, everything)
    raise BackpropError(
        f"no sample called '{output.visible(name[:60])}'" + (f" (did you mean '{guess}'?)" if guess else ""),
        hint="samples: " + ", ".join(everything) + "  (list them with: backprop samples)")


def choose(program: str | None, file: str | None, sample: str | None) -> ProgramSource:
    given = [x for x in (program, file, sample) if x is not None]
    if len(given) != 1:
        raise BackpropError(
            "give the program once: as an argument, with --file PATH, or with --sample NAME"
            if given else "no program given",
            hint='e.g. backprop explain "y = w*x + b; L = (y - t)^2/2" --at x=2,w=3,b=1,t=10'
                 '  or  backprop explain --sample linear')
    if program is not None:
        return from_text(program)
    if file is not None:
        return from_file(file)
    return from_sample(sample)


__all__ = ["BindingText", "ProgramSource", "choose", "from_text", "from_file", "from_sample",
           "sample_names", "samples", "cases_names", "sample_text", "read_limited", "Span"]
