"""A study resumed on a machine without its study folder: ``--resume --name NAME --storage URI``.

Its driver copied its state (``study.basics.layout.DRIVER_STATE``: study.json, study.toml, a
search's Optuna journal, a frontier's state, PBT's decision log) to the storage as it ran
(``study.driver.shared.mirror``); Ray's experiment and the trials' checkpoints are there already.
Here that state is read back, checked as a local study folder's would be, and only then written
to the local study folder: a refused resume writes nothing.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from study.basics.errors import StudyError, first_line
from study.basics.layout import DRIVER_STATE, STUDY_FILE, STUDY_TOML


def fetch_state(storage: str, name: str, results_dir: str) -> dict[str, bytes]:
    """Study ``name``'s driver state in ``storage``, each file's bytes by its name in the study
    folder; a StudyError naming the option when the storage cannot be read or holds no such study."""
    from study.basics.store import open_storage

    store = open_storage(storage).child(name)
    files: dict[str, bytes] = {}
    for key in DRIVER_STATE:
        try:
            files[key] = store.read(key)
        except FileNotFoundError:
            continue
        except Exception as exc:  # an endpoint that does not answer, no credentials
            raise StudyError(f"--storage: cannot read {store.uri_of(key)} ({first_line(exc)})") from None
    if STUDY_FILE not in files:
        raise StudyError(f"--resume: no study {name!r} in {results_dir} (no {STUDY_FILE}) nor in {storage}; "
                         "give --name of an existing study")
    return files


def meta_of(files: dict[str, bytes]) -> dict[str, Any]:
    return json.loads(files[STUDY_FILE])


def study_of(files: dict[str, bytes]) -> Any:
    """The study.toml among ``files`` as a Study, or None (none, or one that no longer reads)."""
    if STUDY_TOML not in files:
        return None
    from study.spec.load import load

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / STUDY_TOML
        path.write_bytes(files[STUDY_TOML])
        try:
            return load(path)
        except StudyError:
            return None


def write_state(folder: Path, files: dict[str, bytes]) -> None:
    """The fetched files into the local study folder, each written atomically."""
    from study.basics.io import write_bytes_atomic

    for key, data in files.items():
        (folder / key).parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(folder / key, data)
