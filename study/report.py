"""python -m study.report results/<name>: a study's summary.csv and figures, and its main tables printed.

    python -m study.report results/lengths-20261128-170000
    python -m study.report results/lengths-20261128-170000 --no-figures

Also run at the end of every ``python -m study.run``. Prints the study's provenance line (commit,
versions, host; ``study.provenance``) and its tables. Writes into the study's folder, atomically:

    summary.csv                          one row per model x length x every other swept field (x config
                                         of a search): finished trials only (tables.summary_table)
    figures/curves_<model>.png           held-out accuracy against steps, one line per T (or, with one
                                         T, per combination of the other axes)
    figures/curves_both.png              every model in one figure, RNN dashed (needs two models)
    figures/accuracy_vs_length.png       final held-out accuracy against T, 95% logit-t intervals, one
                                         line per combination of the other swept axes ("hidden=64,
                                         lr=0.003"), a panel per model when there are several; the
                                         exercise's numbers beside, where they apply
    figures/mean_accuracy_vs_length.png  the exercise's metric (mean training accuracy) against T
    figures/steps_to_target.png          median steps to the target against T (when any seed got there)
    figures/accuracy_vs_length_by_<axis>.png   coloured by one swept axis, panels by the others
    figures/accuracy_vs_<axis>.png, mean_accuracy_vs_<axis>.png, steps_to_target_vs_<axis>.png
                                         instead of the three "vs length" figures, for a study with a
                                         single T: against its first swept axis (plots.figure_x)
    figures/optuna_history.png, optuna_importances.png, best_curve.png   (Optuna searches)
    frontier.csv, figures/frontier.png   (memory frontiers: study.frontier.write_frontier, from the
                                         study's frontier/state.json; the frontier table is printed first)
    report.html                          the study on one page to share: its command, provenance,
                                         status, tables and every figure, self-contained (study.html)

A figure whose data are absent is skipped. summary.csv is deterministic: a re-report of the same
folder writes the same bytes (rows sorted by the group columns, statistics rounded to 6 decimals;
the group columns, a search's learning rates among them, are written as they are).

Intervals (``study.stats``): mean accuracy across seeds, 95% logit-t (Student t on the logit scale,
inside [0, 1]); solve rate, 95% Wilson; odd-vs-even contrast, 95% MOVER from the logit-t intervals.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from palrnn.cli import RaisingParser, UsageError
from study import tables as tb
from study.html import write_html
from study.io import write_bytes_atomic, write_csv_atomic
from study.provenance import provenance_line

PROG = "study.report"
DIGITS = 6  # summary.csv rounding: stable bytes across re-reports, far below any seed-to-seed spread


def write_report(path: str | os.PathLike[str], echo: bool = True, figures: bool = True) -> dict[str, Any]:
    """Write summary.csv and figures/*.png into a study folder; print the main tables when ``echo``.

    Also writes report.html, the study on one self-contained page (``study.html``), with every
    figure under figures/ embedded. Returns ``summary``, ``accuracy_vs_length`` (the printed table),
    ``curves_summary`` (held-out accuracy bands per step, from ``tables.curves_table``),
    ``figures`` (the paths written) and, for a memory frontier, ``frontier`` (frontier.csv's table).
    Raises ``tables.NotAStudy`` when the path is not a study folder (before writing anything).
    """
    folder = Path(path)
    data = tb.read_study_folder(folder)
    meta, trials, curves = data["meta"], data["trials"], data["curves"]
    axes = tb.summary_axes(meta, trials.columns)
    summary = tb.summary_table(trials, axes)
    bands = tb.curves_table(curves, axes)
    table = tb.accuracy_vs_length(summary, settings=tb.study_settings(meta, trials))
    rounded = summary.round({c: DIGITS for c in tb.SUMMARY_STATS})
    write_csv_atomic(folder / "summary.csv", rounded)
    frontier = _frontier(folder, meta, figures)
    written = _figures(folder, meta, data, summary, bands, axes) if figures else []
    if frontier is not None and figures:
        from study.frontier import FIGURE

        written.insert(0, folder / "figures" / FIGURE)
    write_html(folder, data, rounded)
    if echo:
        print(_text(folder, meta, summary, table, data, written, frontier))
    out = {"summary": summary, "accuracy_vs_length": table, "curves_summary": bands, "figures": written}
    if frontier is not None:
        out["frontier"] = frontier
    return out


def _frontier(folder: Path, meta: dict[str, Any], figure: bool) -> pd.DataFrame | None:
    """A memory frontier's frontier.csv (and figures/frontier.png), from its frontier/state.json;
    None for other studies, or when the frontier has no state (a note says why)."""
    if meta.get("kind") != "frontier":
        return None
    from study import frontier as fr

    try:
        state = fr.load_frontier(folder)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"{PROG}: {fr.FILE} cannot be read ({tb.one_line(exc)}); no frontier.csv written", file=sys.stderr)
        return None
    if state is None:
        print(f"{PROG}: no {fr.FILE} in {folder}: the frontier's search never started", file=sys.stderr)
        return None
    return fr.write_frontier(folder, state, echo=False, figure=figure)


def _figures(folder: Path, meta: dict[str, Any], data: dict[str, Any], summary: pd.DataFrame,
             bands: pd.DataFrame, axes: list[str]) -> list[Path]:
    from study import plots

    target = tb.study_target(meta)
    out = folder / "figures"
    jobs: list[tuple[str, Callable[[], Any]]] = []
    if meta.get("kind") != "optuna" and not summary.empty:
        models = tb.model_order(bands["model"]) if "model" in bands else []
        for m in models:
            jobs.append((f"curves_{_safe(m)}.png", lambda m=m: plots.plot_curves(bands, m, target=target)))
        if len(models) >= 2:
            jobs.append(("curves_both.png", lambda: plots.plot_curves_both(bands, target=target)))
        x = plots.figure_x(summary)
        vs = "length" if x == "length" else _safe(x)
        points = tb.exercise_points(summary, tb.study_settings(meta, data["trials"]))
        jobs.append((f"accuracy_vs_{vs}.png", lambda: plots.plot_accuracy(summary, x=x, exercise=points)))
        jobs.append((f"mean_accuracy_vs_{vs}.png", lambda: plots.plot_mean_accuracy(summary, x=x)))
        if summary["solved"].sum() > 0:
            jobs.append(("steps_to_target.png" if x == "length" else f"steps_to_target_vs_{vs}.png",
                         lambda: plots.plot_steps_to_target(summary, x=x, target=target)))
        if x == "length":
            for a in plots.varying_axes(summary):
                jobs.append((f"accuracy_vs_length_by_{_safe(a)}.png",
                             lambda a=a: plots.plot_accuracy_vs_length_by(summary, a)))
    if meta.get("kind") == "optuna":
        jobs += _optuna_jobs(folder, meta, data, target)
    if not jobs:
        return []
    out.mkdir(exist_ok=True)
    written = []
    for name, draw in jobs:
        if name.startswith("optuna_"):
            # Optuna's own plots can refuse a study (too few distinct trials for fANOVA): skip, say so.
            import matplotlib.pyplot as plt

            before = set(plt.get_fignums())
            try:
                drawn = draw()
            except (ValueError, RuntimeError) as exc:
                print(f"{PROG}: skipped figures/{name}: {tb.one_line(exc)}", file=sys.stderr)
                for n in set(plt.get_fignums()) - before:
                    plt.close(n)
                continue
        else:
            drawn = draw()
        _save(drawn, out / name)
        written.append(out / name)
    return written


def _optuna_jobs(folder: Path, meta: dict[str, Any], data: dict[str, Any],
                 target: float | None) -> list[tuple[str, Callable[[], Any]]]:
    import optuna

    from study import plots

    jobs: list[tuple[str, Callable[[], Any]]] = []
    study = tb.read_optuna_study(folder, meta)
    if study is not None:
        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if complete:
            jobs.append(("optuna_history.png", lambda: plots.plot_optuna_history(study)))
        if len(complete) >= 2 and any(len({repr(t.params.get(p)) for t in complete}) > 1
                                      for p in complete[0].params):
            jobs.append(("optuna_importances.png", lambda: plots.plot_optuna_importances(study)))
    trials, curves, best = data["trials"], data["curves"], data["best"]
    trial_id = tb.best_trial_id(trials, best)
    if trial_id is not None and not curves.empty and (curves["trial_id"].astype(str) == trial_id).any():
        searched = [a for a in meta.get("axes") or [] if a in trials.columns]
        row = trials[trials["trial_id"].astype(str) == trial_id]
        params = {a: row.iloc[0][a] for a in searched} if len(row) else None
        jobs.append(("best_curve.png",
                     lambda: plots.plot_best_curve(curves, trial_id, target=target, params=params)))
    return jobs


def _save(drawn: Any, path: Path) -> None:
    """Render to PNG bytes, write them atomically, and release the figure (pyplot's too)."""
    from matplotlib.figure import Figure

    fig = drawn if isinstance(drawn, Figure) else drawn.get_figure(root=True)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")  # no label cut off
    finally:
        _close(fig)
    write_bytes_atomic(path, buf.getvalue())


def _close(fig: Any) -> None:
    # Figures made with matplotlib.figure.Figure are not in pyplot; Optuna's are and must be closed.
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        if plt.fignum_exists(getattr(fig, "number", -1)):
            plt.close(fig)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name))


def _text(folder: Path, meta: dict[str, Any], summary: pd.DataFrame, table: pd.DataFrame, data: dict[str, Any],
          written: list[Path], frontier: pd.DataFrame | None = None) -> str:
    kind = meta.get("kind") or "?"
    what = (f"grid {meta['grid']}" if meta.get("grid") else "grid") if kind == "grid" else \
        "memory frontier" if kind == "frontier" else kind
    lines = [f"study {meta.get('name') or folder.name} ({what}): {len(data['trials'])} trials",
             f"provenance: {provenance_line(meta)}", *_missing_note(meta, data["trials"])]
    if frontier is not None:
        from study.frontier import format_frontier

        lines += ["", format_frontier(frontier)]
    if summary.empty or not (pd.to_numeric(summary["seeds"], errors="coerce") > 0).any():
        lines += ["no finished trials to summarise", *_left_out(summary)]
    elif kind == "optuna":
        lines += _search_text(meta, data["trials"], summary)
    else:
        target = tb.study_target(meta)
        goal = f"{target:g}" if target is not None else "the target"
        lines += ["", *_legend_lines(summary, table, goal), *_left_out(summary), "", tb.format_accuracy_table(table)]
        parity = tb.parity_table(data["trials"], tb.summary_axes(meta, data["trials"].columns))
        if len(parity) and kind == "grid":
            shown = parity.assign(**{"c [95% CI]": [f"{r.contrast:+.3f} [{r.low:+.3f}, {r.high:+.3f}]"
                                                    for r in parity.itertuples()]})
            shown = shown.drop(columns=["contrast", "low", "high"]).rename(columns={"length": "T"})
            lines += ["", "Odd vs even T: c(T) = acc(T) - mean(acc(T-1), acc(T+1)); odd lengths easier would",
                      "show c > 0 at odd T and c < 0 at even T, beyond the intervals (95%, MOVER from the",
                      "three lengths' logit-t intervals):",
                      shown.to_string(index=False)]
        if summary["solved"].sum() > 0:
            steps = tb.steps_to_target_table(summary)
            lines += ["", f"Median steps to {goal} held-out accuracy, over the seeds that got there (- none):",
                      steps.to_string(float_format=lambda v: f"{v:.0f}", na_rep="-")]
    best = data.get("best")
    if kind == "optuna" and best:
        shown = ["eval_accuracy", *[a for a in meta.get("axes") or [] if a in best], "steps_to_target"]
        lines += ["", "best trial: " + ", ".join(f"{k}={tb.axis_value_text(best.get(k))}" for k in shown)]
        if best.get("confirm"):
            lines += [f"it is one seed's result; confirm it over 5 seeds with:\n  {best['confirm']}"]
    where = (f"{folder / 'summary.csv'}, {folder / 'report.html'}"
             + (f", {folder / 'frontier.csv'}" if frontier is not None else "")
             + (f" and {len(written)} figures in {folder / 'figures'}" if written else ""))
    lines += ["", f"wrote {where}"]
    return "\n".join(lines)


def _legend_lines(summary: pd.DataFrame, table: pd.DataFrame, goal: str) -> list[str]:
    """What the printed table's columns are; the exercise's only when its column is there (its
    models, T and settings: ``tables.exercise_applies``), the one T of a study that swept none."""
    t = tb.single_length(summary)
    lines = [f"every trial at T = {t} (the study swept no length)"] if t is not None else []
    lines += ["this study: final held-out accuracy, mean over seeds [95% interval, Student t on the logit",
              f"scale, inside [0, 1]]; solved: seeds that reached {goal}; final train: last training-batch",
              "accuracy"]
    if "exercise" in table.columns:
        lines[-1] += "; exercise: the exercise's training-batch accuracy at step 10,000, one run"
        lines.append("(docs/exercise.md), where its models, T and settings match")
    return lines


def _wrap(text: str, width: int = 96) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False)


def _missing_note(meta: dict[str, Any], trials: pd.DataFrame) -> list[str]:
    """A swept field trials.csv has no column for: its values cannot be told apart, so say so."""
    missing = tb.missing_axes(meta, trials.columns) if len(trials.columns) else []
    if not missing:
        return []
    return _wrap(f"swept but not in trials.csv (nor curves.csv): {', '.join(missing)}; trials that differ only in "
                 f"{'it' if len(missing) == 1 else 'them'} are grouped together")


def _left_out(summary: pd.DataFrame) -> list[str]:
    """One line naming the trials left out of the means (errored, unfinished, cut), if any."""
    words = {"errored": "errored", "unfinished": "unfinished", "cut": "cut by the scheduler"}
    counts = {c: int(pd.to_numeric(summary[c], errors="coerce").fillna(0).sum()) for c in words if c in summary}
    shown = [f"{n} {words[c]} trials" for c, n in counts.items() if n]
    return [f"not in the means (summary.csv counts them): {', '.join(shown)}"] if shown else []


def _search_text(meta: dict[str, Any], trials: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """A search's trials differ in their configs, not their seeds: show the best ones, not a mean."""
    o = tb.search_overview(meta, trials)
    top, cut, others, reached, goal = o["top"], o["cut"], o["others"], o["reached"], o["goal"]
    configs = int((pd.to_numeric(summary["seeds"], errors="coerce") > 0).sum()) if "seeds" in summary else 0
    return ["", f"{len(top)} best of {len(trials)} trials (one seed each; ASHA cut {cut} early; "
                f"{reached} reached {goal}{''.join('; ' + o for o in others)}):",
            top.to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="-"),
            "", f"summary.csv: one row per config ({len(summary)} rows, {configs} with a finished trial); "
                "no mean is taken across configs"]


def build_parser() -> argparse.ArgumentParser:
    p = RaisingParser(prog=PROG, description="Write a study's summary.csv, figures/*.png and report.html and "
                                             "print its main tables (a memory frontier's frontier.csv and table too).")
    p.add_argument("path", help="the study's folder, results/<name> (holds study.json and trials.csv)")
    p.add_argument("--no-figures", action="store_true", help="write summary.csv only (default: figures too)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors (default: print the tables)")
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m study.report PATH [--no-figures]``: 0 on success, 2 on bad input (one line on stderr)."""
    try:
        args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
        write_report(args.path, echo=not args.quiet, figures=not args.no_figures)
    except (UsageError, tb.NotAStudy) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
