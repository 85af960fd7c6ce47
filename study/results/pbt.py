"""Population Based Training's decisions, as the study keeps them (no Ray here).

``pbt/decisions.json`` in the study folder (a search of several cells: one per cell's Ray experiment,
``cells/<model>-T<length>/pbt/decisions.json``) lists, in order, every exploit (``{"step", "member",
"from", "config"}``: member ``member`` goes on from member ``from``'s weights at ``step``, with
``config``'s searched values) and every round's end (``{"round": step}``). The scheduler writes it
before Ray acts on a decision, and a trial reads it when it starts: the decisions survive a driver
killed at any moment, and a resumed study decides nothing twice. A member is a trial's place in the
population, Ray's trial number (``..._00003``: member 3), the same in every run of the study.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from study.basics.io import write_json_atomic
from study.basics.layout import CHECKPOINTS, PBT_LOG


def member(trial_id: str) -> int:
    """A trial's place in the population, from Ray's trial id (``3f2a1_00003``: 3)."""
    return int(str(trial_id).rsplit("_", 1)[-1])


def member_key(config: dict[str, Any], trial_id: str) -> str | None:
    """A PBT trial's checkpoint name: its cell and member (its config changes as it trains); None
    for a trial id with no trial number."""
    if not str(trial_id).rsplit("_", 1)[-1].isdigit():
        return None
    return f"pbt-{config.get('model')}-T{config.get('length')}-m{member(trial_id):03d}"


def boundary_path(study_folder: str | Path, key: str, step: int) -> Path:
    """A member's state at a perturbation step, which other members may go on from."""
    return Path(study_folder) / CHECKPOINTS / "pbt" / key / f"step-{step:09d}.pt"


def trained_path(checkpoint: Path) -> Path:
    """Beside a member's checkpoint, the step of the checkpoint it last trained past (which tells a
    restart after a fault from a pause at a round)."""
    return checkpoint.with_name(checkpoint.name + ".trained")


def read_log(path: str | Path) -> list[dict[str, Any]]:
    try:
        return list(json.loads(Path(path).read_text()))
    except FileNotFoundError:
        return []


def append_log(path: str | Path, entry: dict[str, Any]) -> None:
    """Add one entry (the whole file written again, atomically)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, [*read_log(path), entry])


def decision(log: list[dict[str, Any]], who: int, step: int) -> dict[str, Any] | None:
    """The exploit member ``who`` made at ``step``, if any."""
    return next((e for e in log if "member" in e and e["member"] == who and e["step"] == step), None)


def last_round(log: list[dict[str, Any]]) -> int | None:
    return max((int(e["round"]) for e in log if "round" in e), default=None)


def log_path(experiment_folder: str | Path) -> Path:
    return Path(experiment_folder) / PBT_LOG
