"""Bounded time and memory for everything a user's input sets off, and the process settings
a short-lived run over a big graph wants.

The limits on sizes (limits.py) stop hostile input early; these two are the
backstop for whatever slips past them: a wall-clock deadline (--timeout) that
turns into the usual error with exit code 2, and a cap on the address space
of the `backprop` process.

The deadline is one clock for the whole run (SPEC §7): every case of a cases file,
every claim compared and every quiz answer judged draws on the same budget. It is
a SIGALRM timer whose handler raises the time-limit error in whatever Python code
is running, SymPy included. Two things make it hold:

- it is *sticky*: once expired it fires again every RETRY_SECONDS, so code that
  swallows exceptions (a broad `except` in a library) cannot outrun it; the code
  that catches it on purpose (a cases file, to report what was decided) calls
  `settle()`, which stops the repeats and leaves GRACE_SECONDS for the report;
- it can be *paused* (`paused()`) while the tool waits for a person (a quiz
  answer on a terminal), which is not work the limit is about.
"""

from __future__ import annotations

import gc
import signal
import threading
from contextlib import contextmanager
from typing import Iterator

from backprop_cli import limits
from backprop_cli.errors import BackpropError

RETRY_SECONDS = 0.25  # an expired deadline fires again this often until settled
GRACE_SECONDS = 5.0   # after settle(): time left to write the report of what was decided


class _Clock:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self.settled = False

    def error(self) -> BackpropError:
        return time_limit_error(self.seconds)


_clock: _Clock | None = None


def time_limit_error(seconds: float) -> BackpropError:
    return BackpropError(f"gave up after {seconds:g} s; the limit is --timeout {seconds:g}",
                         hint="a bigger program may need a larger --timeout")


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise BackpropError once the block has run `seconds` (None or 0: no deadline).

    A deadline inside another one adds nothing: the outer clock bounds the whole run.
    """
    global _clock
    if (not seconds or not hasattr(signal, "setitimer") or _clock is not None
            or threading.current_thread() is not threading.main_thread()):
        yield
        return
    clock = _Clock(seconds)

    def expire(signum, frame):
        clock.expired = True
        signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS if not clock.settled else GRACE_SECONDS)
        raise clock.error()

    previous = signal.signal(signal.SIGALRM, expire)
    _clock = clock
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except Exception as error:
        # Whatever the time-limit error turned into on its way out (some code re-words the
        # errors it catches), the run ran out of time and says so.
        if clock.expired and not clock.settled and not _is_time_limit(error, clock):
            raise clock.error() from None
        raise
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _clock = None


def _is_time_limit(error: Exception, clock: _Clock) -> bool:
    return isinstance(error, BackpropError) and error.message == clock.error().message


def expired() -> bool:
    """Whether the run's deadline has passed (the error may have been caught on the way)."""
    return _clock is not None and _clock.expired


def check() -> None:
    """Raise the time-limit error if the deadline has passed (between units of work)."""
    if _clock is not None and _clock.expired:
        raise _clock.error()


def settle() -> BackpropError:
    """The run has seen the deadline and stops working: no more repeats, a grace period
    for reporting what was decided. Returns the time-limit error to report."""
    clock = _clock
    if clock is None:  # pragma: no cover - only called after an expiry
        return time_limit_error(0)
    clock.settled = True
    signal.setitimer(signal.ITIMER_REAL, GRACE_SECONDS)
    return clock.error()


@contextmanager
def paused() -> Iterator[None]:
    """Stop the clock while waiting for a person; it resumes with the time that was left."""
    clock = _clock
    if clock is None or clock.expired:
        yield
        return
    left, _ = signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        yield
    finally:
        if _clock is clock and not clock.expired:
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))


def cap_memory(max_bytes: int = limits.MAX_MEMORY_BYTES) -> None:
    """Cap the address space of this process, so a runaway allocation is a MemoryError."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        max_bytes = min(max_bytes, hard)
    if soft == resource.RLIM_INFINITY or soft > max_bytes:
        try:
            resource.setrlimit(resource.RLIMIT_AS, (max_bytes, hard))
        except (ValueError, OSError):
            pass


def tune_collector() -> None:
    """Let the cyclic garbage collector run less often.

    A 100,000-node graph is a few million small objects, nearly all acyclic and freed by
    reference counting. With the default thresholds (a collection per 700 allocations) the
    collector rescanned them over and over: about 2 s of a 6 s run. Objects made while
    importing are frozen out of the scans; young collections run every 50,000 allocations.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
