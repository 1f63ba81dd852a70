"""Where output goes, and how it gets there whole, visible and encodable.

- `visible(text)`: control, bidirectional and non-characters written as escapes (`\\x1b`,
  `\\u202e`), so no user text can drive the terminal or break an XML/SVG/HTML file.
  Human consoles (`console()`) apply it to every piece of text they draw.
- The standard streams (`install_streams`, the real process only): a closed, full or failing
  stdout is one error (exit code 2); a reader that went away (a broken pipe) ends the run
  quietly with exit status 141, as `cat` or `seq` killed by SIGPIPE report in a shell.
  Text a stream cannot encode gets an ASCII fallback (`d` for `∂`, `\\u` escapes for the rest);
  JSON is escaped with `\\u` instead, so it stays exact and is always writable.
- Output files (`write_file`): a temporary file beside the target renamed into place, so the old
  file is intact if the write fails; never over a file this run read (`note_input`).
- Big data (JSON and CSV of a 100,000-node graph, 55 MB) is streamed: a view gives its text in
  pieces, written here as they come in slices of about STREAM_SLICE characters, each escaped
  and encoded on its own (the escapes are per character, so the bytes are those of the whole
  text), never the whole text in memory at once.

Nothing here imports SymPy or the engine.
"""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
import sys
from functools import lru_cache
from typing import Iterable, Iterator

from backprop_cli.errors import BackpropError

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader went away

# ---------------------------------------------------------------- visible text

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_NONCHARACTERS = "\ufdd0-\ufdef\ufffe\uffff" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(1, 17))
# C0 controls but tab and newline, DEL, C1 controls, bidirectional controls, line and paragraph
# separators, lone surrogates (from undecodable command-line bytes) and non-characters.
_INVISIBLE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff{_NONCHARACTERS}]")


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: str) -> str:
    """`text` with every control or bidirectional character shown as an escape, e.g. `\\x1b`."""
    if not _INVISIBLE.search(text):
        return text
    return _INVISIBLE.sub(lambda match: _escape(match.group()), text)


# ---------------------------------------------------------------- encodings

# What our own symbols become on a stream that cannot encode them (ASCII, Latin-1, ...).
FALLBACK = {
    "∂": "d", "→": "->", "·": "*", "×": "*", "…": "...", "−": "-", "≈": "~", "—": "--", "–": "-",
    "✗": "x", "✓": "ok", "²": "^2", "³": "^3", "±": "+/-", "÷": "/", "η": "eta", "σ": "sigma",
    "Σ": "sum", "∇": "grad", "§": "section ", "│": "|", "└": "`", "├": "|", "▶": ">", "▼": "v",
    "↪": "->", "⚠": "!", "∙": "*", "ᵀ": "^T", "′": "'", "≤": "<=", "≥": ">=", "≠": "!=",
    "‘": "'", "’": "'", "“": '"', "”": '"', "─": "-", "╭": "+", "╮": "+", "╰": "+", "╯": "+",
    "\u00a0": " ",
}
ERROR_HANDLER = "backprop-fallback"


def _fallback(error: UnicodeError):
    if not isinstance(error, UnicodeEncodeError):
        raise error
    pieces = []
    for char in error.object[error.start:error.end]:
        replacement = FALLBACK.get(char)
        try:
            if replacement is not None:
                replacement.encode(error.encoding)
        except UnicodeEncodeError:
            replacement = None
        pieces.append(replacement if replacement is not None else _escape(char))
    return "".join(pieces), error.end


codecs.register_error(ERROR_HANDLER, _fallback)


def encoding_of(stream) -> str:
    return (getattr(stream, "encoding", None) or "utf-8").lower()


def can_encode(text: str, stream) -> bool:
    try:
        text.encode(encoding_of(stream))
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def is_utf(stream) -> bool:
    return encoding_of(stream).replace("-", "").replace("_", "").startswith("utf")


