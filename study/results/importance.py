"""fANOVA importances over ``FANOVA_SEEDS`` of its random forest: one seed's ranking is not the answer (lr 0.18 to
0.45 over seeds 0 to 9 on reference-search-rnn20). Optuna's default evaluator (PED-ANOVA) is another method."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.io import write_csv_atomic
from study.basics.layout import IMPORTANCES

FANOVA_SEEDS = tuple(range(10))
COLUMNS = ["param", "fanova_mean", "fanova_min", "fanova_max", "seeds", "evaluator"]


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
    write_csv_atomic(Path(folder) / IMPORTANCES, table.round({c: 6 for c in COLUMNS[1:4]}))
    return table
