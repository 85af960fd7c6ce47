"""A search's results: its Optuna study, its trials ranked, its best config and the command that confirms it, and
its fANOVA importances."""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.io import write_csv_atomic
from study.basics.layout import IMPORTANCES, OPTUNA_JOURNAL
from study.basics.text import value_text
from study.planning.kinds.search import scheduled_text
from study.results.folder import study_target
from study.results.summary import trial_outcome
from study.spec.fields import BASE
from study.spec.space import ONLY_FOR

OPTUNA_TIE_BREAK = ("the first of them in Optuna's trial order (its trial number): the trial Optuna's "
                    "study.best_trial names")
ID_TIE_BREAK = ("the first of them by trial id (no Optuna journal: Ray numbers a PBT study's trials, "
                "..._00000 on, in the order it made them)")


def _journal(path: str | os.PathLike[str], meta: Mapping[str, Any] | None = None) -> tuple[Any, list[str]]:
    """The Optuna storage of a search's journal file and its studies' names; (None, []) when there is none."""
    folder = Path(path)  # an absolute storage path stays itself under folder /
    name = ((meta or {}).get("search") or {}).get("storage") or OPTUNA_JOURNAL
    journal = next((j for j in (folder / name, folder / OPTUNA_JOURNAL) if j.is_file()), None)
    if journal is None:
        return None, []
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    return storage, optuna.get_all_study_names(storage)


def read_optuna_study(path: str | os.PathLike[str], meta: Mapping[str, Any] | None = None) -> Any:
    storage, names = _journal(path, meta)
    if not names:
        return None
    import optuna
    return optuna.load_study(study_name="palrnn" if "palrnn" in names else names[0], storage=storage)


def optuna_numbers(path: str | os.PathLike[str], meta: Mapping[str, Any] | None = None) -> dict[str, int] | None:
    """Each trial's number in the search's Optuna journal, by ``ray_trial_id``; None without a journal (PBT)."""
    storage, names = _journal(path, meta)
    if not names:
        return None
    import optuna
    numbers = {str(t.user_attrs["ray_trial_id"]): t.number for name in names
               for t in optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
               if t.user_attrs.get("ray_trial_id") is not None}
    return numbers or None


def ranked_trials(trials: pd.DataFrame, metric: str = "eval_accuracy", mode: str = "max",
                  numbers: Mapping[str, int] | None = None) -> pd.DataFrame:
    """The finished trials, best first; exact ties in Optuna's trial order (as study.best_trial), then by id."""
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
    """A search's ``n`` best trials: the searched ``fields`` and how each ended."""
    shown = ["trial_id", *fields, "eval_accuracy", "steps_to_target", "step", "stopped_by"]
    ranked = ranked_trials(trials, numbers=numbers)
    return ranked[[c for c in shown if c in ranked]].head(n).reset_index(drop=True)


def search_overview(meta: Mapping[str, Any], trials: pd.DataFrame,
                    numbers: Mapping[str, int] | None = None) -> dict[str, Any]:
    """What a search's report says of its trials: the best, the scheduler's work, the others, how many reached it."""
    fields = [a for a in meta.get("axes") or [] if a in trials]
    top = top_trials(trials, fields, numbers=numbers)
    top = top.assign(**{c: top[c].map(lambda v: value_text(v, 6)) for c in fields})
    outcome = trial_outcome(trials) if len(trials) else pd.Series(dtype=object)
    target, cut = study_target(meta), int((outcome == "cut").sum())
    return {
        "fields": fields, "top": top, "cut": cut, "scheduled": scheduled_text(meta, trials, cut),
        "others": [f"{int((outcome == o).sum())} {o}" for o in ("errored", "unfinished") if (outcome == o).any()],
        "reached": int(trials["steps_to_target"].notna().sum()) if "steps_to_target" in trials else 0,
        "goal": f"{target:g}" if target is not None else "the target",
    }


def best_trial(trials: Any, metric: str = "eval_accuracy", mode: str = "max",
               numbers: Mapping[str, int] | None = None) -> dict[str, Any] | None:
    """``ranked_trials``' first as a row, with ``tied`` and ``tie_break``; None when no trial finished with a value."""
    ranked = ranked_trials(trials, metric, mode, numbers)
    if ranked.empty:
        return None
    value = pd.to_numeric(ranked[metric], errors="coerce")
    tied = ranked.loc[value == value.iloc[0], "trial_id"].astype(str).tolist() if "trial_id" in ranked else []
    return {**ranked.iloc[0].to_dict(), "tied": tied,
            "tie_break": ID_TIE_BREAK if numbers is None else OPTUNA_TIE_BREAK}


def best_record(plan: Any, trials: pd.DataFrame, numbers: Mapping[str, int] | None = None) -> dict[str, Any] | None:
    """best.json (docs/data.md), every value plain, each cell's best too (``cells``); None when no trial finished."""
    metric, mode = plan.search.settings.metric, plan.search.settings.mode
    best = best_trial(trials, metric, mode, numbers)
    if best is None:
        return None

    def entry(row: dict[str, Any]) -> dict[str, Any]:
        return {**{k: v if k == "tied" else plain(v) for k, v in row.items()}, "confirm": confirm_command(plan, row)}

    data = entry(best)
    if len(plan.cells) > 1:
        rows = {f"{c['model']}-T{c['length']}": best_trial(  # trials is not empty: it has a best
            trials[(trials["model"] == c["model"]) & (trials["length"] == c["length"])], metric, mode, numbers)
            for c in plan.cells}
        data["cells"] = {cell: entry(row) for cell, row in rows.items() if row is not None}
    return data


