"""Run a native parser in a child process, so that a crash on a crafted file (a segfault
cannot be caught by `try`), a hang or a memory blow-up becomes one file's error.

POSIX only (fork); elsewhere the work runs in-process. The child inherits the parent's
imports, so the cost is a fork and one pickle of the result (our own objects, never the
file's).
"""

from __future__ import annotations

import gc
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


def _lower_address_space() -> None:
    """Cap the child's address space, only ever lowering it: under `ulimit -v` the hard
    limit (and the soft one) may already be below what we would grant, and asking for
    more than the hard limit is refused."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space() + EXTRA_MEMORY
    for current in (soft, hard):
        if current != resource.RLIM_INFINITY:
            limit = min(limit, current)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _as_load_error(exc: BaseException, what: str) -> LoadError:
    """What crosses back from the child: a LoadError as it is, anything else as one."""
    if isinstance(exc, LoadError):
        return exc
    if isinstance(exc, MemoryError):
        return LoadError(f"the {what} ran out of memory")
    if isinstance(exc, RecursionError):
        return LoadError(f"the {what} hit the recursion limit (nested too deeply)")
    detail = str(exc).splitlines()[0][:200] if str(exc) else ""
    return LoadError(f"the {what} failed ({type(exc).__name__}{': ' + detail if detail else ''})")


def run_isolated(fn: Callable[..., Any], *args: Any, what: str = "parser",
                 timeout: float = TIMEOUT_S) -> Any:
    if not hasattr(os, "fork"):
        return fn(*args)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns
        os.close(read_end)
        # one file, then exit: no cyclic garbage worth collecting, and on a 50k-node graph
        # the collector's passes over the growing heap cost a third of the time
        gc.disable()
        status = 0
        try:
            _lower_address_space()
            payload = ("ok", fn(*args))
        except BaseException as exc:  # everything crosses back as data, as a LoadError
            payload = ("error", _as_load_error(exc, what))
        try:
            data = pickle.dumps(payload)
        except BaseException as exc:
            data = pickle.dumps(("error", _as_load_error(exc, what)))
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
    try:
        kind, value = pickle.loads(b"".join(chunks))  # written by our own child above
    except Exception:  # cut short: the child was killed while writing
        raise LoadError(f"the {what} died before it finished its answer") from None
    if kind == "error":
        raise value
    return value
