"""A search's results: its Optuna study, its trials ranked, its best config and the command that confirms it."""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from study.basics.layout import OPTUNA_JOURNAL
from study.basics.text import value_text
from study.results.folder import study_target
from study.results.summary import trial_outcome
from study.spec.fields import BASE, scheduler_name
from study.spec.space import ONLY_FOR


def read_optuna_study(path: str | os.PathLike[str], meta: Mapping[str, Any] | None = None) -> Any:
    """The Optuna study in a search's journal file (optuna.journal), or None when there is none."""
    folder = Path(path)
    storage_name = ((meta or {}).get("search") or {}).get("storage") or OPTUNA_JOURNAL
    journal = Path(storage_name) if Path(storage_name).is_absolute() else folder / storage_name
    if not journal.is_file():
        journal = folder / OPTUNA_JOURNAL
        if not journal.is_file():
            return None
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    names = optuna.get_all_study_names(storage)
    if not names:
        return None
    name = "palrnn" if "palrnn" in names else names[0]
    return optuna.load_study(study_name=name, storage=storage)


def ranked_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """The finished trials with a final held-out accuracy, best first: highest ``eval_accuracy``,
    ties broken by fewer ``steps_to_target`` (a trial that never got there counts as infinitely slow),
    then by the table's own order."""
    if trials.empty or "eval_accuracy" not in trials:
        return trials.iloc[0:0]
    ok = trials[trials["status"] == "TERMINATED"] if "status" in trials else trials
    accuracy = pd.to_numeric(ok["eval_accuracy"], errors="coerce")
    steps = pd.to_numeric(ok["steps_to_target"], errors="coerce") if "steps_to_target" in ok else accuracy * np.nan
    ok = ok.assign(_a=accuracy, _s=steps.fillna(math.inf))[accuracy.notna()]
    return ok.sort_values(["_a", "_s"], ascending=[False, True], kind="stable").drop(columns=["_a", "_s"])


def best_trial_id(trials: pd.DataFrame, best: Mapping[str, Any] | None = None) -> str | None:
    """best.json's trial, else the first of ``ranked_trials``."""
    if best and best.get("trial_id") is not None:
        return str(best["trial_id"])
    ranked = ranked_trials(trials)
    return None if ranked.empty else str(ranked.iloc[0]["trial_id"])


def top_trials(trials: pd.DataFrame, fields: Sequence[str], n: int = 10) -> pd.DataFrame:
    """A search's ``n`` best trials (``ranked_trials``): the searched ``fields`` and how each ended."""
    shown = ["trial_id", *fields, "eval_accuracy", "steps_to_target", "step", "stopped_by"]
    ranked = ranked_trials(trials)
    return ranked[[c for c in shown if c in ranked]].head(n).reset_index(drop=True)


def search_overview(meta: Mapping[str, Any], trials: pd.DataFrame) -> dict[str, Any]:
    """What a search's report says of its trials, for the printed report and report.html alike:
    the best trials (``top``, their searched ``fields`` as text), how many the scheduler ``cut``
    and what it did (``scheduled``: "ASHA cut 2 early", "PBT made 5 exploits"), the
    ``others`` that errored or never finished, how many ``reached`` the target, and that target
    as text (``goal``)."""
    fields = [a for a in meta.get("axes") or [] if a in trials]
    top = top_trials(trials, fields)
    for column in fields:
        top[column] = top[column].map(lambda v: value_text(v, 6))
    outcome = trial_outcome(trials) if len(trials) else pd.Series(dtype=object)
    target = study_target(meta)
    return {
        "fields": fields,
        "top": top,
        "cut": int((outcome == "cut").sum()),
        "scheduled": scheduled_text(meta, trials, int((outcome == "cut").sum())),
        "others": [f"{int((outcome == o).sum())} {o}" for o in ("errored", "unfinished") if (outcome == o).any()],
        "reached": int(trials["steps_to_target"].notna().sum()) if "steps_to_target" in trials else 0,
        "goal": f"{target:g}" if target is not None else "the target",
    }


SCHEDULER_WORDS = {"asha": "ASHA", "hyperband": "HyperBand", "median": "the median stopping rule"}


def method_text(meta: Mapping[str, Any]) -> str:
    """How a search searched, in a few words: Optuna's sampler and Ray's scheduler, or Population
    Based Training (Ray Tune's own; it uses no Optuna sampler and keeps no Optuna journal)."""
    from study.planning.kinds.search import SAMPLER_NAMES

    search = meta.get("search") or {}
    name = scheduler_name(search.get("scheduler", "asha")) or "asha"
    if name == "pbt":
        return "Population Based Training"
    sampler = search.get("sampler") or "tpe"
    words = SCHEDULER_WORDS.get(name, "no scheduler")
    return f"Optuna, {SAMPLER_NAMES.get(sampler, sampler)}, {words}"


