"""The command line: options in, one call to the core, one renderer out.

Every user mistake arrives here as a BackpropError and leaves through
`_guarded`: one message on stderr, exit code 2. Data goes to stdout only, through
`output` (which makes user text visible, and a failed write one error).

`--help`, `--version` and usage errors import neither SymPy nor the engine: the commands
import them in their bodies, on first use.
"""

from __future__ import annotations

import gc
import sys
import threading
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Callable, Optional

import typer

from backprop_cli import __version__, output, source
from backprop_cli.deadline import cap_memory, deadline, tune_collector
from backprop_cli.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE, BackpropError
from backprop_cli.i18n import Messages, available_languages, resolve_language
from backprop_cli.limits import DEFAULT_TIMEOUT_SECONDS

if TYPE_CHECKING:
    from rich.console import Console

    from backprop_cli import engine

app = typer.Typer(
    name="backprop",
    help="A command-line tutor and calculator for backpropagation: every chain-rule step, exact, "
         "and cross-checked by finite differences.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

# ---------------------------------------------------------------- shared options

Program = Annotated[Optional[str], typer.Argument(
    help='The program, e.g. "y = w*x + b; L = (y - t)^2/2". Or use --file / --sample.', show_default=False)]
File = Annotated[Optional[str], typer.Option("--file", "-f", help="Read the program from a file ('-' for stdin).",
                                             show_default=False)]
Sample = Annotated[Optional[str], typer.Option("--sample", "-s", help="Use a shipped sample (see: backprop samples).",
                                               show_default=False)]
At = Annotated[Optional[list[str]], typer.Option(
    "--at", help='Input values: "x=2, w=3" (repeatable; values like 1/3, -pi/4, sqrt(2); @PATH reads a file).',
    show_default=False)]
Of = Annotated[Optional[str], typer.Option("--of", help="Differentiate this assigned name instead of the last one.",
                                           show_default=False)]
Shape = Annotated[Optional[str], typer.Option(
    "--shape", help='Shapes of unbound tensors, e.g. "W1=2x2, x=2": the gradients as matrix formulas.',
    show_default=False)]
Wrt = Annotated[Optional[list[str]], typer.Option(
    "--wrt", help="Report gradients with respect to these names (comma-separated; default: every input).",
    show_default=False)]
Exact = Annotated[bool, typer.Option("--exact", help="Force exact numbers (SymPy), whatever the size.")]
Numeric = Annotated[bool, typer.Option("--numeric", help="Force floats (the numeric mode), whatever the size.")]


class CheckChoice(str, Enum):
    auto = "auto"
    full = "full"
    fast = "fast"
    none = "none"


Check = Annotated[CheckChoice, typer.Option(
    "--check", help="The finite-difference check: full (one per gradient), fast (directional), none; "
                    "auto picks full up to 32 inputs.")]
Timeout = Annotated[float, typer.Option(
    "--timeout", help="Give up after this many seconds (exit code 2); 0 for no limit.")]
Lang = Annotated[Optional[str], typer.Option(
    "--lang", help="Language of the text: " + ", ".join(available_languages()) + " (default: $BACKPROP_LANG or en).",
    show_default=False)]


class ExplainFormat(str, Enum):
    tree = "tree"
    json = "json"
    markdown = "markdown"


class GradFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def _stdout() -> "Console":
    return output.console(soft_wrap=False)


def _report(error: BackpropError) -> int:
    """The one way an error is shown: its text (made visible) on stderr; the exit code."""
    output.write_error(error.render() + "\n")
    return EXIT_USAGE


def _guarded(action: Callable[[], int], timeout: float | None = None) -> None:
    """Run a command; a user's mistake becomes one message on stderr and exit code 2."""
    output.reset_files()
    try:
        if timeout is not None and timeout < 0:
            raise BackpropError(f"--timeout {timeout:g}: give a number of seconds, or 0 for none")
        with deadline(timeout):
            code = action()
            output.stdout().flush()  # whatever is still buffered is written, or fails, before the exit code
    except BackpropError as error:
        raise typer.Exit(_report(error)) from None
    except RecursionError:
        raise typer.Exit(_report(BackpropError("the input is nested too deeply to process"))) from None
    except MemoryError:
        raise typer.Exit(_report(BackpropError("the input needs more memory than is available"))) from None
    except output.ReaderGone:
        raise typer.Exit(output.EXIT_BROKEN_PIPE) from None
    raise typer.Exit(code)


def _messages(lang: str | None, *streams) -> Messages:
    """The catalogue for --lang (or $BACKPROP_LANG); `streams` are where its sentences will be
    shown, which must be able to encode them (any stream can show English, with fallbacks)."""
    messages = Messages(resolve_language(lang))
    for stream in streams:
        if messages.language != "en" and not output.can_encode(messages.sample(), stream):
            raise BackpropError(
                f"the output encoding ({output.encoding_of(stream)}) cannot show the language "
                f"'{messages.language}'", hint=output.UTF8_HINT + "; or use --lang en")
    return messages


def _request(program, file, sample, at, of, wrt, lr=None, exact=False, numeric=False,
             check: CheckChoice = CheckChoice.auto, forward_mode: bool = False,
             tangent: str | None = None, entry: str | None = None, shape: str | None = None) -> "engine.Request":
    from backprop_cli import engine

    gc.freeze()  # the engine's imports (SymPy's) are made now, not at start-up: out of the collector's scans

    if exact and numeric:
        raise BackpropError("--exact and --numeric exclude each other; give one")
    mode = engine.NumberMode.EXACT if exact else (engine.NumberMode.NUMERIC if numeric else engine.NumberMode.AUTO)
    return engine.Request(
        source=source.choose(program, file, sample),
        at=[source.BindingText(text, "--at") for text in (at or [])],
        of=of,
        wrt=engine.parse_wrt(wrt),
        lr=lr,
        mode=mode,
        check=engine.CheckKind(check.value),
        forward_mode=forward_mode or tangent is not None,
        tangent=tangent,
        entry=entry,
        shape=shape,
    )


class _Progress:
    """A spinner on stderr naming the stage, once the work has taken a second.

    Shown only on a terminal (never in pipes or CI logs), and only for runs long enough to
    need it: a timer starts it after `delay` seconds unless the run is over by then.
    """

    def __init__(self, console: "Console | None", delay: float = 1.0):
        self._console = console
        self._stage = "parse"
        self._status = None
        self._lock = threading.Lock()
        self._timer = None
        if console is not None:
            self._timer = threading.Timer(delay, self._show)
            self._timer.daemon = True
            self._timer.start()

    def _show(self) -> None:
        with self._lock:
            if self._timer is None:  # the run ended while the timer fired
                return
            self._status = self._console.status(f"backprop: {self._stage}…")
            self._status.start()

    def __call__(self, stage: str) -> None:
        with self._lock:
            self._stage = stage
            if stage == "output":
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                if self._status is not None:
                    self._status.stop()
                    self._status = None
            elif self._status is not None:
                self._status.update(f"backprop: {stage}…")


def _run(request: "engine.Request") -> "engine.Report":
    from backprop_cli import engine

    progress = _Progress(output.console(stderr=True) if output.stderr_raw().isatty() else None)
    try:
        report = engine.run(request, progress)
    finally:
        progress("output")
    gc.freeze()  # the trace lives to the end: out of the collector's scans while a view writes it
    return report


def _exit_code(outcome) -> int:
    """The one place where what a command found becomes its exit code (SPEC §5): 0 for success,
    1 for a failed check, 2 (raised as the error) for bad input."""
    if outcome is None:  # graph, samples: nothing to judge
        return EXIT_OK
    if isinstance(outcome, list):  # check --cases: a malformed case, or the time limit, is bad input
        if any(case.error is not None for case in outcome):
            return EXIT_USAGE
        return EXIT_OK if all(case.ok for case in outcome) else EXIT_CHECK_FAILED
    if getattr(outcome, "error", None) is not None:  # the quiz: the time limit, after the score so far
        raise outcome.error
    return EXIT_OK if getattr(outcome, "ok", True) else EXIT_CHECK_FAILED


# ---------------------------------------------------------------- commands


@app.command()
def explain(
    program: Program = None,
    file: File = None,
    sample: Sample = None,
    at: At = None,
    of: Of = None,
    wrt: Wrt = None,
    lr: Annotated[Optional[str], typer.Option("--lr", help="Add one gradient-descent step with this learning rate.",
                                              show_default=False)] = None,
    format: Annotated[ExplainFormat, typer.Option("--format", help="Output format.")] = ExplainFormat.tree,
    save_svg: Annotated[Optional[str], typer.Option("--save-svg", help="Also save the walkthrough as an SVG picture.",
                                                    show_default=False)] = None,
    save_html: Annotated[Optional[str], typer.Option("--save-html", help="Also save the walkthrough as a web page.",
                                                     show_default=False)] = None,
    exact: Exact = False,
    numeric: Numeric = False,
    check: Check = CheckChoice.auto,
    full: Annotated[bool, typer.Option("--full", help="Every step even for a big graph "
                                                      "(past 2,000 nodes the tree view is a summary).")] = False,
    forward_mode: Annotated[bool, typer.Option(
        "--forward", help="Show forward mode instead: tangents from the inputs (one pass per --wrt input).")] = False,
    tangent: Annotated[Optional[str], typer.Option(
        "--tangent", help='Forward mode along a direction, e.g. "x=1, y=-1" (other inputs 0).',
        show_default=False)] = None,
    entry: Annotated[Optional[str], typer.Option(
        "--entry", help="A tensor program: one entry's scalar chain of products, e.g. W1[0,1].",
        show_default=False)] = None,
    shape: Shape = None,
    lang: Lang = None,
    timeout: Timeout = DEFAULT_TIMEOUT_SECONDS,
) -> None:
    """Walk through the forward and backward pass, every chain-rule step shown.

    Example: backprop explain "y = w*x + b; L = (y - t)^2/2" --at x=2,w=3,b=1,t=10

    Forward mode: backprop explain --sample branch --forward --wrt b
    """
    def action() -> int:
        messages = _messages(lang, *([] if format is ExplainFormat.json else [output.stdout()]))
        if entry is not None and (format is not ExplainFormat.tree or forward_mode or tangent is not None):
            raise BackpropError("--entry expands one entry in the tree view of the reverse pass",
                                hint="drop --format and --forward; JSON and CSV from grad give every entry")
        if (save_svg or save_html) and format is not ExplainFormat.tree:
            raise BackpropError("--save-svg and --save-html record the tree view; drop --format or use --format tree")
        report = _run(_request(program, file, sample, at, of, wrt, lr, exact, numeric, check, forward_mode, tangent,
                               entry, shape))
        if format is ExplainFormat.json:
            from backprop_cli.render.json_view import json_pieces
            output.write_json(json_pieces(report, messages))
        elif format is ExplainFormat.markdown:
            from backprop_cli.render.markdown import render_markdown
            output.write_human(render_markdown(report, messages))
        else:
            from backprop_cli.render.tree import render_explain

            console = output.console(record=bool(save_svg or save_html))
            console.print(render_explain(report, messages, full))
            if save_svg:
                output.write_file(save_svg, console.export_svg(title="backprop explain", clear=False), "--save-svg")
            if save_html:
                output.write_file(save_html, console.export_html(clear=False), "--save-html")
        return _exit_code(report)

    _guarded(action, timeout)


@app.command()
def grad(
    program: Program = None,
    file: File = None,
    sample: Sample = None,
    at: At = None,
    of: Of = None,
    wrt: Wrt = None,
    format: Annotated[GradFormat, typer.Option("--format", help="Output format.")] = GradFormat.table,
    exact: Exact = False,
    numeric: Numeric = False,
    check: Check = CheckChoice.auto,
    shape: Shape = None,
    lang: Lang = None,
    timeout: Timeout = DEFAULT_TIMEOUT_SECONDS,
) -> None:
    """The gradients only, each cross-checked by finite differences.

    Example: backprop grad --sample linear --format csv
    """
    def action() -> int:
        messages = _messages(lang, *([output.stdout()] if format is GradFormat.table else []))
        report = _run(_request(program, file, sample, at, of, wrt, None, exact, numeric, check, shape=shape))
        if format is GradFormat.json:
            from backprop_cli.render.json_view import json_pieces
            output.write_json(json_pieces(report, messages))
        elif format is GradFormat.csv:
            from backprop_cli.render.table import csv_pieces
            output.write_text(csv_pieces(report))
        else:
            from backprop_cli.render.notes import notes_lines
            from backprop_cli.render.table import render_grad_table
            _stdout().print(render_grad_table(report, messages, notes_lines(report, messages)))
        return _exit_code(report)

    _guarded(action, timeout)


class TextOrJson(str, Enum):
    text = "text"
    json = "json"


@app.command()
def check(
    program: Program = None,
    file: File = None,
    sample: Sample = None,
    at: At = None,
    of: Of = None,
    expect: Annotated[Optional[list[str]], typer.Option(
        "--expect", help='A claim: "w=-6" (a value) or "w = x*(w*x + b - t)" (a formula). Repeatable.',
        show_default=False)] = None,
    tol: Annotated[Optional[float], typer.Option(
        "--tol", help="Relative tolerance for decimal claims (default 1e-6; exact claims are compared exactly).",
        show_default=False)] = None,
    cases: Annotated[Optional[str], typer.Option("--cases", help="Run every case of a TOML cases file.",
                                                 show_default=False)] = None,
    junit: Annotated[Optional[str], typer.Option("--junit", help="With --cases: also write a JUnit XML report here.",
                                                 show_default=False)] = None,
    format: Annotated[TextOrJson, typer.Option("--format", help="Output format.")] = TextOrJson.text,
    lang: Lang = None,
    timeout: Timeout = DEFAULT_TIMEOUT_SECONDS,
) -> None:
    """Check claimed gradients; a wrong one gets the right one and the likely mistake.

    Example: backprop check --sample branch --expect "b=2"   or   backprop check --cases samples/homework.toml
    """
    def action() -> int:
        from backprop_cli import engine
        from backprop_cli.render import claims_view

        messages = _messages(lang, *([output.stdout()] if format is TextOrJson.text else []))
        # `check --sample seed-formulas`: a shipped cases file, run as one
        cases_file = sample if cases is None and sample is not None and not expect and source.shipped_cases(
            sample) else cases
        if cases_file is not None:
            if any(x is not None for x in (program, file, sample if cases_file is cases else None)) or expect or at:
                raise BackpropError("--cases runs a file of cases; give no program, --at or --expect with it")
            from backprop_cli.cases import run_cases

            results = run_cases(cases_file, messages.language)
            for case in results:  # the report lists them too; the messages go to stderr as well
                if case.timed_out:
                    output.write_error(f"error: case '{case.name}' ran out of time: {case.error.message}\n")
                elif case.error is not None:
                    output.write_error(f"error: case '{case.name}', field '{case.field}': {case.error.message}\n")
            if junit is not None:
                output.write_file(junit, claims_view.junit_xml(results, messages), "--junit")
            if format is TextOrJson.json:
                output.write_json(claims_view.render_json(claims_view.cases_data(results, messages)))
            else:
                _stdout().print(claims_view.render_cases(results, messages))
            return _exit_code(results)
        if junit is not None:
            raise BackpropError("--junit needs --cases FILE")
        if not expect:
            raise BackpropError("nothing to check", hint='give a claim with --expect "w=-6", or --cases FILE.toml')
        from backprop_cli.claims import check_claims, parse_claims

        if tol is not None and not (tol >= 0):
            raise BackpropError(f"--tol {tol}: the tolerance must be a non-negative number")
        graph, bindings = engine.load(_request(program, file, sample, at, of, None))
        outcome = check_claims(graph, bindings, parse_claims(expect), tol)
        if format is TextOrJson.json:
            output.write_json(claims_view.render_json(claims_view.outcome_data(outcome, messages)))
        else:
            _stdout().print(claims_view.render_outcome(outcome, messages))
        return _exit_code(outcome)

    _guarded(action, timeout)


class GraphFormat(str, Enum):
    text = "text"
    dot = "dot"
    svg = "svg"
    png = "png"


@app.command()
def graph(
    program: Program = None,
    file: File = None,
    sample: Sample = None,
    at: At = None,
    of: Of = None,
    format: Annotated[GraphFormat, typer.Option("--format", help="text (terminal), dot, or svg/png (via Graphviz).")]
    = GraphFormat.text,
    output_path: Annotated[Optional[str], typer.Option("-o", "--output", help="Write here instead of stdout ('-').",
                                                       show_default=False)] = None,
    timeout: Timeout = DEFAULT_TIMEOUT_SECONDS,
    lang: Lang = None,
) -> None:
    """Draw the graph: each node with its value and gradient, each edge with its local derivative
    (for vectors and matrices: each node's shape, each edge's rule, a broadcast as a node of its own).

    Example: backprop graph --sample two-layer --format png -o net.png
    """
    def action() -> int:
        from backprop_cli import engine

        to_terminal = format is GraphFormat.text and output_path in (None, "-")
        messages = _messages(lang, *([output.stdout()] if to_terminal else []))
        if format is GraphFormat.png and output_path in (None, "-") and output.stdout().isatty():
            raise BackpropError("refusing to write a PNG image to the terminal", hint="use -o net.png")
        trace = engine.picture_trace(_request(program, file, sample, at, of, None), format is not GraphFormat.dot)
        if format is GraphFormat.text:
            from backprop_cli.render.graph_text import render_graph_text

            if output_path not in (None, "-"):
                from io import StringIO

                console = output.console(record=True, file=StringIO(), width=100, color_system=None)
                console.print(render_graph_text(trace, messages))
                output.write_file(output_path, console.export_text(), "-o")
            else:
                _stdout().print(render_graph_text(trace, messages))
            return _exit_code(None)
        from backprop_cli.render.dot import render_dot, run_graphviz

        dot_text = render_dot(trace, messages)
        data = dot_text.encode("utf-8") if format is GraphFormat.dot else run_graphviz(dot_text, format.value)
        if output_path in (None, "-"):
            output.write_bytes(data)
        else:
            output.write_file(output_path, data, "-o")
        return _exit_code(None)

    _guarded(action, timeout)


class QuizLevel(str, Enum):
    values = "values"
    formulas = "formulas"


@app.command()
def quiz(
    program: Program = None,
    file: File = None,
    sample: Sample = None,
    at: At = None,
    of: Of = None,
    level: Annotated[QuizLevel, typer.Option("--level", help="values: numbers at the point; "
                                                           "formulas: symbolic local derivatives.")] = QuizLevel.values,
    tol: Annotated[Optional[float], typer.Option("--tol", help="Relative tolerance for decimal answers "
                                                               "(default 0.001).", show_default=False)] = None,
    format: Annotated[TextOrJson, typer.Option("--format", help="json: the score as JSON on stdout "
                                                                "(the dialogue goes to stderr).")] = TextOrJson.text,
    lang: Lang = None,
    timeout: Timeout = DEFAULT_TIMEOUT_SECONDS,
) -> None:
    """Work the reverse pass yourself, step by step, with hints. Reads answers from stdin (pipes work).

    Example: backprop quiz --sample branch
    """
    def action() -> int:
        from backprop_cli import quiz as tutor
        from backprop_cli.render.quiz_view import QuizConsole

        output.stdin_or_error("the quiz reads the answers from standard input, which is closed",
                              "run it in a terminal, or pipe the answers in: printf '7\\n' | backprop quiz ...")
        as_json = format is TextOrJson.json
        view = QuizConsole(_messages(lang, output.stderr_raw() if as_json else output.stdout()), to_stderr=as_json)
        result = tutor.run(_request(program, file, sample, at, of, None), view, level.value, tol)
        view.finish(result)
        return _exit_code(result)  # a quiz is practice, not a check: 0 whatever the score

    _guarded(action, timeout)


@app.command()
def samples(
    name: Annotated[Optional[str], typer.Argument(
        help="Print this sample's text (its program and bindings, or a cases file) instead of the list.",
        show_default=False)] = None,
) -> None:
    """List the shipped samples, each with a one-line description; with a NAME, print its text.

    Example: backprop samples; then backprop explain --sample branch, or backprop samples homework > hw.toml
    """
    def action() -> int:
        resolve_language()  # as in every command: an unknown $BACKPROP_LANG is exit 2
        if name is not None:
            output.write_text(source.sample_text(name))
            return _exit_code(None)
        from backprop_cli.render.samples_list import samples_text

        programs = [(sample.origin.removeprefix("sample "), sample.description) for sample in source.samples()]
        cases = [(case_name, source.cases_description(case_name)) for case_name in source.cases_names()]
        # the terminal's width (80 when piped): descriptions wrap under themselves
        output.write_human(samples_text(programs, cases, max(_stdout().width, 40)))
        return _exit_code(None)

    _guarded(action)


def _version(value: bool) -> None:
    if value:
        try:
            output.write_text(f"backprop {__version__}\n")
        except BackpropError as error:
            raise typer.Exit(_report(error)) from None
        except output.ReaderGone:
            raise typer.Exit(output.EXIT_BROKEN_PIPE) from None
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """backprop: see every chain-rule step of a gradient, exact and cross-checked."""


def main() -> None:
    """The program: guarded streams, bounded memory, and the app. (`backprop_cli.__main__.main`
    wraps this so that a Ctrl-C while it imports ends quietly too.)"""
    output.install_streams()
    cap_memory()
    tune_collector()
    try:
        app(prog_name="backprop")
    except BackpropError as error:  # a write that failed outside a command: help, usage errors
        sys.exit(_report(error))
    except output.ReaderGone:
        sys.exit(output.EXIT_BROKEN_PIPE)