UTF8_HINT = ("use a UTF-8 locale (e.g. LANG=C.UTF-8) or set PYTHONIOENCODING=utf-8; "
             "--format json always works, with \\u escapes")


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_visible(text: str) -> str:
    """JSON text with control, bidirectional and non-characters as `\\u` escapes: the same data
    (JSON syntax itself is ASCII, so they can only sit inside strings), safe to show anywhere."""
    # JSON's own encoder escapes C0 controls, so an ASCII stretch can hold only DEL: such stretches
    # are passed on at C speed, and only the few with other characters are searched (55 MB of
    # network JSON: 0.02 s instead of 1.9 s).
    def escaped(chunk: str) -> str:
        if chunk.isascii() and "\x7f" not in chunk:
            return chunk
        # a plain range finds the few characters outside printable ASCII fast; each is then tested
        return _NOT_PLAIN.sub(lambda match: _json_escape(match.group()) if _INVISIBLE.match(match.group())
                              else match.group(), chunk)
    if len(text) <= _CHUNK:
        return escaped(text)
    return "".join(escaped(text[start:start + _CHUNK]) for start in range(0, len(text), _CHUNK))


_CHUNK = 1 << 16
_NOT_PLAIN = re.compile(r"[^\x20-\x7e\n]")


def json_ascii(text: str) -> str:
    """JSON text with every non-ASCII character as a `\\u` escape (JSON syntax itself is ASCII,
    so they can only sit inside strings): the same data, on any stream."""
    return re.sub(r"[^\x00-\x7f]", lambda match: _json_escape(match.group()), text)


# ---------------------------------------------------------------- the standard streams


class ReaderGone(Exception):
    """stdout is a pipe whose reader has gone away (`backprop samples | head -1`)."""


def _silence(stream) -> None:
    """Point the stream's file descriptor at /dev/null: what is still buffered in it goes
    nowhere at exit, instead of failing a second time with a message from the interpreter."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    if fd not in (1, 2):
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except OSError:
        pass


class GuardedStream:
    """sys.stdout or sys.stderr with its failures made one error.

    A write to stdout that fails is BackpropError (exit code 2), or ReaderGone for a broken
    pipe; a write to stderr that fails is dropped (there is nowhere left to say so), and the
    exit code still tells. In the real process (`direct`) text is encoded here and written to
    the file descriptor until every byte is out: Python's own buffered writer drops the rest of
    a short write (a file-size limit reached midway) without an error."""

    def __init__(self, name: str, stream=None, direct: bool = False):
        self.name = name  # "stdout" or "stderr"
        self._stream = stream
        self._fd = None
        if direct and stream is not None:
            try:
                stream.flush()
                self._fd = stream.fileno()
            except (AttributeError, OSError, ValueError):
                self._fd = None

    @property
    def real(self):
        return self._stream

    @property
    def encoding(self) -> str:
        return encoding_of(self.real)

    @property
    def errors(self) -> str:
        return ERROR_HANDLER

    def isatty(self) -> bool:
        try:
            return self.real is not None and self.real.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        if self.real is None:
            raise OSError(errno.EBADF, f"standard {self._word} is closed")
        return self.real.fileno()

    def writable(self) -> bool:
        return True

    @property
    def _word(self) -> str:
        return "output" if self.name == "stdout" else "error"

    def _failed(self, exc: BaseException | None) -> None:
        if self.name == "stderr":
            if self.real is not None:
                _silence(self.real)
            return
        if isinstance(exc, BrokenPipeError):
            _silence(self.real)
            raise ReaderGone() from None
        if exc is None:
            raise BackpropError("cannot write the output: standard output is closed",
                                hint="redirect it to a file: > out.txt")
        _silence(self.real)
        raise BackpropError(f"cannot write the output to standard output: {exc.strerror or exc}") from None

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def write(self, text: str) -> int:
        stream = self.real
        if stream is None:
            self._failed(None)
            return 0
        try:
            if self._fd is not None:
                self._write_all(text.encode(self.encoding, ERROR_HANDLER))
                return len(text)
            return stream.write(text)
        except OSError as exc:
            self._failed(exc)
            return 0

    def write_bytes(self, data: bytes) -> None:
        stream = self.real
        if stream is None:
            self._failed(None)
            return
        try:
            if self._fd is not None:
                self._write_all(data)
                return
            stream.flush()
            stream.buffer.write(data)
            stream.buffer.flush()
        except OSError as exc:
            self._failed(exc)

    def flush(self) -> None:
        stream = self.real
        if stream is None:
            return
        try:
            stream.flush()
        except OSError as exc:
            self._failed(exc)
        except ValueError:  # closed by someone else
            pass


class VisibleStream(GuardedStream):
    """stderr for plain writes (error messages, usage errors): user text in them is made visible."""

    def write(self, text: str) -> int:
        return super().write(visible(text))


def _reserve_closed_descriptors() -> None:
    """A standard descriptor closed at start (`>&-`, `<&-`, `2>&-`) is opened on /dev/null, so
    the next file this run opens cannot take its number; Python has already set sys.stdout
    (stdin, stderr) to None for it, which is how the run knows it is closed."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                null = os.open(os.devnull, os.O_RDWR)
                if null != fd:
                    os.dup2(null, fd)
                    os.close(null)
            except OSError:
                pass


