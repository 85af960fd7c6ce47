"""study: Ray Tune studies of palrnn models, and their tables and figures.

Notebook API::

    import study
    p = study.plan(axes={"hidden": [64, 128], "lr": [1e-3, 3e-3]}, models=["RNN"], lengths=[15, 20],
                   seeds=2, fixed={"steps": 3000})
    p.trials                      # the 32 planned trials, one row each (every config field), a DataFrame
    print(p.text())               # what --dry-run prints
    tables = p.run()              # runs it on Ray; returns the tables as DataFrames
    tables = study.run_study(grid="smoke", seeds=1)          # plan and run in one call
    tables = study.run_study("my_study.toml")                # a study file
    tables = study.run_study(search="optuna", models=["RNN", "LSTM"], lengths=[20],
                             space={"lr": "loguniform:1e-4:3e-2", "hidden": "choice:32,64,128"})
    tables = study.run_study(frontier={"solve_rule": "4/5", "max_length": 60}, models=["RNN", "LSTM"],
                             axes={"init": ["default", "xavier"]}, fixed={"hidden": 64})
    tables["frontier"]            # a memory frontier's frontier.csv (docs/frontier.md)
    tables = study.load_study("results/lengths-20261128-170000")
    tables["trials"], tables["curves"], tables["summary"]
    c = study.compare("results/reference-lengths", "results/my-rerun")   # also python -m study.compare
    c = study.compare(tables["trials"], by="init", write=False)       # one study's inits against the first
    c.table, c.flagged            # compare.csv: per cell, each study, B - A with 95% intervals, verdict

``study.plan(study=None, **keywords)`` and ``study.run_study(study=None, *, echo=True,
report=True, **keywords)`` take the keys of a study file (``study.spec.studyfile``) and the options of
``python -m study.run``, by their Python names; each keyword stands for its option:

    study           a study file's path (or a study folder: its study.toml), or a file's contents as a dict
    grid            a shipped grid's name (--grid): lengths, init, hidden, lr, clip, optimizer, forget, smoke
    search          "optuna" (the shipped search, --search optuna), or a [search] table as a dict
    axes            {field: [values]}: swept fields (--sweep), model and length included
    fixed           {field: value}: the same in every trial (--set; ``set`` is the same keyword)
    seeds           a grid's seeds 0 .. N-1 (--seeds; default 3)
    models, lengths a grid's model and length axes, a search's cells (--models, --lengths)
    model, length   one model, one length (--model, --length)
    space           {field: "loguniform:1e-4:3e-2" | ("choice", [32, 64]) | ...}: what Optuna chooses (--space)
    metric, mode, num_samples, search_seed, sampler ("tpe", "random", "cmaes", "gp", "qmc", "nsga2"),
    scheduler ("asha", "hyperband", "median", "pbt", "none"): the search's (--metric, ...)
    perturbation_interval, perturb: Population Based Training's steps between rounds and fields
                    perturbed (["lr", "max_norm"]), with scheduler="pbt" (--perturbation-interval, --perturb)
    frontier        True (a memory frontier, --frontier), or a [frontier] table as a dict
    solve_rule, start_length, max_length, speculate: the frontier's ("4/5", 5, 100, 1; --solve-rule, ...)
    mlflow          True (a SQLite store in the study folder) or a tracking URI: every trial in MLflow (--mlflow)
    full, patience, smoke_test, description
    out             the study's folder (--out; or name and results_dir, its two parts), resume
    cpus_per_trial, gpus_per_trial, checkpoint_every, max_failures, max_concurrent
    address, num_cpus, dashboard_host, dashboard_port, object_store_mb: where and how Ray runs
    ignore_memory   run trials the estimate says cannot fit this machine's memory (--ignore-memory)
    storage         "s3://bucket/prefix", another pyarrow.fs URI or a path: where trials keep their
                    checkpoints and Ray its experiment, for nodes that share no disk (--storage, docs/storage.md)

Values are Python values (``None`` turns clipping off, as ``none`` does on the command line).
Names are taken in any case (models=["lstm"], grid="Lengths", fixed={"init": "Xavier"}) and kept
in their one spelling (LSTM, lengths, xavier).
Every bad input raises ``study.StudyError`` (a ValueError) before anything runs or is written;
its message is the one line ``python -m study.run`` prints for the same input (so it names the
option: ``--set: lr: must be a finite number > 0, got -1.0``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from study.basics.errors import StudyError

if TYPE_CHECKING:
    from study.run import Plan


def plan(study: Any = None, **keywords: Any) -> Plan:
    """Plan a study without running it: every trial's Config is checked; see the module's docstring.
    Its ``run()`` runs it."""
    from study.planning.build import plan as make
    from study.run import Plan

    return Plan.of(make(study, **keywords))


def run_study(study: Any = None, *, echo: bool = True, report: bool = True, **keywords: Any) -> dict[str, Any]:
    """Plan and run a study (as ``python -m study.run`` would) and return its tables as pandas
    DataFrames: trials, curves, summary (with the report), and unfinished, errors, status."""
    return plan(study, **keywords).run(echo=echo, report=report)


def compare(*paths: Any, out: str | Path | None = None, write: bool = True, figures: bool = True,
            margin: float | None = None, ignore: str | list[str] | None = None, by: str | None = None,
            labels: list[str] | None = None) -> Any:
    """Compare studies cell by cell, every later one against the first (``study/compare.py``): study
    folders, trials DataFrames (``load_study(...)["trials"]``) or ``load_study``'s tables, or one
    study split ``by`` a column it varies (``by="init"``); ``margin`` (default 0.02) the practical
    margin of the verdicts, ``ignore`` the fixed settings set aside, ``labels`` the studies' names
    (docs/compare.md, docs/analysis.md)."""
    from study.compare import compare as _compare

    return _compare(*paths, out=out, write=write, figures=figures, margin=margin, ignore=ignore, by=by,
                    labels=labels)


def load_study(path: str | Path) -> dict[str, Any]:
    """A finished study's tables: trials, curves, summary (computed if absent) and meta (study.json),
    best (a search's best.json, else None). The tables have the same columns and dtypes for every
    kind of study and for older folders (categories for model, init, status ...; nullable
    integers where a value can be missing): ``study/results/columns.py`` lists them (docs/data.md)."""
    from study.results.folder import read_study_folder
    from study.results.tidy import tidy_tables

    return tidy_tables(read_study_folder(path))


__all__ = ["StudyError", "compare", "load_study", "plan", "run_study"]
