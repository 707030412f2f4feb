"""Run a native parser in a child process, so that a crash on a crafted file (a segfault
cannot be caught by `try`), a hang or a memory blow-up becomes one file's error.

POSIX only (fork); elsewhere the work runs in-process. The child inherits the parent's
imports, so the cost is a fork and one pickle of the result (our own objects, never the
file's).
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import time
from typing import Any, Callable

from .errors import LoadError

TIMEOUT_S = 120.0
EXTRA_MEMORY = 4 * 1024**3  # address space the child may add to what the parent uses


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def run_isolated(fn: Callable[..., Any], *args: Any, what: str = "parser",
                 timeout: float = TIMEOUT_S) -> Any:
    if not hasattr(os, "fork"):
        return fn(*args)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns
        os.close(read_end)
        status = 0
        try:
            import resource

            limit = _address_space() + EXTRA_MEMORY
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            payload = ("ok", fn(*args))
        except MemoryError:
            payload = ("error", LoadError(f"the {what} ran out of memory"))
        except BaseException as exc:  # everything crosses back as data
            payload = ("error", exc)
        try:
            data = pickle.dumps(payload)
        except Exception as exc:
            data = pickle.dumps(("error", LoadError(f"the {what} failed ({type(exc).__name__})")))
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view):]
        except OSError:
            status = 1
        os._exit(status)
    os.close(write_end)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([read_end], [], [], max(left, 0))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                raise LoadError(f"the {what} took over {timeout:.0f} s (stopped)")
            chunk = os.read(read_end, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        raise LoadError(f"the {what} crashed on this file ({name})")
    if not chunks:
        raise LoadError(f"the {what} died without an answer")
    kind, value = pickle.loads(b"".join(chunks))  # written by our own child above
    if kind == "error":
        raise value
    return value
