"""Kill a pagesindex process at a chosen write step (for tests/test_crash.py).

:func:`install` wraps every call that writes (``tempfile.mkstemp``, ``os.fsync``, ``os.replace``,
``os.link``, ``os.unlink``, ``os.rmdir``, ``os.mkdir``, ``shutil.rmtree``, ``shutil.copyfile``):
the process SIGKILLs itself at step ``kill_at``, counting a step just before and just after each
call, and keeps the count of steps reached in ``counter_fd``.

Run as a script, it does the same around a real ``python -m pagesindex``::

    python tests/crashhook.py KILL_AT COUNTER_FILE ARGS...
"""

from __future__ import annotations

import os
import runpy
import shutil
import signal
import sys
import functools
import tempfile

HOOKED = [
    (tempfile, "mkstemp"),
    (os, "fsync"),
    (os, "replace"),
    (os, "link"),
    (os, "unlink"),
    (os, "rmdir"),
    (os, "mkdir"),
    (shutil, "rmtree"),
    (shutil, "copyfile"),
]


def install(kill_at: int, counter_fd: int) -> None:
    """Count write steps; SIGKILL this process at step ``kill_at`` (0: never)."""
    state = {"n": 0}

    def step() -> None:
        state["n"] += 1
        if state["n"] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        os.lseek(counter_fd, 0, 0)
        os.write(counter_fd, str(state["n"]).encode().ljust(12))

    for module, name in HOOKED:
        real = getattr(module, name)

        def wrapper(*args, __real=real, **kwargs):
            step()
            result = __real(*args, **kwargs)
            step()
            return result

        # A partial, not the function itself: a function is a descriptor, and Python 3.9's
        # pathlib keeps os.mkdir etc. as class attributes, where a function would become a
        # bound method and get an extra argument.
        setattr(module, name, functools.partial(wrapper))


if __name__ == "__main__":
    kill_at, counter = int(sys.argv[1]), sys.argv[2]
    fd = os.open(counter, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    install(kill_at, fd)
    sys.argv = ["pagesindex"] + sys.argv[3:]
    runpy.run_module("pagesindex", run_name="__main__", alter_sys=True)
