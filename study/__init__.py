"""study: Ray Tune studies of palrnn models, and their tables and figures. The Python API (plan,
run_study, load_study, compare, StudyError) and its keywords: docs/commands.md, "From Python"."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from study.basics.errors import StudyError

if TYPE_CHECKING:
    from study.run import Plan


def plan(study: Any = None, **keywords: Any) -> Plan:
    """Plan a study without running it: every trial's Config is checked (docs/commands.md); its
    ``run()`` runs it."""
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
