"""A search's results: its Optuna study, its trials ranked, its best config and the command that confirms it."""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.layout import OPTUNA_JOURNAL
from study.basics.text import value_text
from study.planning.kinds.search import scheduled_text
from study.results.folder import study_target
from study.results.summary import trial_outcome
from study.spec.fields import BASE
from study.spec.space import ONLY_FOR


def _journal(path: str | os.PathLike[str], meta: Mapping[str, Any] | None = None) -> Any:
    """The Optuna storage of a search's journal file (optuna.journal), or None when there is none."""
    folder = Path(path)
    storage_name = ((meta or {}).get("search") or {}).get("storage") or OPTUNA_JOURNAL
    journal = Path(storage_name) if Path(storage_name).is_absolute() else folder / storage_name
    if not journal.is_file():
        journal = folder / OPTUNA_JOURNAL
        if not journal.is_file():
            return None
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))


def read_optuna_study(path: str | os.PathLike[str], meta: Mapping[str, Any] | None = None) -> Any:
    """The Optuna study in a search's journal file (optuna.journal), or None when there is none."""
    storage = _journal(path, meta)
    if storage is None:
        return None
    import optuna

    names = optuna.get_all_study_names(storage)
    if not names:
        return None
    name = "palrnn" if "palrnn" in names else names[0]
    return optuna.load_study(study_name=name, storage=storage)


OPTUNA_TIE_BREAK = ("the first of them in Optuna's trial order (its trial number): the trial Optuna's "
                    "study.best_trial names")
ID_TIE_BREAK = ("the first of them by trial id (no Optuna journal: Ray numbers a PBT study's trials, "
                "..._00000 on, in the order it made them)")


def optuna_numbers(path: str | os.PathLike[str], meta: Mapping[str, Any] | None = None) -> dict[str, int] | None:
    """Each trial's number in the search's Optuna journal, by Ray's trial id (the ``ray_trial_id``
    Optuna keeps for it; a search of several cells: each cell's study's numbers); None where the
    search keeps no journal (PBT)."""
    storage = _journal(path, meta)
    if storage is None:
        return None
    import optuna

    numbers = {}
    for name in optuna.get_all_study_names(storage):
        for t in optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False):
            if t.user_attrs.get("ray_trial_id") is not None:
                numbers[str(t.user_attrs["ray_trial_id"])] = t.number
    return numbers or None


def tie_break_text(numbers: Mapping[str, int] | None) -> str:
    """The rule that picks the best among trials tied on the objective, in words."""
    return ID_TIE_BREAK if numbers is None else OPTUNA_TIE_BREAK


def ranked_trials(trials: pd.DataFrame, metric: str = "eval_accuracy", mode: str = "max",
                  numbers: Mapping[str, int] | None = None) -> pd.DataFrame:
    """The finished trials with a final ``metric``, best first; among equal values, the first in
    Optuna's trial order (``numbers``, ``optuna_numbers``: as Optuna's study.best_trial takes the
    first completed trial with the best value), then by trial id (all of them, where no journal
    gives ``numbers``). Values are compared as they are: ties are exact."""
    if trials.empty or metric not in trials:
        return trials.iloc[0:0]
    ok = trials[trials["status"] == "TERMINATED"] if "status" in trials else trials
    value = pd.to_numeric(ok[metric], errors="coerce")
    ids = ok["trial_id"].astype(str) if "trial_id" in ok else pd.Series("", index=ok.index)
    number = ids.map(lambda i: (numbers or {}).get(i, math.inf)).astype(float)
    ok = ok.assign(_v=value, _n=number, _i=ids)[value.notna()]
    return ok.sort_values(["_v", "_n", "_i"], ascending=[mode == "min", True, True],
                          kind="stable").drop(columns=["_v", "_n", "_i"])


