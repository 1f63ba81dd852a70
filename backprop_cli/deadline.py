"""Bounded time and memory for everything a user's input sets off, and the process settings
a short-lived run over a big graph wants.

The limits on sizes (limits.py) stop hostile input early; these two are the
backstop for whatever slips past them: a wall-clock deadline (--timeout) that
turns into the usual error with exit code 2, and a cap on the address space
of the `backprop` process.
"""

from __future__ import annotations

import gc
import signal
from contextlib import contextmanager
from typing import Iterator

from backprop_cli import limits
from backprop_cli.errors import BackpropError


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise BackpropError if the block runs longer than `seconds` (None or 0: no deadline)."""
    if not seconds or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise BackpropError(f"gave up after {seconds:g} s; the limit is --timeout {seconds:g}",
                            hint="a bigger program may need a larger --timeout")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


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