def install_streams() -> None:
    """For the real process: stdout and stderr guarded, encoding failures given a fallback."""
    _reserve_closed_descriptors()
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors=ERROR_HANDLER)
            except (OSError, ValueError):
                pass
    sys.stdout = GuardedStream("stdout", sys.stdout, direct=True)
    sys.stderr = VisibleStream("stderr", sys.stderr, direct=True)


def stdout() -> GuardedStream:
    return sys.stdout if isinstance(sys.stdout, GuardedStream) else GuardedStream("stdout", sys.stdout)


def stderr_raw() -> GuardedStream:
    """stderr for a Rich console, which makes its text visible itself and adds its own styles."""
    stream = sys.stderr
    if isinstance(stream, VisibleStream):
        return GuardedStream("stderr", stream.real, direct=stream._fd is not None)
    return stream if isinstance(stream, GuardedStream) else GuardedStream("stderr", stream)


STREAM_SLICE = 1 << 20  # characters per write of streamed data: few system calls, bounded memory


def slices(text: str | Iterable[str]) -> Iterator[str]:
    """A text, or a view's pieces of one, as slices of about STREAM_SLICE characters: many small
    pieces are joined (each write, escape and encoding pass then runs over a slice at C speed)."""
    if isinstance(text, str):
        for start in range(0, len(text), STREAM_SLICE):
            yield text[start:start + STREAM_SLICE]
        return
    batch: list[str] = []
    size = 0
    for piece in text:
        batch.append(piece)
        size += len(piece)
        if size >= STREAM_SLICE:
            yield "".join(batch)
            batch, size = [], 0
    if batch:
        yield "".join(batch)


def write_text(text: str | Iterable[str]) -> None:
    """Data (CSV, DOT) on stdout, written as it comes (a text or its pieces) and flushed now,
    so that a failure is reported now."""
    out = stdout()
    for piece in slices(text):
        out.write(piece)
    out.flush()


def write_human(text: str) -> None:
    """Plain human text (Markdown, the samples list) on stdout, made visible."""
    write_text(visible(text))


def write_json(text: str | Iterable[str]) -> None:
    """JSON on stdout, written as it comes (a text or its pieces): exact on any stream (on one
    that is not UTF-8, every non-ASCII character is a `\\u` escape, so the bytes are ASCII, which
    any JSON reader takes as UTF-8)."""
    out = stdout()
    ascii_only = not is_utf(out)  # ASCII is UTF-8 too, as JSON must be
    for piece in slices(text):
        piece = json_visible(piece)
        out.write(json_ascii(piece) if ascii_only else piece)
    out.flush()


def write_bytes(data: bytes) -> None:
    stdout().write_bytes(data)


def write_error(text: str) -> None:
    """A message on stderr, made visible; dropped if stderr is closed."""
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write(visible(text))
        stream.flush()
    except (OSError, ValueError):
        pass


