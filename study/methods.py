"""Which search method finds a solving config soonest: the same search run by several methods, each
repeated over search seeds, at one budget (``python -m study.methods``).

docs/findings.md, "Which search method finds a solving config soonest", says what it runs and writes."""

from __future__ import annotations

import argparse
import functools
import json
import sys
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from palrnn.cli import Parser, any_case
from palrnn.config import MODELS
from study.basics.io import write_bytes_atomic, write_text_atomic

METHODS = {"random": {"sampler": "random", "scheduler": "none"}, "tpe": {"sampler": "tpe", "scheduler": "none"},
           "gp": {"sampler": "gp", "scheduler": "none"}, "cmaes": {"sampler": "cmaes", "scheduler": "none"},
           "pbt": {"scheduler": "pbt"}}
# The space: numbers where CMA-ES and GP can use them (hidden as an integer, clipping as a number),
# the init a choice (sampled at random by CMA-ES, as Optuna documents); RMSprop as in the exercise.
SPACE = {"hidden": "int:32:128", "lr": "loguniform:1e-4:3e-2", "max_norm": "loguniform:0.3:30",
         "init": "choice:seed,default,xavier,orthogonal"}
PROG = "python -m study.methods"


def _parser() -> argparse.ArgumentParser:
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0])  # one line, exit 2; no abbreviations
    p.add_argument("--out", required=True, help="the folder of the searches and the tables")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS), type=any_case(METHODS),
                   help="(default: all)")
    p.add_argument("--model", default="RNN", choices=list(MODELS), type=any_case(MODELS), help="(default: RNN)")
    p.add_argument("--length", type=int, default=20, help="T (default: 20)")
    p.add_argument("--num-samples", type=int, default=16, help="trials per search, PBT's population (default: 16)")
    p.add_argument("--steps", type=int, default=3000, help="each trial's step budget (default: 3000)")
    p.add_argument("--eval-every", type=int, default=250, help="(default: 250)")
    p.add_argument("--perturbation-interval", type=int, default=500, help="PBT's (default: 500)")
    p.add_argument("--search-seeds", type=int, nargs="+", default=[0, 1, 2], help="(default: 0 1 2)")
    p.add_argument("--confirm-seeds", type=int, default=5, help="the best config's reruns (default: 5; 0: none)")
    p.add_argument("--num-cpus", type=int, default=None, help="Ray's CPUs (default: the machine's)")
    p.add_argument("--analyse-only", action="store_true", help="run nothing; tables and figure from what is there")
    return p


def _done(folder: Path) -> bool:
    try:
        return json.loads((folder / "study.json").read_text()).get("status") == "complete"
    except (FileNotFoundError, json.JSONDecodeError):
        return False


def _fixed(args: argparse.Namespace) -> dict[str, Any]:
    return {"steps": args.steps, "eval_every": args.eval_every, "optimizer": "rmsprop"}


def one_ray(stack: ExitStack, args: argparse.Namespace) -> Callable[[], None]:
    """A call that starts Ray the first time a study trains, for every study after it (each would otherwise start
    and stop its own: seconds each); ``stack`` stops it."""
    @functools.cache  # once
    def start() -> None:
        from study.driver.execute import cluster_address, ray_session
        from study.planning.plan import RunOptions

        o = RunOptions(address=cluster_address(None), num_cpus=args.num_cpus)  # a study's defaults
        stack.enter_context(ray_session(o.address, o.num_cpus, o.dashboard_host, o.dashboard_port, o.object_store_mb))

    return start


def run_searches(args: argparse.Namespace, ray: Callable[[], None] = lambda: None) -> None:
    import study

    out = Path(args.out)
    for seed in args.search_seeds:
        for method in args.methods:
            name = f"{method}-s{seed}"
            if _done(out / name):
                continue
            extra = ({"perturbation_interval": args.perturbation_interval} if method == "pbt" else {})
            ray()
            study.run_study(search="optuna", model=args.model, length=args.length, num_samples=args.num_samples,
                            search_seed=seed, **METHODS[method], space=SPACE, set=_fixed(args), name=name,
                            results_dir=str(out), echo=False, report=True, num_cpus=args.num_cpus,
                            resume=(out / name).exists(), **extra)
            print(f"{PROG}: {name} done", flush=True)


