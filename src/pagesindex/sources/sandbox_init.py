"""The first process inside the build sandbox (see :mod:`pagesindex.sources.sandbox`).

Run as ``python -I -S -c <this file's text> <JSON>`` by ``unshare`` in fresh PID and mount
namespaces, with the environment the build will get (built from scratch, no token). It uses only
the standard library and imports nothing of pagesindex, because the folder pagesindex lives in may
be one of those it hides. In order it:

1. opens the folders it must keep (the copy of the source tree, the output folder, the Python
   installation) before anything is hidden;
2. mounts an empty tmpfs over every folder to hide (``/home``, ``/root``, ``/tmp``, ``$HOME``, the
   index, the runner's folders, ...): ``~/.git-credentials`` and every ``.git/config`` there
   become unreachable;
3. binds the kept folders back (the Python installation read-only), the source tree at
   ``/tmp/pagesindex-build/src`` and the output folder at ``/tmp/pagesindex-build/dist``;
4. replaces itself with ``setpriv`` (util-linux), which drops every capability, sets
   ``no_new_privs`` (no setuid program such as sudo can raise privileges again), switches to the
   user ``nobody`` when the sandbox runs as the real root, and executes the build.

The JSON argument: ``{"hide": [paths], "keep": [paths], "src": path, "dist": path,
"setpriv": [argv prefix], "command": [argv]}``. Mount flags: mount(2), Linux man-pages.
"""

import ctypes
import errno
import json
import os
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 32, 4096, 16384
WORK = "/tmp/pagesindex-build"


def main(spec):
    libc = ctypes.CDLL(None, use_errno=True)

    def mount(source, target, fstype, flags, data):
        args = [None if v is None else v.encode() for v in (source, target, fstype, data)]
        if libc.mount(args[0], args[1], args[2], ctypes.c_ulong(flags), args[3]) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"mount {source or ''} on {target}: {os.strerror(err)}")

    keep = [(p, os.open(p, os.O_PATH | os.O_DIRECTORY)) for p in spec["keep"] if os.path.isdir(p)]
    src = os.open(spec["src"], os.O_PATH | os.O_DIRECTORY)
    dist = os.open(spec["dist"], os.O_PATH | os.O_DIRECTORY)
    hidden = 0
    for path in sorted(set(spec["hide"]), key=len):
        try:
            mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=50%")
            hidden += 1
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                raise
    if not os.path.ismount("/tmp"):
        raise SystemExit("pagesindex sandbox: /tmp was not replaced by an empty tmpfs")
    for path, fd in keep:
        os.makedirs(path, exist_ok=True)
        mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC, None)
        try:
            mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)
        except OSError:
            pass  # read-only is a second line; the folder holds no secret
    for name, fd in (("src", src), ("dist", dist), ("home", None)):
        os.makedirs(f"{WORK}/{name}", mode=0o1777, exist_ok=True)
        os.chmod(f"{WORK}/{name}", 0o1777)
        if fd is not None:
            mount(f"/proc/self/fd/{fd}", f"{WORK}/{name}", None, MS_BIND, None)
    for _path, fd in keep:
        os.close(fd)
    os.close(src)
    os.close(dist)
    os.chdir(f"{WORK}/src")
    argv = list(spec["setpriv"]) + list(spec["command"])
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
