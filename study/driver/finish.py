"""The end of a study: its tables, its status, its best config, its report."""

from __future__ import annotations

import datetime as dt
import json
import shlex
from pathlib import Path
from typing import Any

from study.basics import tracking
from study.basics.io import write_csv_atomic, write_json_atomic
from study.basics.layout import BEST, CURVES, STUDY_FILE, STUDY_TOML, TRIALS
from study.basics.provenance import provenance
from study.planning.plan import StudyPlan
from study.results.pareto import PARETO_TEXT, write_pareto
from study.results.search import best_record, confirm_words, optuna_numbers, tied_words
from study.spec.objectives import objective_text
from study.spec.space import ONLY_FOR
from study.spec.studyfile import to_toml


def study_toml(plan: StudyPlan) -> str:
    """The resolved study, as the study file that plans these very trials again."""
    folder = shlex.quote(str(plan.folder / STUDY_TOML))
    return to_toml(plan.study, [f"The study {plan.name}, as planned by: {plan.command}",
                                f"Every setting is explicit. Rerun it into a new folder: python -m study.run --study "
                                f"{folder}", "(--sweep, --set, --seeds and the other options change it)"])


def study_meta(plan: StudyPlan) -> dict[str, Any]:
    return {**plan.to_meta(), "started": dt.datetime.now().isoformat(timespec="seconds"),
            "finished": None, "wall_seconds": None, "status": "running",
            "provenance": provenance(None, threads_per_trial=max(1, int(plan.cpus_per_trial)))}


def read_study_meta(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / STUDY_FILE).read_text())
    except (OSError, ValueError):
        return {}


def finish(plan: StudyPlan, trials: Any, curves: Any, elapsed: float, *, before: float = 0.0, report: bool,
           echo: bool) -> dict[str, Any]:
    """Write the tables and the study's final status (``Kind.status``: complete, interrupted or failed);
    ``before``: seconds earlier runs of it took. A search's gets best.json, a frontier's its frontier.csv."""
    folder, say, kind = plan.folder, print if echo else silent, plan.kind_of
    trials = kind.settle(folder, trials)
    write_csv_atomic(folder / TRIALS, trials)
    write_csv_atomic(folder / CURVES, curves)
    unfinished = int((trials["stopped_by"] == "unfinished").sum()) if len(trials) else 0
    errors = int((trials["status"] == "ERROR").sum()) if len(trials) else 0
    status, unfinished = kind.status(plan, len(trials), unfinished, errors)
    meta = read_study_meta(folder) or study_meta(plan)
    meta.update(finished=dt.datetime.now().isoformat(timespec="seconds"), wall_seconds=before + elapsed,
                status=status)
    write_json_atomic(folder / STUDY_FILE, meta)
    if "search" in kind.report:
        _best(plan, trials, say)
        if plan.search.settings.more:
            front = write_pareto(folder, trials, plan.search.settings.objectives)
            say(f"Pareto front over {objective_text(plan.search.settings.objectives)}: {len(front)} of "
                f"{len(trials)} trials ({PARETO_TEXT}); pareto.csv")
    diverged = int(trials["diverged"].fillna(False).astype(bool).sum()) if len(trials) else 0
    say(f"{len(trials)} trials in {elapsed:.0f} s: {errors} failed, {diverged} diverged; tables in {folder}")
    tables = {"trials": trials, "curves": curves, **_reports(plan, bool(report and len(trials)), echo, say)}
    resume = f"Resume with:\n  python -m study.run --resume --name {plan.name} --results-dir {plan.results_dir}"
    if line := kind.status_line(status, unfinished, errors, resume):
        say(line)
    return {**tables, "unfinished": unfinished, "errors": errors, "status": status, "tuning_seconds": elapsed}


def silent(*args: Any, **kwargs: Any) -> None:  # ``say`` when the driver echoes nothing
    pass


def _reports(plan: StudyPlan, reported: bool, echo: bool, say: Any) -> dict[str, Any]:
    """The report (``study.report``) and, with --mlflow, its figures in the study's MLflow run."""
    folder, tables = plan.folder, {}
    if "frontier-table" in plan.kind_of.report and not reported:  # else the report writes it
        from study.frontier.table import FILE
        from study.report.frontier import write_frontier
        if (folder / FILE).is_file():
            tables["frontier"] = write_frontier(folder, echo=echo)
    if reported:
        from study.report.write import write_report
        tables.update(write_report(folder, echo=echo))
    if plan.mlflow:
        try:
            tracking.log_study_figures(plan.mlflow, folder, plan.name)
        except Exception as exc:  # the tables are written; MLflow is a view of them
            say(f"palrnn: MLflow: the study's figures were not logged ({type(exc).__name__}: "
                f"{(str(exc).splitlines() or [''])[0][:200]})")
    return tables


def _best(plan: StudyPlan, trials: Any, say: Any) -> None:
    """best.json (``study.results.search.best_record``), and the best trial (of each cell) said."""
    metric = plan.search.settings.metric
    data = best_record(plan, trials, optuna_numbers(plan.folder, read_study_meta(plan.folder)))
    if data is None:
        return
    several = len(plan.cells) > 1
    shown = [metric, *[a for a in plan.axes if a != metric], "steps_to_target"]
    write_json_atomic(plan.folder / BEST, data)
    for row in data["cells"].values() if several else [data]:
        where = f" ({row['model']} T={row['length']})" if several else ""
        fields = [k for k in shown if k in row and (k in (metric, "steps_to_target") or
                                                    row["model"] in ONLY_FOR.get(k, (row["model"],)))]
        say(f"best trial{where}: " + ", ".join(f"{k}={row.get(k)}" for k in fields) + tied_words(row))
        say(f"{confirm_words(row)}\n  {row['confirm']}")