def numbered(curves: pd.DataFrame, folder: Path | None = None) -> pd.DataFrame:
    """curves with ``_n``, each trial's place in the order it was asked for: Ray's trial number
    (``..._00003``), or for a trial Optuna's searcher named, its Optuna trial number (the journal).
    Curves already numbered are returned as they are."""
    if "_n" in curves:
        return curves
    ids = curves["trial_id"].astype(str)
    suffix = ids.str.rsplit("_", n=1).str[-1]
    if suffix.str.isdigit().all():
        return curves.assign(_n=suffix.astype(int))
    from study.results.search import read_optuna_study

    found = read_optuna_study(folder) if folder is not None else None
    number = {t.user_attrs.get("ray_trial_id"): t.number for t in (found.trials if found is not None else [])}
    first_seen = {t: i for i, t in enumerate(dict.fromkeys(ids))}
    return curves.assign(_n=[number.get(t, 10**6 + first_seen[t]) for t in ids])


def spent_curve(curves: pd.DataFrame, pbt: bool) -> pd.DataFrame:
    """(spent, best, trials): the best held-out accuracy so far against the training steps spent, and the trials
    asked for by then (docs/findings.md): a sampler's trials one after another in the order they were asked for,
    PBT's population, which trains in step, at step s as members x s. Curves of trials Optuna named are
    ``numbered`` with their study's folder first."""
    curves = numbered(curves)
    if pbt:
        members = curves["_n"].nunique()
        by_step = curves.groupby("step")["eval_accuracy"].max().sort_index()
        return pd.DataFrame({"spent": by_step.index * members, "best": by_step.cummax().values, "trials": members})
    rows, spent, best = [], 0, 0.0
    for i, (_, df) in enumerate(curves.groupby("_n"), start=1):
        df = df.sort_values("step")
        for step, acc in zip(df["step"], df["eval_accuracy"], strict=True):
            best = max(best, float(acc))
            rows.append((spent + int(step), best, i))
        spent += int(df["step"].max())
    return pd.DataFrame(rows, columns=["spent", "best", "trials"])


def first_solve(curves: pd.DataFrame, pbt: bool, target: float) -> tuple[Any, Any]:
    """(trials, training steps) spent until the first config that reached ``target`` held out; (None,
    None) when none did."""
    curve = spent_curve(curves, pbt)
    hit = curve[curve["best"] >= target]
    return (None, None) if hit.empty else (int(hit["trials"].iloc[0]), int(hit["spent"].iloc[0]))


