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
3. binds the kept folders back (the Python installation), each mount in them remounted
   read-only with its own nosuid/nodev/noexec/atime flags kept (a user namespace refuses a
   remount that drops them), the source tree at ``/tmp/pagesindex-build/src`` and the output
   folder at ``/tmp/pagesindex-build/dist``;
4. replaces itself with ``setpriv`` (util-linux), which drops every capability, sets
   ``no_new_privs`` (no setuid program such as sudo can raise privileges again), switches to the
   user ``nobody`` when the sandbox runs as the real root, and executes the build.

The JSON argument: ``{"hide": [paths], "keep": [paths], "src": path, "dist": path,
"setpriv": [argv prefix], "command": [argv]}``. Mount flags: mount(2), Linux man-pages.

It fails closed: when any step cannot be done (a folder cannot be hidden, a kept folder cannot be
bound back or made read-only), it writes one line ``pagesindex sandbox: <why>`` to stderr and
exits with :data:`SETUP_FAILED` without running the build.
"""

import ctypes
import errno
import json
import os
import re
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_SYNCHRONOUS, MS_REMOUNT, MS_MANDLOCK = 1, 2, 4, 8, 16, 32, 64
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_RELATIME, MS_STRICTATIME = 1024, 2048, 4096, 16384, 1 << 21, 1 << 24
#: statvfs(3) flag -> the mount(2) flag that keeps it on a remount. Inside a user namespace the
#: kernel refuses (EPERM) a remount that would drop nosuid, nodev, noexec or change the atime
#: mode of a mount inherited from the parent namespace (they are locked), so all are passed back.
KEPT_FLAGS = (
    (os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_SYNCHRONOUS, MS_SYNCHRONOUS), (os.ST_MANDLOCK, MS_MANDLOCK),
    (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME), (os.ST_RELATIME, MS_RELATIME),
)
WORK = "/tmp/pagesindex-build"
#: The exit status of this process when the sandbox could not be made (nothing was run).
SETUP_FAILED = 121


class SetupError(Exception):
    """The sandbox cannot be made as specified: the build must not run."""


def _mount_points_under(path):
    """Mount points at ``path`` or below it, from /proc/self/mountinfo (octal escapes decoded)."""
    out = []
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            field = line.split(b" ")[4]
            point = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), field).decode("utf-8", "surrogateescape")
            if (point == path or point.startswith(path.rstrip("/") + "/")) and point not in out:
                out.append(point)
    return out


def remount_readonly(mount, path):
    """Make the mount at ``path`` read-only, keeping its nosuid/nodev/noexec/atime flags (see
    :data:`KEPT_FLAGS`); raises :class:`SetupError` when it is still writable afterwards."""
    try:
        flags = os.statvfs(path).f_flag
        extra = 0
        for st, ms in KEPT_FLAGS:
            if flags & st:
                extra |= ms
        if not flags & (os.ST_NOATIME | os.ST_RELATIME):
            extra |= MS_STRICTATIME
        mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | extra, None)
        still_writable = not os.statvfs(path).f_flag & os.ST_RDONLY
    except OSError as exc:
        raise SetupError(f"cannot make {path!r} read-only: {exc.strerror or exc}") from None
    if still_writable:
        raise SetupError(f"cannot make {path!r} read-only: still writable after the remount")


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
    for path in sorted(set(spec["hide"]), key=len):
        try:
            mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=50%")
        except OSError as exc:
            # Gone (or no longer a folder): nothing left to hide there. Anything else: refuse.
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                raise SetupError(f"cannot hide {path!r}: {exc.strerror}") from None
    if not os.path.ismount("/tmp"):
        raise SetupError("/tmp was not replaced by an empty tmpfs")
    for path, fd in keep:
        os.makedirs(path, exist_ok=True)
        mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC, None)
        # The bind is recursive: every mount below the folder is made read-only too.
        for point in _mount_points_under(path):
            remount_readonly(mount, point)
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
    try:
        main(json.loads(sys.argv[1]))
    except (SetupError, OSError) as exc:
        if isinstance(exc, SetupError) or not exc.strerror:
            message = str(exc)
        else:
            message = exc.strerror + (f" ({exc.filename!r})" if exc.filename else "")
        sys.stderr.write("pagesindex sandbox: " + " ".join(message.split()) + "\n")
        sys.stderr.flush()
        os._exit(SETUP_FAILED)
