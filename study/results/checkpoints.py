"""A trial's checkpoint: its name, its key in the study's store (``study.basics.store``), its one reader."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from palrnn.config import Config, field_names
from study.basics.layout import CHECKPOINTS
from study.basics.store import Store

CONFIG_FIELDS = field_names()


def trial_key(config: dict[str, Any]) -> str:
    """A trial's checkpoint name from its config alone (not Ray's trial id, which changes when Ray's state is lost)."""
    import hashlib
    # Through Config, so that 10 and 10.0, or a value restored from Ray's JSON, name one trial.
    fields = Config.from_dict({k: v for k, v in config.items() if k in CONFIG_FIELDS}).to_dict()
    fields.pop("device", None)  # where a trial runs is not which trial it is
    digest = hashlib.sha1(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{config.get('model')}-T{config.get('length')}-s{config.get('seed')}-{digest}"


def checkpoint_path(study_folder: str | Path, key: str) -> Path:
    """A trial's one checkpoint, written atomically at one path of our own: Ray's state can name one Ray deleted."""
    return Path(study_folder) / CHECKPOINTS / f"{key}.pt"


def checkpoint_key(key: str) -> str:
    """``checkpoint_path`` as a key of the study's store."""
    return f"{CHECKPOINTS}/{key}.pt"


def as_store(study_folder: str | Path | Store) -> Store:
    """Where a study's trials keep their checkpoints: a Store as it is, a study folder as one."""
    return study_folder if isinstance(study_folder, Store) else Store(str(study_folder))


def load_state(store: Store, key: str, device: str) -> Any:
    """The TrainState saved at ``key`` of ``store`` (a file read in place; an object, by its bytes)."""
    from palrnn.train import load_checkpoint
    if store.local is not None:
        return load_checkpoint(store.path(key), device=device)
    return load_checkpoint(store.read(key), device=device, name=store.uri_of(key))


def save_state(store: Store, key: str, state: Any, extra: dict[str, Any]) -> None:
    """Save ``state`` at ``key`` of ``store``, atomically (a file as palrnn writes it; an object whole)."""
    from palrnn.checkpoint import checkpoint_bytes
    from palrnn.train import save_checkpoint
    if store.local is not None:
        save_checkpoint(state, store.path(key), extra=extra)
    else:
        store.write(key, checkpoint_bytes(state, extra=extra))


@dataclass(frozen=True)
class Saved:
    """A trial's checkpoint's config, records (its curve so far) and the Ray trial that wrote it."""

    config: dict[str, Any] | None
    records: list[dict[str, Any]]
    trial_id: str | None


def read_saved(path: str | Path | bytes) -> Saved:
    """The one reader of a trial's checkpoint (file or bytes), weights_only (no pickle runs); raises if unreadable."""
    import torch
    source = io.BytesIO(bytes(path)) if isinstance(path, (bytes, bytearray)) else path
    payload = torch.load(source, map_location="cpu", weights_only=True)
    extra = payload["extra"]
    return Saved(payload.get("config"), list(extra["records"]), extra.get("trial_id"))


def saved_curve(study_folder: str | Path | Store, config: dict[str, Any],
                trial_id: str | None = None) -> list[dict[str, Any]] | None:
    """The records a trial's checkpoint holds, or None; a PBT trial's is named after its member (``trial_id``)."""
    from study.results.pbt import member_key
    key = member_key(config, trial_id) if trial_id else None
    store = as_store(study_folder)
    try:
        if store.local is not None:  # a file: read in place
            pbt = checkpoint_path(store.local, key) if key else None
            return read_saved(pbt if pbt is not None and pbt.exists()
                              else checkpoint_path(store.local, trial_key(config))).records
        return read_saved(store.read(checkpoint_key(key if key and store.exists(checkpoint_key(key))
                                                    else trial_key(config)))).records
    except Exception:  # no checkpoint (the trial failed first), or an unreadable one: Ray's log then
        return None
