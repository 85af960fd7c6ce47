"""study: Ray Tune studies of palrnn models, and their tables and figures.

Notebook API::

    import study
    tables = study.run_study(grid="smoke", seeds=1)          # runs the study, returns DataFrames
    tables = study.load_study("results/lengths-20261128-170000")
    tables["trials"], tables["curves"], tables["summary"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def run_study(grid: str = "lengths", *, search: str | None = None, name: str | None = None,
              results_dir: str = "results", seeds: int = 3, lengths: list[int] | None = None,
              models: list[str] | None = None, set: dict[str, Any] | None = None, full: bool = False,
              resume: bool = False, address: str | None = None, num_cpus: int | None = None,
              cpus_per_trial: float = 1, gpus_per_trial: float = 0, echo: bool = True, report: bool = True,
              **options: Any) -> dict[str, Any]:
    """Run a study as ``python -m study.run`` would and return its tables as pandas DataFrames.

    ``options`` takes any other option of the command by its Python name (``num_samples=8``,
    ``checkpoint_every=500``). A bad value raises ValueError with the command's message.
    """
    from palrnn.cli import UsageError
    from study import run

    argv = ["--grid", grid, "--seeds", str(seeds), "--results-dir", results_dir,
            "--cpus-per-trial", str(cpus_per_trial), "--gpus-per-trial", str(gpus_per_trial)]
    if search:
        argv += ["--search", search]
    if name:
        argv += ["--name", name]
    if lengths:
        argv += ["--lengths", *map(str, lengths)]
    if models:
        argv += ["--models", *models]
    for k, v in (set or {}).items():
        argv += ["--set", f"{k}={'none' if v is None else v}"]
    if full:
        argv.append("--full")
    if resume:
        argv.append("--resume")
    if address:
        argv += ["--address", address]
    if num_cpus:
        argv += ["--num-cpus", str(num_cpus)]
    for k, v in options.items():
        argv += [f"--{k.replace('_', '-')}", str(v)]
    args = run.build_parser().parse_args(argv)
    try:
        plan = run._resumed_plan(args) if resume else run.plan_from_args(args, argv)
        port = None if args.dashboard_port is None else run._int("--dashboard-port", str(args.dashboard_port), 1)
        return run.execute(plan, resume=resume, address=address, num_cpus=args.num_cpus if not resume else None,
                           dashboard_host=args.dashboard_host, dashboard_port=port,
                           object_store_mb=int(args.object_store_mb), echo=echo, report=report)
    except UsageError as exc:
        raise ValueError(str(exc)) from None


def load_study(path: str | Path) -> dict[str, Any]:
    """A finished study's tables: trials, curves, summary (computed if absent) and meta."""
    from study.tables import read_study_folder

    return read_study_folder(path)


__all__ = ["load_study", "run_study"]
