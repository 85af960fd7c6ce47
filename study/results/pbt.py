"""Population Based Training's decisions as the study keeps them, pbt/decisions.json (docs/data.md), and a
member's own target bookkeeping (no Ray here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.io import write_json_atomic
from study.basics.layout import CHECKPOINTS, PBT_LOG


def member(trial_id: str) -> int:
    """A trial's place in the population, from Ray's trial id (``3f2a1_00003``: 3)."""
    return int(str(trial_id).rsplit("_", 1)[-1])


def member_key(config: dict[str, Any], trial_id: str) -> str | None:
    """A PBT trial's checkpoint name: its cell and member (its config changes); None without a trial number."""
    if not str(trial_id).rsplit("_", 1)[-1].isdigit():
        return None
    return f"pbt-{config.get('model')}-T{config.get('length')}-m{member(trial_id):03d}"


def boundary_path(study_folder: str | Path, key: str, step: int) -> Path:
    """A member's state at a perturbation step, which other members may go on from."""
    return Path(study_folder) / CHECKPOINTS / "pbt" / key / f"step-{step:09d}.pt"


def trained_path(checkpoint: Path) -> Path:
    """The step a member last trained past, beside its checkpoint (a restart after a fault, not a round's pause)."""
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


def own_since_exploit(trials: pd.DataFrame, curves: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trials, curves) with each PBT member's ``steps_to_target`` and ``best_eval_accuracy`` its own since its
    last exploit (docs/data.md); tables that are not PBT's come back as they are."""
    if curves.empty or "exploited_from" not in curves or "eval_accuracy" not in curves:
        return trials, curves
    ordered = curves.sort_values(["trial_id", "step"], kind="stable")  # its index kept: curves keep their order
    ids = ordered["trial_id"].astype(str)
    stretch = ordered["exploited_from"].notna().astype(int).groupby(ids).cumsum()
    target = pd.to_numeric(ordered["target"], errors="coerce") if "target" in ordered else \
        ids.map(_targets(trials)).astype(float)
    accuracy = pd.to_numeric(ordered["eval_accuracy"], errors="coerce")
    reached = pd.to_numeric(ordered["step"], errors="coerce").where(accuracy >= target).astype(float)
    first = reached.groupby([ids, stretch]).transform(lambda s: s.cummin().ffill())
    curves = curves.assign(steps_to_target=first,
                           exploited_from=pd.to_numeric(curves["exploited_from"], errors="coerce").astype("Int64"))
    if trials.empty or "trial_id" not in trials:
        return trials, curves
    last = stretch == stretch.groupby(ids).transform("max")
    final = ~ids.duplicated(keep="last")  # each member's last record (GroupBy.last would skip a missing value)
    own = pd.DataFrame({"steps_to_target": pd.Series(first[final].values, index=ids[final].values),
                        "best_eval_accuracy": accuracy[last].groupby(ids[last]).max()})
    rows = trials["trial_id"].astype(str)
    return trials.assign(**{c: rows.map(own[c]).where(rows.isin(own.index), trials[c]) for c in own if c in trials}), \
        curves


def _targets(trials: pd.DataFrame) -> dict[str, float]:
    if "target" not in trials or "trial_id" not in trials:
        return {}
    return dict(zip(trials["trial_id"].astype(str), pd.to_numeric(trials["target"], errors="coerce"), strict=True))