def analyse(out: Path, methods: list[str], seeds: list[int], target: float = 0.99,
            spent: dict[tuple[str, int], pd.DataFrame] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(repeats, methods): one row per search, and per method its summary (docs/findings.md).
    ``spent``: filled with each search's ``spent_curve``, by (method, seed), for ``plot_methods``."""
    import study

    rows = []
    for method in methods:
        for seed in seeds:
            folder = out / f"{method}-s{seed}"
            if not _done(folder):
                continue
            t = study.load_study(folder)
            trials, curves = t["trials"], numbered(t["curves"], folder)
            n_trials, n_steps = first_solve(curves, method == "pbt", target)
            curve = spent_curve(curves, method == "pbt")
            if spent is not None:
                spent[(method, seed)] = curve
            best = _best_row(trials, t["best"])
            rows.append({"method": method, "search_seed": seed, "trials": len(trials),
                         "steps_spent": int(curve["spent"].max()),
                         "solved": n_trials is not None, "trials_to_solve": n_trials, "steps_to_solve": n_steps,
                         "best_eval_accuracy": float(best["eval_accuracy"]), "best_trial": str(best["trial_id"]),
                         "wall_seconds": float(t["meta"].get("wall_seconds") or np.nan)})
    repeats = pd.DataFrame(rows)
    summary = []
    for method, df in repeats.groupby("method", sort=False) if len(repeats) else []:
        solved = df[df["solved"]]
        summary.append({"method": method, "repeats": len(df), "solved": f"{len(solved)}/{len(df)}",
                        "trials_to_solve": _median_range(solved["trials_to_solve"]),
                        "steps_to_solve": _median_range(solved["steps_to_solve"]),
                        "best_eval_accuracy": _median_range(df["best_eval_accuracy"], "{:.3f}"),
                        "wall_minutes": round(float(df["wall_seconds"].sum()) / 60, 1)})
    return repeats, pd.DataFrame(summary)


def _best_row(trials: pd.DataFrame, best: dict[str, Any] | None) -> pd.Series:
    """A search's best trial, the one its best.json names and ``confirm`` reruns
    (``study.results.search.best_trial_id``: its ties and their rule are in best.json)."""
    from study.results.search import best_trial_id

    chosen = trials[trials["trial_id"].astype(str) == best_trial_id(trials, best)]
    return (chosen if len(chosen) else trials.sort_values("eval_accuracy", ascending=False, kind="stable")).iloc[0]


def _median_range(values: pd.Series, fmt: str = "{:,.0f}") -> str:
    v = pd.to_numeric(values, errors="coerce").dropna()
    return "-" if v.empty else f"{fmt.format(v.median())} [{fmt.format(v.min())}, {fmt.format(v.max())}]"


METHOD_MARKERS = {"random": "o", "tpe": "s", "gp": "^", "cmaes": "D", "pbt": "v"}
DODGE_POINTS = 3.0  # each method's line shifted right by this many points from the last, so none hides another


def plot_methods(spent: dict[tuple[str, int], pd.DataFrame], methods: list[str]) -> Any:
    """Best held-out accuracy so far against training steps spent (``analyse``'s ``spent``): per method the median
    over its repeats, their range as a band. Medians that coincide stay visible: each line shifted a few points
    sideways, its own marker (hollow every other method), "= random" in the legend for one equal to an earlier."""
    from matplotlib.figure import Figure
    from matplotlib.transforms import offset_copy

    fig = Figure(figsize=(8.5, 4.8), layout="constrained")
    ax = fig.subplots()
    drawn: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    shown = [m for m in methods if any(k == m for k, _ in spent)]
    for i, method in enumerate(shown):
        runs = [curve for (m, _), curve in spent.items() if m == method]
        grid = np.linspace(0, max(r["spent"].max() for r in runs), 200)
        values = np.array([np.interp(grid, r["spent"], r["best"], left=np.nan) for r in runs])
        with np.errstate(all="ignore"), warnings.catch_warnings():  # before a repeat's first evaluation: NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            median, low, high = (np.nanmedian(values, axis=0), np.nanmin(values, axis=0),
                                 np.nanmax(values, axis=0))
        same = [m for m, (g, y) in drawn.items() if len(g) == len(grid) and np.allclose(g, grid)
                and np.allclose(y, median, equal_nan=True)]
        drawn[method] = (grid, median)
        shift = (i - (len(shown) - 1) / 2) * DODGE_POINTS
        moved = offset_copy(ax.transData, fig=fig, x=shift, y=0, units="points")
        label = f"{method} ({len(runs)} repeats)" + (f" = {same[0]}, drawn beside it" if same else "")
        color = f"C{methods.index(method)}"
        ax.plot(grid, median, color=color, transform=moved, marker=METHOD_MARKERS.get(method, "o"), markevery=(i, 20),
                mfc="white" if i % 2 else color, markersize=5, lw=1.6, label=label, gid=f"median {method}")
        ax.fill_between(grid, low, high, color=color, alpha=0.1, linewidth=0)
    ax.axhline(0.99, color="0.5", linestyle="--", linewidth=1, label="target 0.99")
    ax.set_xlabel("training steps spent by the search")
    ax.set_ylabel("best held-out accuracy so far")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title("Which method finds a solving config soonest (median over repeats; band: their range;\n"
                 f"lines shifted {DODGE_POINTS:g} points sideways from each other so that equal ones show)",
                 fontsize=10)
    return fig


def confirm(args: argparse.Namespace, repeats: pd.DataFrame, ray: Callable[[], None] = lambda: None) -> pd.DataFrame:
    """Each method's best config (over its repeats) rerun over ``--confirm-seeds`` seeds."""
    import study

    out, rows = Path(args.out), []
    for method, df in repeats.groupby("method", sort=False):
        top = df.sort_values("best_eval_accuracy", ascending=False, kind="stable").iloc[0]
        best = json.loads((out / f"{method}-s{int(top['search_seed'])}" / "best.json").read_text())
        config = {k: best[k] for k in SPACE if k in best}
        name = f"confirm-{method}"
        if not _done(out / name) and not args.analyse_only:
            ray()
            study.run_study(grid="lengths", models=[args.model], lengths=[args.length], seeds=args.confirm_seeds,
                            set={**_fixed(args), **config}, name=name, results_dir=str(out), echo=False,
                            report=True, num_cpus=args.num_cpus, resume=(out / name).exists())
        if _done(out / name) and not _confirms(out / name, config):
            print(f"study.methods: {out / name} reran another config than {method}'s best.json names "
                  f"({', '.join(f'{k}={v}' for k, v in config.items())}): not reported; remove it and run again",
                  file=sys.stderr)
        elif _done(out / name):
            s = study.load_study(out / name)["summary"].iloc[0]
            rows.append({"method": method, **config, "confirm_mean": s.get("eval_accuracy_mean"),
                         "confirm_low": s.get("eval_accuracy_low"), "confirm_high": s.get("eval_accuracy_high"),
                         "confirm_solved": f"{int(s.get('solved', 0))}/{int(s.get('seeds', 0))}"})
    return pd.DataFrame(rows)