def uses_optuna(meta_search: Mapping[str, Any] | None) -> bool:
    """Whether a search (study.json's ``search``) is run by Optuna and keeps its journal: every
    search but Population Based Training."""
    return meta_search is not None and scheduler_name(meta_search.get("scheduler", "asha")) != "pbt"


def scheduled_text(meta: Mapping[str, Any], trials: pd.DataFrame, cut: int) -> str:
    """What the search's scheduler did, in a few words."""
    name = scheduler_name((meta.get("search") or {}).get("scheduler", "asha")) or "asha"
    if name == "pbt":
        made = int(pd.to_numeric(trials["exploits"], errors="coerce").fillna(0).sum()) if "exploits" in trials else 0
        return f"PBT made {made} exploit{'s' * (made != 1)}"
    if name == "none":
        return "no scheduler: every trial ran to its end"
    return f"{SCHEDULER_WORDS[name]} cut {cut} early"


def best_trial(trials: Any, metric: str = "eval_accuracy", mode: str = "max") -> dict[str, Any] | None:
    """The finished trial with the best final ``metric``: for eval_accuracy (max), the highest, ties
    broken by fewer steps to the target (``ranked_trials``)."""
    import pandas as pd

    if metric == "eval_accuracy" and mode == "max":
        ranked = ranked_trials(trials)
        return None if ranked.empty else ranked.iloc[0].to_dict()
    if trials.empty or metric not in trials:
        return None
    ok = trials[trials["status"] == "TERMINATED"] if "status" in trials else trials
    value = pd.to_numeric(ok[metric], errors="coerce")
    ok = ok.assign(_v=value)[value.notna()]
    if ok.empty:
        return None
    return ok.sort_values("_v", ascending=mode == "min", kind="stable").drop(columns="_v").iloc[0].to_dict()


def confirm_words(best: Mapping[str, Any]) -> str:
    """What the confirm command is, said before it: a PBT trial trained under a schedule of lr and
    max_norm (its lineage), which the command does not replay: it holds the last values fixed."""
    made = pd.to_numeric(pd.Series([best.get("exploits")]), errors="coerce").iloc[0]
    if pd.notna(made) and made > 0:
        return (f"it is one seed's result, trained under PBT's schedule ({int(made)} exploits: {best.get('lineage')}); "
                "this reruns its last lr and max_norm, held fixed, over 5 seeds:")
    return "it is one seed's result; confirm it over 5 seeds with:"


def confirm_command(plan: Any, best: dict[str, Any], seeds: int = 5) -> str:
    """The grid command that reruns a search's best config over seeds 0 .. seeds-1, all else equal:
    the searched fields from ``best``, and every other setting of the search (``--set``, --full,
    --patience, --smoke-test) that differs from what the ``lengths`` grid would use. ``best`` is a
    row of the trials table; its model and length name the cell (a search over several cells)."""
    from palrnn.config import Config
    space = plan.param_space
    model = plain(best.get("model")) if best.get("model") is not None else space["model"]
    length = plain(best.get("length")) if best.get("length") is not None else space["length"]
    grid_base = Config.from_dict({**BASE, "model": model, "length": length}).to_dict()
    fixed = {k: v for k, v in space.items()
             if k not in ("model", "length", "seed") and k in grid_base and v != grid_base[k]}
    searched = [k for k in plan.axes
                if k in best and k not in ("model", "length") and model in ONLY_FOR.get(k, (model,))]
    fixed.update({k: plain(best.get(k)) for k in searched})
    words = ["python -m study.run --grid lengths", f"--models {model}", f"--lengths {length}", f"--seeds {seeds}"]
    words += [f"--set {k}={_arg(v)}" for k, v in fixed.items()]
    if plan.results_dir != "results":
        words.append(f"--results-dir {shlex.quote(str(plan.results_dir))}")
    several = isinstance(space.get("model"), list) or isinstance(space.get("length"), list)
    suffix = f"-confirm-{model}-T{length}" if several else "-confirm"
    return " ".join(words + [f"--name {plan.name}{suffix}"])


def _arg(v: Any) -> str:
    """A --set value that parses back to ``v`` exactly (floats by repr, None as none)."""
    return "none" if v is None else repr(v) if isinstance(v, float) else shlex.quote(str(v))


def plain(v: Any) -> Any:
    """A pandas/numpy value as plain Python (numpy scalars unwrapped, NaN as None), for JSON and commands."""
    if hasattr(v, "item"):
        return v.item()
    if isinstance(v, float) and v != v:
        return None
    return v