@lru_cache(maxsize=None)
def _visible_console_class():
    from rich.console import Console
    from rich.segment import Segment

    class VisibleConsole(Console):
        """Rich's console, with every piece of text it renders made visible (styles and Rich's
        own control codes are added after this, so they still work)."""

        def render(self, renderable, options=None):
            for segment in super().render(renderable, options):
                text = segment.text
                if segment.control or not _INVISIBLE.search(text):
                    yield segment
                else:
                    yield Segment(visible(text), segment.style, segment.control)

    return VisibleConsole


def console(stderr: bool = False, **options):
    """A Rich console for human output: every piece of text it draws is made visible."""
    if "file" not in options:
        options["file"] = stderr_raw() if stderr else stdout()
    options.setdefault("highlight", False)
    return _visible_console_class()(**options)


def stdin_or_error(message: str, hint: str):
    """sys.stdin, or `message` as the error for a closed one (`<&-`)."""
    if sys.stdin is None:
        raise BackpropError(message, hint=hint)
    return sys.stdin


# ---------------------------------------------------------------- files

_inputs: dict[tuple[int, int], str] = {}  # (device, inode) of each file this run read -> its path
_input_paths: dict[str, str] = {}  # resolved path -> as given
_outputs: dict[str, str] = {}  # resolved path of each file this run wrote -> as given


def reset_files() -> None:
    """A new run (the CLI calls this once per command; tests run many in one process)."""
    _inputs.clear()
    _input_paths.clear()
    _outputs.clear()


def note_input(path: str) -> None:
    """Remember a file this run reads, so that no output of the run can replace it."""
    try:
        info = os.stat(path)
        _inputs[(info.st_dev, info.st_ino)] = path
    except (OSError, ValueError):
        pass
    try:
        _input_paths[os.path.realpath(path)] = path
    except (OSError, ValueError):
        pass


def _refuse_inputs(path: str, option: str) -> str:
    """The resolved target, or the error naming the input it would replace."""
    resolved = os.path.realpath(path)
    try:
        info = os.stat(path)
        same = _inputs.get((info.st_dev, info.st_ino))
    except OSError:
        same = None
    same = same or _input_paths.get(resolved)
    if same is not None:
        raise BackpropError(f"{option} '{path}' would write over '{same}', an input of this run",
                            hint="choose another output file name")
    if resolved in _outputs:
        raise BackpropError(f"{option} '{path}' names the same file as '{_outputs[resolved]}', "
                            "another output of this run", hint="give each output its own file name")
    return resolved


def _new_file_mode() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_file(path: str, data: str | bytes, option: str = "output") -> None:
    """Write an output file whole or not at all (text as UTF-8).

    The data goes to a temporary file beside the target, which is then renamed into place: if
    anything fails (a full disk, a size limit, Ctrl-C), the old file is intact and no partial
    file remains. A symbolic link is followed: the file it points at is replaced, the link kept.
    A target that is not a regular file (/dev/null, a FIFO) is written directly.
    """
    if "\x00" in path:
        raise BackpropError(f"{option} path contains a NUL byte")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    shown = visible(path)
    target = _refuse_inputs(path, option)
    try:
        info = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise BackpropError(f"cannot write '{shown}': {exc.strerror or exc}") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise BackpropError(f"cannot write '{shown}': it is a directory")
    try:
        if info is not None and not stat.S_ISREG(info.st_mode):
            with open(target, "wb") as handle:
                handle.write(payload)
        else:
            _replace(target, payload, stat.S_IMODE(info.st_mode) if info is not None else _new_file_mode())
    except OSError as exc:
        raise BackpropError(f"cannot write '{shown}': {exc.strerror or exc}"
                            + ("; the old file is unchanged" if info is not None else "")) from None
    _outputs[target] = path


def _replace(target: str, payload: bytes, mode: int) -> None:
    folder, name = os.path.split(target)
    import tempfile  # only when a file is written: a run printing to stdout never needs it

    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder or ".")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
