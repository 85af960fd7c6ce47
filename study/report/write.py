"""``write_report`` (``python -m study.report``; also the end of ``python -m study.run``): summary.csv,
figures (page.py's ``CAPTIONS``), report.html, a search's best.json, importances.csv and pareto.csv, a
frontier's frontier.csv, written atomically, and the tables printed. A re-report writes the same bytes
(summary.csv sorted, its statistics rounded to 6 decimals); a figure not drawn this time is removed."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.errors import one_line
from study.basics.io import write_bytes_atomic, write_csv_atomic, write_json_atomic
from study.basics.layout import BEST, CURVES, FIGURES, IMPORTANCES, PARETO_FIGURE, PBT_FIGURE, SUMMARY, TRIALS
from study.frontier import table as fr
from study.planning.kinds import kind_named
from study.planning.plan import StudyPlan
from study.report import plots
from study.report.frontier import write_frontier
from study.report.html import write_html
from study.report.page import shown_folder
from study.report.plots.common import png_bytes
from study.report.text import report_text
from study.results.exercise import accuracy_vs_length, exercise_points, study_settings
from study.results.folder import read_study_folder, study_target, summary_axes
from study.results.pareto import study_objectives, write_pareto
from study.results.pbt import own_since_exploit
from study.results.search import best_record, best_trial_id, optuna_numbers, read_optuna_study, write_importances
from study.results.summary import SUMMARY_STATS, curves_table, finished_trials, model_order, summary_table

PROG = "study.report"
DIGITS = 6  # summary.csv rounding: stable bytes across re-reports, far below any seed-to-seed spread


def write_report(path: str | os.PathLike[str], echo: bool = True, figures: bool = True) -> dict[str, Any]:
    """Write a study folder's report (``NotAStudy`` first where it is none), print it when ``echo``; returns
    ``summary``, ``accuracy_vs_length``, ``curves_summary``, ``figures`` and a frontier's ``frontier``."""
    folder = Path(path)
    data = read_study_folder(folder)
    _restate(folder, data)
    meta, trials, curves = data["meta"], data["trials"], data["curves"]
    sections = kind_named(meta.get("kind")).report  # which of the report's parts it has (``Kind.report``)
    if "search" in sections:
        data["numbers"] = optuna_numbers(folder, meta)
        try:  # none without a journal, or where fANOVA cannot split the objective (a note)
            data["importances"] = write_importances(folder, read_optuna_study(folder, meta))
        except (ValueError, RuntimeError) as exc:
            print(f"{PROG}: no {IMPORTANCES}: {one_line(exc)}", file=sys.stderr)
            data["importances"] = None
        data["best"] = _best(folder, meta, data) or data["best"]
    axes = summary_axes(meta, trials.columns)
    summary = summary_table(trials, axes)
    bands = curves_table(curves, axes)
    table = accuracy_vs_length(summary, settings=study_settings(meta, trials))
    rounded = summary.round({c: DIGITS for c in SUMMARY_STATS})
    write_csv_atomic(folder / SUMMARY, rounded)
    frontier = _frontier(folder, figures) if "frontier-table" in sections else None
    written = _figures(folder, meta, data, summary, bands, sections) if figures else []
    for stale in stale_figures(folder / FIGURES, written) if figures else []:
        stale.unlink(missing_ok=True)
    if frontier is not None and figures:
        written.insert(0, folder / FIGURES / fr.FIGURE)
    write_html(folder, data, rounded)
    if echo:
        print(report_text(folder, meta, summary, table, data, written, frontier))
    return {"summary": summary, "accuracy_vs_length": table, "curves_summary": bands, "figures": written,
            **({"frontier": frontier} if frontier is not None else {})}


def _restate(folder: Path, data: dict[str, Any]) -> None:
    """trials.csv and curves.csv written again where a study written by older code tabulated them
    otherwise: a PBT member's own metrics since its last exploit, a frontier's every launched seed."""
    trials, curves = own_since_exploit(data["trials"], data["curves"])
    trials = kind_named(data["meta"].get("kind")).settle(folder, trials)
    for name, new, old in ((TRIALS, trials, data["trials"]), (CURVES, curves, data["curves"])):
        if not new.equals(old):
            write_csv_atomic(folder / name, new)
    data["trials"], data["curves"] = trials, curves


def _best(folder: Path, meta: dict[str, Any], data: dict[str, Any]) -> dict[str, Any] | None:
    """best.json again, as the study wrote it at its end, its confirm command naming the results folder
    the study is reported from; None (best.json left as it is) where study.json's plan cannot be read."""
    try:
        plan = StudyPlan.from_meta(meta)
    except (KeyError, TypeError, ValueError) as exc:
        print(f"{PROG}: {BEST} left as it is: study.json's plan cannot be read ({one_line(exc)})", file=sys.stderr)
        return None
    plan = replace(plan, results_dir=confirm_results_dir(folder, meta))
    best = best_record(plan, data["trials"], data["numbers"]) if plan.search else None
    if best is not None:
        write_json_atomic(folder / BEST, best)
    return best


def confirm_results_dir(folder: Path, meta: dict[str, Any]) -> str:
    """A confirm command's --results-dir: the folder above the study as the user named it; the study's own
    where it is reported where it was written, outside here; else "results" (a copy reported elsewhere)."""
    shown = shown_folder(folder)
    if not folder.is_absolute() or shown != folder.name or folder.resolve().parent == Path.cwd().resolve():
        return Path(shown).parent.as_posix()  # "." beside here
    written = meta.get("results_dir")
    if folder.is_absolute() and written and Path(written, folder.name).resolve() == folder.resolve():
        return str(written)
    return "results"


