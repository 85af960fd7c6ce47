"""One driver per study folder, one Ray start at a time on a machine, and the Ray dashboard's port and host."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from study.basics.errors import StudyError
from study.basics.layout import LOCK
from study.planning.plan import DASHBOARD_PORT


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


def dashboard_port_for(host: str, port: int | None, tries: int = 100) -> int:
    """The dashboard's port: ``port`` if it is free, refused (StudyError) if it is not; without a
    ``port``, Ray's default or the next free one, so that a second study on the same machine starts
    its own Ray beside the first instead of failing on the port."""
    if port is not None:
        if not _port_free(host, port):
            raise StudyError(f"--dashboard-port: {port} on {host} is in use (another study's Ray?); "
                             "choose a free port, or leave the option out to take the next free one")
        return port
    for candidate in range(DASHBOARD_PORT, DASHBOARD_PORT + tries):
        if _port_free(host, candidate):
            return candidate
    raise StudyError(f"--dashboard-port: ports {DASHBOARD_PORT}..{DASHBOARD_PORT + tries - 1} on {host} are all "
                     "in use; choose a free one")


def _port_free(host: str, port: int) -> bool:
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            sock.bind((host, port))
    except OSError:
        return False
    return True


def dashboard_warning(host: str, address: str | None) -> str | None:
    """The dashboard can submit jobs that run code: say so when it listens beyond this machine."""
    if address or host in ("127.0.0.1", "localhost", "::1"):
        return None
    return (f"warning: the Ray dashboard will listen on {host}, reachable from other machines; only Ray's "
            "token protects it (prefer 127.0.0.1 and an ssh tunnel)")
