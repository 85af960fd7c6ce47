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


def load_study(path: str | Path) -> dict[str, Any]:
    """A finished study's tables: trials, curves, summary (computed if absent) and meta (study.json),
    best (a search's best.json, else None). The tables have the same columns and dtypes for every
    kind of study and for older folders (categories for model, init, status ...; nullable
    integers where a value can be missing): ``study/results/columns.py`` lists them (docs/data.md)."""
    from study.results.folder import read_study_folder
    from study.results.tidy import tidy_tables

    return tidy_tables(read_study_folder(path))


def __getattr__(name: str) -> Any:
    """``study.compare``: the callable module study/compare.py (``study.compare(A, B, ...)``), imported when used."""
    if name == "compare":
        import importlib

        return importlib.import_module("study.compare")
    raise AttributeError(f"module 'study' has no attribute {name!r}")


__all__ = ["StudyError", "compare", "load_study", "plan", "run_study"]