def _frontier(folder: Path, figure: bool) -> pd.DataFrame | None:
    """A memory frontier's frontier.csv (and figure); None when the frontier has no state (a note says why)."""
    try:
        state = fr.load_frontier(folder)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"{PROG}: {fr.FILE} cannot be read ({one_line(exc)}); no frontier.csv written", file=sys.stderr)
        return None
    if state is None:
        print(f"{PROG}: no {fr.FILE} in {folder}: the frontier's search never started", file=sys.stderr)
        return None
    return write_frontier(folder, state, echo=False, figure=figure)


def _figures(folder: Path, meta: dict[str, Any], data: dict[str, Any], summary: pd.DataFrame,
             bands: pd.DataFrame, sections: tuple[str, ...]) -> list[Path]:
    target = study_target(meta)
    out = folder / FIGURES
    jobs: list[tuple[str, Callable[[], Any]]] = []
    if "accuracy" in sections and not summary.empty:
        models = model_order(bands["model"]) if "model" in bands else []
        jobs += [(f"curves_{_safe(m)}.png", lambda m=m: plots.plot_curves(
            bands, m, target=target, curves=data["curves"], trials=data["trials"])) for m in models]
        if len(models) >= 2:
            jobs.append(("curves_both.png", lambda: plots.plot_curves_both(bands, target=target)))
        x = plots.figure_x(summary)
        vs = "length" if x == "length" else _safe(x)
        points = exercise_points(summary, study_settings(meta, data["trials"]))
        seeds = finished_trials(data["trials"])
        jobs += [(f"accuracy_vs_{vs}.png", lambda: plots.plot_accuracy(summary, x=x, exercise=points, seeds=seeds)),
                 (f"mean_accuracy_vs_{vs}.png", lambda: plots.plot_mean_accuracy(summary, x=x))]
        if summary["solved"].sum() > 0:
            jobs.append(("steps_to_target.png" if x == "length" else f"steps_to_target_vs_{vs}.png",
                         lambda: plots.plot_steps_to_target(summary, x=x, target=target)))
    if "search" in sections:
        jobs += _optuna_jobs(folder, meta, data, target)
    if not jobs:
        return []
    out.mkdir(exist_ok=True)
    written = []
    for name, draw in jobs:
        if name.startswith("optuna_"):
            # Optuna's own plots can refuse a study (too few distinct trials): skip, say so.
            import matplotlib.pyplot as plt
            before = set(plt.get_fignums())
            try:
                drawn = draw()
            except (ValueError, RuntimeError) as exc:
                print(f"{PROG}: skipped figures/{name}: {one_line(exc)}", file=sys.stderr)
                for n in set(plt.get_fignums()) - before:
                    plt.close(n)
                continue
        else:
            drawn = draw()
        write_bytes_atomic(out / name, png_bytes(drawn))
        written.append(out / name)
    return written


# The figures this code draws, by name or by the prefix of their names (``stale_figures``).
MADE = ("curves_", "accuracy_vs_", "mean_accuracy_vs_", "steps_to_target", "optuna_history.png",
        "optuna_importances.png", "best_curve.png", PARETO_FIGURE, PBT_FIGURE)


def stale_figures(figures: Path, written: list[Path]) -> list[Path]:
    """The PNGs under ``figures`` named as this code names its figures but not ``written`` this time."""
    if not figures.is_dir():
        return []
    keep = {p.name for p in written}
    return sorted(p for p in figures.glob("*.png") if p.name not in keep
                  and any(p.name == m or (not m.endswith(".png") and p.name.startswith(m)) for m in MADE))


def _optuna_jobs(folder: Path, meta: dict[str, Any], data: dict[str, Any],
                 target: float | None) -> list[tuple[str, Callable[[], Any]]]:
    import optuna

    jobs: list[tuple[str, Callable[[], Any]]] = []
    study = read_optuna_study(folder, meta)
    objectives = study_objectives(meta)
    first = objectives[0][0] if objectives else "eval_accuracy"
    if study is not None and study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        jobs.append(("optuna_history.png", lambda: plots.plot_optuna_history(study, first)))
    importances = data.get("importances")
    if importances is not None and len(importances):
        jobs.append(("optuna_importances.png", lambda: plots.plot_importances(importances, first)))
    trials, curves, best = data["trials"], data["curves"], data["best"]
    if len(objectives) > 1 and len(front := write_pareto(folder, trials, objectives)):
        jobs.append((PARETO_FIGURE, lambda: plots.plot_pareto(trials, front, objectives)))
    if not curves.empty and "exploited_from" in curves:  # Population Based Training
        jobs.append((PBT_FIGURE, lambda: plots.plot_pbt(curves)))
    trial_id = best_trial_id(trials, best)
    if trial_id is not None and not curves.empty and (curves["trial_id"].astype(str) == trial_id).any():
        searched = [a for a in meta.get("axes") or [] if a in trials.columns]
        row = trials[trials["trial_id"].astype(str) == trial_id]
        params = {a: row.iloc[0][a] for a in searched} if len(row) else None
        jobs.append(("best_curve.png", lambda: plots.plot_best_curve(curves, trial_id, target=target, params=params)))
    return jobs


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name))