def _confirms(folder: Path, config: dict[str, Any]) -> bool:
    """Whether the confirming study in ``folder`` ran ``config`` (its study.json's settings)."""
    space = json.loads((folder / "study.json").read_text()).get("param_space") or {}
    return all(space.get(k) == v for k, v in config.items())


def markdown(summary: pd.DataFrame) -> str:
    """methods.csv as the README's table (tests/study/test_reference.py checks the README has it)."""
    lines = ["| method | repeats that found a config reaching 0.99 | trials until the first, median (range) | "
             "training steps until the first | best final held-out accuracy | its best config | "
             "that config over 5 seeds: mean [95% interval], solved | wall time |", "|---|---|---|---|---|---|---|---|"]
    for r in summary.to_dict("records"):
        config = ", ".join(f"{k} {_short(r.get(k))}" for k in SPACE if k in r and not pd.isna(r.get(k)))
        confirmed = (f"{r['confirm_mean']:.3f} [{r['confirm_low']:.3f}, {r['confirm_high']:.3f}], {r['confirm_solved']}"
                     if not pd.isna(r.get("confirm_mean")) else "-")
        lines.append(f"| {r['method']} | {r['solved']} | {_range(r['trials_to_solve'])} | "
                     f"{_range(r['steps_to_solve'])} | {_range(r['best_eval_accuracy'])} | {config} | {confirmed} | "
                     f"{r['wall_minutes']:g} min |")
    return "\n".join(lines)


def _range(text: Any) -> str:
    """methods.csv's "median [low, high]" as "median (low-high)": a range over repeats, not an interval."""
    return str(text).replace(" [", " (").replace(", ", "–").replace("]", ")")


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _check(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Bad values end in one line naming the option, exit 2, before anything runs, by the rules study.run applies
    to the same options."""
    from types import SimpleNamespace

    from study.basics.errors import StudyError
    from study.planning.overlay import int_option
    from study.spec.search import pbt_problem

    try:
        for option, value, low in (("--length", args.length, 1), ("--num-samples", args.num_samples, 1),
                                   ("--steps", args.steps, 1), ("--eval-every", args.eval_every, 1),
                                   ("--confirm-seeds", args.confirm_seeds, 0),
                                   ("--perturbation-interval", args.perturbation_interval, 1)):
            int_option(option, value, low)
    except StudyError as exc:
        p.error(str(exc))
    if any(seed < 0 for seed in args.search_seeds):
        p.error(f"--search-seeds: must be integers >= 0, got {args.search_seeds}")
    pbt = SimpleNamespace(scheduler="pbt", perturbation_interval=args.perturbation_interval,
                          perturb=(), space=SPACE, objectives=[("eval_accuracy", "max")])
    problem = pbt_problem(pbt, args.steps, args.eval_every) if "pbt" in args.methods else None
    if problem is not None:
        p.error(f"{problem[0]}: {problem[1]}")


def main(argv: list[str] | None = None) -> int:
    p = _parser()
    args = p.parse_args(argv)
    _check(p, args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        ray = one_ray(stack, args)
        if not args.analyse_only:
            run_searches(args, ray)
        spent: dict[tuple[str, int], pd.DataFrame] = {}
        repeats, summary = analyse(out, args.methods, args.search_seeds, spent=spent)
        if summary.empty:
            print(f"{PROG}: error: no finished search in {out}", file=sys.stderr)
            return 2
        if args.confirm_seeds:
            confirmed = confirm(args, repeats, ray)
            if len(confirmed):
                summary = summary.merge(confirmed, on="method", how="left")
    write_text_atomic(out / "repeats.csv", repeats.to_csv(index=False))
    write_text_atomic(out / "methods.csv", summary.to_csv(index=False))
    from study.report.write import png_bytes

    (out / "figures").mkdir(exist_ok=True)
    write_bytes_atomic(out / "figures" / "methods.png", png_bytes(plot_methods(spent, args.methods)))
    print(markdown(pd.read_csv(out / "methods.csv")))
    print(f"wrote {out / 'methods.csv'}, {out / 'repeats.csv'}, {out / 'figures' / 'methods.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
