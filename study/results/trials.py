"""Trial and curve tables from each trial's records, and why each trial ended (no Ray here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.store import Store
from study.results.checkpoints import CHECKPOINTS, as_store, read_saved
from study.results.pbt import own_since_exploit

# A PBT trial's records also hold what it trains with as it goes (curves.csv; and exploited_from,
# the member whose weights it went on from just before a record, from its lineage).
PBT_RECORDED = ["lr", "max_norm"]
RECORDED = ["step", "train_loss", "train_accuracy", "eval_loss", "eval_accuracy", "examples_per_second", "grad_norm",
           "grad_norm_max", "mean_train_accuracy", "diverged", "steps_to_target", "stopped_early"]


class FinishedTables:
    """The finished trials' tables from their checkpoints alone (no Ray), written while a study runs so that a
    study stopped by a full disk or a crash keeps them; a checkpoint is read again only when it changes."""

    def __init__(self, study_folder: str | Path | Store, config_columns: list[str]) -> None:
        self.store, self.columns = as_store(study_folder), config_columns
        self._cache: dict[str, tuple[Any, str, dict[str, Any], list[dict[str, Any]]]] = {}

    def _checkpoints(self) -> list[tuple[str, Any, Any]]:
        """(name, what tells it changed, what read_saved reads) of every trial checkpoint."""
        if self.store.local is not None:
            return [(p.stem, None, p) for p in sorted((self.store.local / CHECKPOINTS).glob("*.pt"))]
        return [(key[len(CHECKPOINTS) + 1:-3], (size, mtime), key)
                for key, size, mtime in self.store.entries(CHECKPOINTS) if key.endswith(".pt") and key.count("/") == 1]

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """(trials, curves) of the finished trials; None when nothing has changed since the last call."""
        changed = False
        try:
            found = self._checkpoints()
        except OSError:  # a checkpoint replaced while listed, or the storage not answering: the next call
            return None
        for stem, mtime, where in found:
            try:
                mtime = where.stat().st_mtime_ns if mtime is None else mtime  # a file: as it is now
                if self._cache.get(stem, (None,))[0] == mtime:
                    continue
                saved = read_saved(where if self.store.local is not None else self.store.read(where))
                if saved.trial_id is not None and saved.config is not None:
                    self._cache[stem] = (mtime, saved.trial_id, saved.config, saved.records)
                    changed = True
            except Exception:  # being replaced this instant, or unreadable: the next call sees it
                continue
        if not changed:
            return None
        entries = [(trial_id, config, records[-1], pd.DataFrame(records), "TERMINATED", None)
                   for _, trial_id, config, records in self._cache.values() if records and records[-1].get("done")]
        return trial_tables(entries, self.columns)


def trial_tables(entries: list[tuple[str, dict[str, Any], dict[str, Any], Any, str, str | None]],
            config_columns: list[str], scheduled: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trial id, config, last record, records or None, Ray status, error) per trial -> (trials, curves)."""
    trials, curves = [], []
    for trial_id, config, last, df, status, error in entries:
        cfg = {k: config.get(k) for k in config_columns}
        pbt = "lineage" in last
        if pbt:  # PBT: the config it ended with (its last exploit's), and its lineage
            cfg, extra, lineage = pbt_columns(cfg, last)
        best = None
        if df is not None and len(df) and "step" in df:
            # A trial restored from a checkpoint reports the steps after it again: keep the last.
            df = df.drop_duplicates("step", keep="last").sort_values("step")
            per_record = [c for c in PBT_RECORDED if pbt and c in df]  # lr and max_norm as they went
            fixed = {"trial_id": trial_id, **{k: [v] * len(df) for k, v in cfg.items() if k not in per_record}}
            part = pd.concat([pd.DataFrame(fixed, index=df.index), df[[c for c in RECORDED if c in df] + per_record]],
                             axis=1)
            if pbt:
                part["exploited_from"] = exploited_from(part["step"], lineage)
            curves.append(part)
            if "eval_accuracy" in part and part["eval_accuracy"].notna().any():
                best = float(part["eval_accuracy"].max())
        row = {"trial_id": trial_id, **cfg, **{k: last.get(k) for k in RECORDED}}
        # The best evaluation, beside the final one: a run can reach the target and then lose it.
        row["best_eval_accuracy"] = best if best is not None else last.get("eval_accuracy")
        row["status"] = "ERROR" if error is not None else status
        row["stopped_by"] = stopped_by(row, scheduled)
        row.update({k: last.get(k, d) for k, d in (("node", None), ("restarts", 0), ("restarted_from_scratch", False),
                                                   ("wall_seconds", None), ("params", None))})
        row["error"] = error
        trials.append({**row, **(extra if pbt else {})})
    trials_df = pd.DataFrame(trials)
    if len(trials_df):
        trials_df = trials_df.sort_values([c for c in config_columns if c in trials_df] + ["trial_id"],
                                          key=_sort_key).reset_index(drop=True)
    curves_df = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=["trial_id", *RECORDED])
    curves_df = curves_df.sort_values(["trial_id", "step"]).reset_index(drop=True)
    # PBT: a member's steps to the target and best accuracy are its own since its last exploit, not its donor's.
    return own_since_exploit(trials_df, curves_df)


def exploited_from(steps: pd.Series, lineage: list[dict[str, Any]]) -> pd.Series:
    """Per record, the member whose weights the trial went on from since the record before, else missing."""
    out = pd.Series(pd.NA, index=steps.index, dtype="Int64")
    for e in lineage:
        after = steps[steps > e["step"]]
        if len(after):
            out[after.index[0]] = int(e["from"])
    return out


def pbt_columns(cfg: dict[str, Any], last: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """A PBT trial's config as it ended, its ``member``, ``exploits`` and ``lineage`` columns, and its lineage."""
    lineage = json.loads(last["lineage"]) if isinstance(last["lineage"], str) else list(last["lineage"])
    if lineage:
        cfg = {**cfg, **{k: v for k, v in lineage[-1]["config"].items() if k in cfg}}
    text = "; ".join(f"{e['step']}:m{e['from']} (" + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                          for k, v in sorted(e["config"].items())) + ")"
                     for e in lineage)
    return cfg, {"member": last.get("member"), "exploits": len(lineage), "lineage": text}, lineage


def _sort_key(col: pd.Series) -> pd.Series:
    # Columns mixing None and numbers (max_norm) sort with None first.
    return col.map(lambda v: (0, "") if v is None or (isinstance(v, float) and v != v) else (1, v))


def stopped_by(row: dict[str, Any], scheduled: bool = True) -> str:
    """trials.csv's ``stopped_by``; "steps" from the step reached, not ``done`` (Ray sets it on a trial it cut).
    Without a scheduler, a trial ended short of its steps was stopped with the study: unfinished."""
    if row["status"] == "ERROR":
        return "error"
    if row.get("diverged"):
        return "diverged"
    if row.get("stopped_early"):
        return "target"
    if row.get("step") is not None and row.get("steps") is not None and row["step"] >= row["steps"]:
        return "steps"
    return "scheduler" if scheduled and row["status"] == "TERMINATED" else "unfinished"
