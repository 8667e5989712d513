"""Kill a pagesindex process just before its Nth upload to an object store (``Store.stage``),
so N-1 files are in the store: how tests/test_storage_migrate.py interrupts a move between uploads.

    python tests/stagehook.py N ARGS...
"""

from __future__ import annotations

import os
import runpy
import signal
import sys

from pagesindex.stores import github_release, s3


def _hook(cls, calls, kill_at):
    real = cls.stage

    def stage(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, *args, **kwargs)

    cls.stage = stage


if __name__ == "__main__":
    kill_at = int(sys.argv[1])
    calls = {"n": 0}
    for cls in (s3.S3Store, github_release.GitHubReleaseStore):  # whichever the index uses
        _hook(cls, calls, kill_at)
    sys.argv = ["pagesindex"] + sys.argv[2:]
    runpy.run_module("pagesindex", run_name="__main__", alter_sys=True)
