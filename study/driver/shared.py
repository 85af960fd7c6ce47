"""What a study's nodes share (--storage, docs/storage.md): checked before anything is written (by the
driver, then by every other node), and the study folder's outputs and the driver's state copied there."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from study.basics.errors import StudyError
from study.basics.layout import MIRRORED
from study.basics.store import Store, study_store


def check_storage(plan: Any) -> None:
    """--storage written, read back and cleaned up from here; else a StudyError naming it."""
    if plan.storage:
        from study.basics.store import check_storage as check

        check(Store(plan.storage))


def check_nodes(plan: Any) -> None:
    """Every other node reaches --storage, or without it sees the study folder; else a StudyError."""
    from study.engine import nodes

    if not nodes.other_nodes():
        return  # Ray on this machine alone: nothing to check
    if plan.storage:
        failed = nodes.storage_failures(plan.storage)
        if failed:
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
        blind = nodes.blind_nodes(marker, token)
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
