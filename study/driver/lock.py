"""One driver per study folder, and one Ray start at a time on a machine."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from study.basics.errors import StudyError
from study.basics.layout import LOCK


class StudyLock:
    """An exclusive lock on a study folder (``.lock``, via ``filelock``: flock on POSIX, msvcrt on
    Windows) for as long as one driver runs it: a second ``--resume`` of a running study is refused
    instead of writing Ray's state beside it. The operating system drops the lock when its process
    dies, SIGKILL included, so a dead driver never blocks a resume. Who holds it is written to
    ``.lock.holder`` (the lock file itself is truncated by every attempt to take it)."""

    FILE = LOCK

    def __init__(self, folder: Path, name: str) -> None:
        from filelock import FileLock, Timeout

        path = folder / self.FILE
        self.lock = FileLock(str(path), timeout=0)
        self.holder = folder / (self.FILE + ".holder")
        try:
            self.lock.acquire()
        except Timeout:
            try:
                holder = self.holder.read_text().strip()
            except OSError:
                holder = ""
            raise StudyError(f"--resume: study {name!r} is running now ({holder or 'another process'} holds "
                             f"{path}); wait for it to end, or stop it (Ctrl-C) and resume it then") from None
        self.holder.write_text(f"pid {os.getpid()}")

    def release(self) -> None:
        if self.lock.is_locked:
            self.lock.release()


def ray_start_lock() -> Any:
    """A machine-wide lock (in the temporary folder) held while a study picks its dashboard port
    and starts Ray."""
    from filelock import FileLock

    return FileLock(str(Path(tempfile.gettempdir()) / "palrnn-ray-start.lock"), timeout=300)