def tied_words(best: Mapping[str, Any]) -> str:
    """The trials tied with best.json's best and the rule that chose, in words ("" when none is)."""
    others = [t for t in best.get("tied") or [] if str(t) != str(best.get("trial_id"))]
    if not others:
        return ""
    shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
    return (f" (trial {best.get('trial_id')}, tied with {len(others)} other{'s' * (len(others) > 1)}: {shown}; "
            f"chosen as {best.get('tie_break') or 'the first of them'})")


def confirm_words(best: Mapping[str, Any]) -> str:
    """Said before the confirm command: for a PBT trial, it holds the last lr and max_norm fixed, no schedule."""
    made = pd.to_numeric(pd.Series([best.get("exploits")]), errors="coerce").iloc[0]
    if pd.notna(made) and made > 0:
        return (f"it is one seed's result, trained under PBT's schedule ({int(made)} exploits: {best.get('lineage')}); "
                "this reruns its last lr and max_norm, held fixed, over 5 seeds:")
    return "it is one seed's result; confirm it over 5 seeds with:"


def confirm_command(plan: Any, best: dict[str, Any], seeds: int = 5) -> str:
    """The grid command that reruns ``best`` over seeds 0 .. seeds-1 with every other setting the search's."""
    from palrnn.config import Config
    space = plan.param_space
    model = plain(best.get("model")) if best.get("model") is not None else space["model"]
    length = plain(best.get("length")) if best.get("length") is not None else space["length"]
    grid_base = Config.from_dict({**BASE, "model": model, "length": length}).to_dict()
    fixed = {k: v for k, v in space.items()
             if k not in ("model", "length", "seed") and k in grid_base and v != grid_base[k]}
    fixed.update({k: plain(best.get(k)) for k in plan.axes  # the searched fields this model has
                  if k in best and k not in ("model", "length") and model in ONLY_FOR.get(k, (model,))})
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
    return v.item() if hasattr(v, "item") else None if isinstance(v, float) and v != v else v


# fANOVA importances over FANOVA_SEEDS of its random forest: one seed's ranking is not the answer (lr 0.18 to 0.45
# over seeds 0 to 9 on reference-search-rnn20). Optuna's default evaluator (PED-ANOVA) is another method.
FANOVA_SEEDS = tuple(range(10))
IMPORTANCE_COLUMNS = ["param", "fanova_mean", "fanova_min", "fanova_max", "seeds", "evaluator"]


def seeds_text(seeds: Sequence[int]) -> str:
    """``0-9`` for seeds 0 .. 9, else the seeds listed."""
    seeds = list(seeds)
    several = len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1))
    return f"{seeds[0]}-{seeds[-1]}" if several else ", ".join(str(s) for s in seeds)


def importance_label(seeds: Sequence[int] | str = FANOVA_SEEDS, *, short: bool = False) -> str:
    """The evaluator and its seeds in words (``seeds``: or importances.csv's text); ``short``: no more."""
    text = seeds if isinstance(seeds, str) else seeds_text(seeds)
    several = "-" in text or "," in text
    label = f"fANOVA (Optuna's FanovaImportanceEvaluator, seed{'s' * several} {text})"
    return label if short or not several else f"{label}: mean over the seeds, and their range"


def importances_ready(study: Any) -> bool:
    """Two finished trials, and a searched field with two values among them: what fANOVA needs."""
    import optuna
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return len(complete) >= 2 and any(len({repr(t.params.get(p)) for t in complete}) > 1 for p in complete[0].params)


def fanova_importances(study: Any, seeds: Sequence[int] = FANOVA_SEEDS) -> pd.DataFrame:
    """importances.csv's rows, most important first (several objectives: the first one's); Optuna's errors raised."""
    import warnings

    import optuna
    target = (lambda t: t.values[0]) if len(study.directions) > 1 else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        runs = {s: optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=s), target=target) for s in seeds}
    table = pd.DataFrame(runs).astype(float)  # one row per field, one column per seed
    out = pd.DataFrame({"param": table.index, "fanova_mean": table.mean(axis=1).values,
                        "fanova_min": table.min(axis=1).values, "fanova_max": table.max(axis=1).values,
                        "seeds": seeds_text(seeds), "evaluator": "optuna.importance.FanovaImportanceEvaluator"})
    return out.sort_values(["fanova_mean", "param"], ascending=[False, True], kind="stable").reset_index(drop=True)


def importance_text(table: pd.DataFrame) -> str:
    """``lr 0.31 [0.18, 0.45], ...``: each field's mean and range, as the report prints them."""
    return ", ".join(f"{r.param} {r.fanova_mean:.2f} [{r.fanova_min:.2f}, {r.fanova_max:.2f}]"
                     for r in table.itertuples())


def write_importances(folder: Path, study: Any, seeds: Sequence[int] = FANOVA_SEEDS) -> pd.DataFrame | None:
    """importances.csv, rounded to 6 decimals (stable bytes), and its table; None and no file where fANOVA cannot."""
    if study is None or not importances_ready(study):
        return None
    table = fanova_importances(study, seeds)
    write_csv_atomic(Path(folder) / IMPORTANCES, table.round({c: 6 for c in IMPORTANCE_COLUMNS[1:4]}))
    return table
