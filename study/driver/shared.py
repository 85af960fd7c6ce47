"""What keeps a running study safe: the watch (its time, its tables so far, a folder that can no longer be
written), and what its nodes share (--storage, docs/storage.md): checked before anything is written, the
study folder's outputs and the driver's state copied there."""

from __future__ import annotations

import errno
import os
import secrets
import shlex
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from study.basics.errors import StorageError, StudyError, first_line
from study.basics.io import write_csv_atomic, write_json_atomic
from study.basics.layout import CURVES, MIRRORED, STUDY_FILE, TRIALS
from study.basics.store import Store, study_store
from study.basics.store import check_storage as check_store
from study.planning.plan import StudyPlan


def check_storage(plan: Any) -> None:
    """--storage written, read back and cleaned up from here; else a StudyError naming it."""
    if plan.storage:
        check_store(Store(plan.storage))


def check_nodes(plan: Any) -> None:
    """Every other node reaches --storage, or without it sees the study folder; else a StudyError."""
    from study.engine import nodes
    if not nodes.other_nodes():
        return  # Ray on this machine alone: nothing to check
    if plan.storage:
        if failed := nodes.failures(nodes.uses, plan.storage):
            node, why = failed[0]
            raise StudyError(f"--storage: node {node} cannot write and read back {plan.storage} ({why}); "
                             f"give every node the storage's endpoint and credentials")
        return
    # The study folder, or its nearest existing parent (a new study's folder is made after the checks).
    folder = next((p for p in (plan.folder.resolve(), *plan.folder.resolve().parents) if p.is_dir()), Path("/"))
    token = secrets.token_hex(8)
    fd, marker = tempfile.mkstemp(prefix=".palrnn-node-check-", dir=folder)
    try:
        with open(fd, "w") as f:
            f.write(token)
        blind = nodes.failures(nodes.sees, marker, token)
    finally:
        Path(marker).unlink(missing_ok=True)
    if blind:
        node, why = blind[0]
        others = f" (and {len(blind) - 1} more)" if len(blind) > 1 else ""
        raise StudyError(f"--storage: node {node}{others} cannot see the study folder {plan.folder.resolve()} "
                         f"({why}); give --storage s3://bucket/prefix (or another storage every node reaches), "
                         "or put --results-dir on a file system every node shares")


def upload(plan: Any, names: tuple[str, ...] | None = None) -> None:
    """Copy the study folder's files (only ``names``, where given) to the study's place in --storage."""
    if not plan.storage:
        return
    store = study_store(plan.storage, plan.folder)
    if names is None:
        store.upload(plan.folder)
    for name in names or ():
        if (plan.folder / name).is_file():
            store.write(name, (plan.folder / name).read_bytes())


def mirror(plan: Any) -> Callable[[], None] | None:
    """With --storage, what copies the driver's state (``layout.MIRRORED``) there, each file changed
    since its last copy (the watch calls it every few seconds); else None."""
    if not plan.storage:
        return None
    store, copied = study_store(plan.storage, plan.folder), {}

    def copy() -> None:
        for name in MIRRORED:
            path = plan.folder / name
            try:
                stat = path.stat()
                seen = stat.st_mtime_ns, stat.st_size
                if copied.get(name) == seen:
                    continue
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            store.write(name, data)
            copied[name] = seen

    return copy


class StudyWatch:
    """Every ``every`` seconds: study.json's ``wall_seconds`` (a driver killed outright leaves its time for
    ``--resume``), the finished trials' tables, and ``mirror`` (also at the end). A study folder that can no
    longer be written interrupts the study as Ctrl-C would: ``--resume`` continues it."""

    def __init__(self, folder: Path, meta: dict[str, Any], before: float, tables: Any, every: float = 5.0,
                 mirror: Callable[[], None] | None = None) -> None:
        self.folder, self.meta, self.before, self.tables, self.every = folder, meta, before, tables, every
        self.mirror, self.mirror_failed = mirror, False
        self.failure: OSError | None = None
        self.start = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="study-watch", daemon=True)
        self._thread.start()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                write_json_atomic(self.folder / STUDY_FILE, {**self.meta, "wall_seconds": self.before + self.elapsed()})
                finished = self.tables.tables()
                if finished is not None and len(finished[0]):
                    write_csv_atomic(self.folder / TRIALS, finished[0])
                    write_csv_atomic(self.folder / CURVES, finished[1])
                self._mirror()
            except OSError as exc:
                if exc.errno in STORAGE_ERRNOS and self.failure is None and not self._stop.is_set():
                    self.failure = exc
                    os.kill(os.getpid(), signal.SIGINT)  # Ray Tune stops the study gracefully, as on Ctrl-C

    def _mirror(self) -> None:
        """``shared.mirror``; a storage that does not answer is said once and tried at the next tick
        (the trials, which need it, fail on their own if it stays away)."""
        if self.mirror is None:
            return
        try:
            self.mirror()
        except Exception as exc:
            if not self.mirror_failed:
                print(f"study: cannot copy the driver's state to --storage now ({first_line(exc)}); trying again",
                      file=sys.stderr)
            self.mirror_failed = True

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._mirror()
        return self.elapsed()


STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


def unwritable(folder: Path) -> OSError | None:
    """The error a small write into ``folder`` meets (a full disk, a read-only file system), else None."""
    probe = folder / ".writable"
    try:
        with open(probe, "wb") as f:
            f.write(b"\0" * 65536)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        return exc if exc.errno in STORAGE_ERRNOS else None
    finally:
        try:
            probe.unlink(missing_ok=True)
        except OSError:
            pass
    return None


def storage_error(plan: StudyPlan, exc: OSError) -> StorageError:
    finished = ""
    try:
        import pandas as pd
        finished = f"; its trials.csv holds the {len(pd.read_csv(plan.folder / TRIALS))} trials finished before"
    except Exception:  # no table was written yet
        pass
    return StorageError(f"cannot write to {plan.folder} ({exc.strerror or exc}): the study stopped{finished}. "
                        f"Free space or make it writable, then resume it: python -m study.run --resume --name "
                        f"{plan.name} --results-dir {shlex.quote(str(plan.results_dir))}")
