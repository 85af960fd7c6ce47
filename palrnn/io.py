"""Atomic, durable file writes: a crash or a SIGKILL mid-write leaves the previous version intact.

``atomic_write(path)`` yields a file object for a temporary file in the same folder, named
``.<name>.<pid>.<random>.tmp``. When the ``with`` block ends normally the file is flushed and
fsynced, renamed over ``path`` (``os.replace``, atomic on POSIX), and the folder is fsynced so
the rename itself survives a power cut. When the block raises, the temporary file is removed
and ``path`` is untouched.

A writer killed mid-write (SIGKILL, out of memory) cannot remove its temporary file. The next
write of the same target removes every such leftover whose embedded pid is no longer alive on
this machine; readers only ever open ``path`` and never see a temporary file. (A temporary file
of a live writer on another machine sharing the folder would look dead here: writing one target
from two machines at once is not supported.) palrnn and study (``study.basics.io``) write through here.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
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
    found = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return []
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match:
            found.append((path.parent / entry.name, int(match.group(1))))
    return sorted(found)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (one we may not signal counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:  # e.g. where signal 0 is unsupported: assume alive, never remove a live writer's file
        return True
    return True


def remove_stale_temp_files(path: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files of writes to ``path`` whose writer is dead; return them."""
    removed = []
    for tmp, pid in temp_files(path):
        if pid != os.getpid() and not pid_alive(pid):
            try:
                tmp.unlink()
            except FileNotFoundError:  # another writer cleaned it up first
                continue
            removed.append(tmp)
    return removed


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """fsync a folder, so a rename in it is on disk; a no-op where the OS cannot do it."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(folder, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # e.g. EINVAL: this file system does not fsync folders
        pass
    finally:
        os.close(fd)


@contextmanager
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