def best_trial_id(trials: pd.DataFrame, best: Mapping[str, Any] | None = None) -> str | None:
    """best.json's trial, else the first of ``ranked_trials``."""
    if best and best.get("trial_id") is not None:
        return str(best["trial_id"])
    ranked = ranked_trials(trials)
    return None if ranked.empty else str(ranked.iloc[0]["trial_id"])


def top_trials(trials: pd.DataFrame, fields: Sequence[str], n: int = 10,
               numbers: Mapping[str, int] | None = None) -> pd.DataFrame:
    """A search's ``n`` best trials (``ranked_trials``): the searched ``fields`` and how each ended."""
    shown = ["trial_id", *fields, "eval_accuracy", "steps_to_target", "step", "stopped_by"]
    ranked = ranked_trials(trials, numbers=numbers)
    return ranked[[c for c in shown if c in ranked]].head(n).reset_index(drop=True)


def search_overview(meta: Mapping[str, Any], trials: pd.DataFrame,
                    numbers: Mapping[str, int] | None = None) -> dict[str, Any]:
    """What a search's report says of its trials (printed and in report.html): the best trials (``top``,
    their searched ``fields``), what the scheduler did (``scheduled``), the ``others`` that errored or
    never finished, how many ``reached`` the target (``goal``). ``numbers`` (Optuna's) order ties."""
    fields = [a for a in meta.get("axes") or [] if a in trials]
    top = top_trials(trials, fields, numbers=numbers)
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


def best_trial(trials: Any, metric: str = "eval_accuracy", mode: str = "max",
               numbers: Mapping[str, int] | None = None) -> dict[str, Any] | None:
    """The finished trial with the best final ``metric`` (``ranked_trials``' first), as a row, with
    ``tied`` (every trial with that very value, the best first) and ``tie_break`` (the rule that
    chose among them, in words: ``tie_break_text``); None when no trial finished with a value."""
    ranked = ranked_trials(trials, metric, mode, numbers)
    if ranked.empty:
        return None
    best = ranked.iloc[0].to_dict()
    value = pd.to_numeric(ranked[metric], errors="coerce")
    tied = ranked.loc[value == value.iloc[0], "trial_id"].astype(str).tolist() if "trial_id" in ranked else []
    return {**best, "tied": tied, "tie_break": tie_break_text(numbers)}


def best_record(plan: Any, trials: pd.DataFrame, numbers: Mapping[str, int] | None = None) -> dict[str, Any] | None:
    """best.json: the search's best trial by its (first) metric (``best_trial``: with ``tied`` and
    ``tie_break``), every value plain, and ``confirm``, the command that reruns it over 5 seeds; a
    search over several cells adds each cell's best (``cells``). None when no trial finished."""
    metric, mode = plan.search.settings.metric, plan.search.settings.mode
    best = best_trial(trials, metric, mode, numbers)
    if best is None:
        return None

    def entry(row: dict[str, Any]) -> dict[str, Any]:
        return {**{k: v if k == "tied" else plain(v) for k, v in row.items()}, "confirm": confirm_command(plan, row)}

    data = entry(best)
    cells = plan.cells
    if len(cells) > 1:
        data["cells"] = {}
        for cell in cells:
            part = trials[(trials["model"] == cell["model"]) & (trials["length"] == cell["length"])] \
                if len(trials) else trials
            row = best_trial(part, metric, mode, numbers)
            if row is not None:
                data["cells"][f"{cell['model']}-T{cell['length']}"] = entry(row)
    return data


def tied_words(best: Mapping[str, Any]) -> str:
    """What best.json says of the trials tied with its best, in words ("" when none is): how many,
    and the rule that chose among them."""
    others = [t for t in best.get("tied") or [] if str(t) != str(best.get("trial_id"))]
    if not others:
        return ""
    shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
    return (f" (trial {best.get('trial_id')}, tied with {len(others)} other{'s' * (len(others) > 1)}: {shown}; "
            f"chosen as {best.get('tie_break') or 'the first of them'})")


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
