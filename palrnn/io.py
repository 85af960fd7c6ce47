"""Atomic, durable file writes: a crash or a SIGKILL mid-write leaves the previous version intact
(a temporary file in the same folder, flushed and fsynced, renamed over the target, the folder fsynced).

A writer killed mid-write cannot remove its temporary file, ``.<name>.<pid>.<random>.tmp``: the next
write of the same target removes every one whose pid is no longer alive on this machine (so writing
one target from two machines at once is not supported). palrnn and study write through here.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

_MODES = ("wb", "w")


def temp_name(path: Path, pid: int | None = None) -> str:
    """The name of a fresh temporary file for ``path``: ``.<name>.<pid>.<8 hex digits>.tmp``."""
    return f".{path.name}.{os.getpid() if pid is None else pid}.{secrets.token_hex(4)}.tmp"


def temp_files(path: str | os.PathLike[str]) -> list[tuple[Path, int]]:
    """Temporary files of writes to ``path`` in its folder, with the pid embedded in each name."""
    path = Path(path)
    pattern = re.compile(re.escape(f".{path.name}.") + r"(\d+)\.[0-9a-f]{8}\.tmp")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    return sorted((path.parent / name, int(m.group(1))) for name in names if (m := pattern.fullmatch(name)))


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (one we may not signal counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # not ours to signal, or signal 0 unsupported: alive, never remove a live writer's file
        return True
    return True


def remove_stale_temp_files(path: str | os.PathLike[str]) -> None:
    """Remove the temporary files of writes to ``path`` whose writer is dead."""
    for tmp, pid in temp_files(path):
        if pid != os.getpid() and not pid_alive(pid):
            tmp.unlink(missing_ok=True)  # another writer may have removed it first


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """fsync a folder, so a rename in it is on disk; a no-op where the OS cannot do it."""
    with contextlib.suppress(OSError):  # e.g. EINVAL: this file system does not fsync folders
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Write ``path`` all at once or not at all; yields the temporary file's object (mode "wb" or "w", UTF-8)."""
    if mode not in _MODES:
        raise ValueError(f"mode: must be one of {', '.join(_MODES)}, got {mode!r}")
    path = Path(path)
    remove_stale_temp_files(path)
    tmp = path.parent / temp_name(path)
    # "x": never open a file someone else made; the random part makes a clash all but impossible.
    f = open(tmp, mode.replace("w", "x"), **({} if "b" in mode else {"encoding": "utf-8"}))
    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """``path`` holds exactly ``data`` afterwards, or (after a crash) exactly what it held before."""
    with atomic_write(path, "wb") as f:
        f.write(data)
