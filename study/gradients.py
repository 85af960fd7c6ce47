"""Gradient flow, drawn: ||dL/dh_t|| / ||dL/dh_T|| over t for every model x init, untrained and trained.

    python -m study.gradients --study results/<name>     trained curves from the study's checkpoints
    python -m study.gradients --train-steps 1000         trained curves from short runs made here
    python -m study.gradients --train-steps 0            untrained curves only

The numbers come from palrnn.analysis (docs/gradients.md says what they are). With ``--study``,
one trained curve per model x init found in ``<study>/checkpoints``: its lowest seed, at the
longest length that seed solved (reached the target; the longest trained when it solved none),
the best held-out accuracy (then the file name) deciding between trials that differ in other
settings. Every curve is measured at ``--length`` (default 100), whatever
length it was trained at. One figure: a panel per model, x = t, y on a log scale, one colour per
init, solid untrained, dashed trained, written to ``<study>/figures/gradient_flow.png`` (or
``--out FOLDER``'s gradient_flow.png); a one-line-per-curve table of the t = 1 ratio is printed.

Compute first (``study_curves``, ``short_run_curves``: palrnn.analysis), then draw
(``plot_gradient_flow``: returns the Figure, writes nothing).
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from palrnn import analysis
from palrnn.cli import RaisingParser, UsageError
from palrnn.config import INITS, MODELS
from palrnn.io import write_bytes_atomic
from study.basics.layout import CHECKPOINTS, FIGURES

PROG = "python -m study.gradients"
FIGURE = "gradient_flow.png"
XLABEL = "step t"
YLABEL = r"$\Vert\partial L/\partial h_t\Vert \;/\; \Vert\partial L/\partial h_T\Vert$"
INIT_COLORS = {init: f"C{i}" for i, init in enumerate(INITS)}  # one colour per init, the same in every panel
STATE_STYLES = {analysis.UNTRAINED: "-", analysis.TRAINED: "--"}
EDGE = 1e3  # inf and 0 are drawn this factor beyond the figure's finite values


def pick_checkpoints(study: str | Path, echo: Callable[[str], None] | None = None) -> list[tuple[Any, str]]:
    """(TrainState, path) per (model, init) among the study's checkpoints: the lowest seed, then one that reached
    its target (the model that learned, not a failed attempt at a longer T), the longest length, the best held-out
    accuracy, the file name. Unreadable files are skipped (said through ``echo``)."""
    from palrnn.train import CheckpointError, load_checkpoint

    best: dict[tuple[str, str], tuple[tuple[Any, ...], Any, str]] = {}
    for path in sorted((Path(study) / CHECKPOINTS).glob("*.pt")):
        try:
            state = load_checkpoint(path, device="cpu")
        except CheckpointError as exc:
            if echo:
                echo(f"skipped {exc}")
            continue
        cfg = state.config
        accuracy = state.last.get("eval_accuracy") if state.last else None
        rank = (cfg.seed, state.steps_to_target is None, -cfg.length, -(accuracy if accuracy is not None else -1.0),
                path.name)
        key = (cfg.model, cfg.init)
        if key not in best or rank < best[key][0]:
            best[key] = (rank, state, str(path))
    return [(state, path) for _, state, path in best.values()]


def _order(curve: analysis.Curve) -> tuple[int, int, int]:
    return (MODELS.index(curve.model), INITS.index(curve.init), 0 if curve.state == analysis.UNTRAINED else 1)


def study_curves(study: str | Path, length: int = 100, hidden: int | None = None,
                 models: Sequence[str] = MODELS, inits: Sequence[str] = INITS, seed: int = 0,
                 echo: Callable[[str], None] | None = None) -> list[analysis.Curve]:
    """Untrained curves for every model x init (hidden: ``hidden``, else the checkpoints' one when they
    share it, else 128) and a trained one per model x init of the study's checkpoints, sorted."""
    picked = [(state, path) for state, path in pick_checkpoints(study, echo)
              if state.config.model in models and state.config.init in inits]
    if hidden is None:
        hiddens = {state.config.hidden for state, _ in picked}
        hidden = hiddens.pop() if len(hiddens) == 1 else 128
    curves = [analysis.untrained_curve(m, i, length, hidden, seed) for m, i in analysis.pairs(models, inits)]
    curves += [analysis.trained_state_curve(state, length, path, seed) for state, path in picked]
    return sorted(curves, key=_order)


def short_run_curves(length: int = 100, hidden: int = 128, models: Sequence[str] = MODELS,
                     inits: Sequence[str] = INITS, train_steps: int = 1000, train_length: int = 20, seed: int = 0,
                     echo: Callable[[str], None] | None = None) -> list[analysis.Curve]:
    """Untrained curves, and trained ones from short runs of ``train_steps`` at ``train_length`` (if > 0)."""
    curves = analysis.gradient_curves(length, hidden, models, inits, train_steps=train_steps,
                                      train_length=train_length, seed=seed, echo=echo)
    return sorted(curves, key=_order)


def first_step_table(curves: Sequence[analysis.Curve]) -> str:
    """One line per curve: model, init, untrained or trained at T = ..., and the ratio at t = 1."""
    length = curves[0].length if curves else 0
    lines = [f"||dL/dh_1|| / ||dL/dh_T|| at T = {length} (the gradient reaching the digit to recall)"]
    for c in curves:
        state = analysis.UNTRAINED if c.state == analysis.UNTRAINED else f"trained at T = {c.trained_length}"
        extra = "" if c.state == analysis.UNTRAINED else f"   {c.describe()}"
        lines.append(f"{c.model:<5} {c.init:<11} {state:<18} {analysis.format_ratio(c.first):>9}{extra}")
    if any(not math.isfinite(c.first) or c.first == 0 for c in curves):
        lines.append("inf: beyond float64's range (overflow); 0: below it (underflow)")
    return "\n".join(lines)


def _limits(curves: Sequence[analysis.Curve]) -> tuple[float, float]:
    """(floor, ceiling) where 0 and inf are drawn: EDGE beyond the finite positive ratios of the figure."""
    finite = [r for c in curves for r in c.ratios if math.isfinite(r) and r > 0]
    lo, hi = (min(finite), max(finite)) if finite else (1.0, 1.0)
    return lo / EDGE, hi * EDGE


def _clipped(ratios: Sequence[float], floor: float, ceiling: float) -> tuple[list[float], str]:
    """The ratios to draw (inf at ``ceiling``, 0 at ``floor``, nan left out) and what was clipped ("" if none)."""
    drawn = [r if math.isnan(r) or (math.isfinite(r) and r > 0) else ceiling if math.isinf(r) else floor
             for r in ratios]
    kinds = {"nan (not drawn)" if math.isnan(r) else "inf" if math.isinf(r) else "0" for r in ratios
             if not (math.isfinite(r) and r > 0)}
    return drawn, ", ".join(sorted(kinds))


def _trained_text(curves: Sequence[analysis.Curve]) -> str:
    lengths = sorted({c.trained_length for c in curves if c.state == analysis.TRAINED})
    return f"trained at T = {', '.join(map(str, lengths))}, measured at T = {curves[0].length}" if lengths else ""


def plot_gradient_flow(curves: Sequence[analysis.Curve]) -> Figure:
    """A panel per model (RNN, LSTM, GRU order), x = t, y = the ratio on a log scale (shared), one colour per
    init, solid untrained, dashed trained. inf and 0 are drawn at the panel's edge and said so in the legend
    ("seed (inf/0 at edge)") and in the caption."""
    if not curves:
        raise ValueError("no curves to draw")
    length = curves[0].length
    models = [m for m in MODELS if any(c.model == m for c in curves)]
    fig = Figure(figsize=(5.0 * len(models), 4.6), layout="constrained")
    axes = fig.subplots(1, len(models), sharey=True, squeeze=False)[0]
    floor, ceiling = _limits(curves)
    notes = []
    trained = _trained_text(curves)
    for ax, model in zip(axes, models, strict=True):
        mine = sorted((c for c in curves if c.model == model), key=_order)
        clipped_inits = set()
        for c in mine:
            drawn, what = _clipped(c.ratios, floor, ceiling)
            if what:
                clipped_inits.add(c.init)
                notes.append(f"{c.model} {c.init} {c.state}: {what}")
            ax.plot(range(1, len(drawn) + 1), drawn, color=INIT_COLORS.get(c.init, "k"),
                    linestyle=STATE_STYLES.get(c.state, ":"), linewidth=1.4)
        ax.axhline(1.0, color="0.6", linewidth=0.6, zorder=0)
        ax.set(yscale="log", xlim=(1, length), title=model, xlabel=XLABEL)
        ax.grid(True, which="major", alpha=0.3)
        handles = [Line2D([], [], color=INIT_COLORS.get(i, "k"),
                          label=i + (" (inf/0 at edge)" if i in clipped_inits else ""))
                   for i in INITS if any(c.init == i for c in mine)]
        handles.append(Line2D([], [], color="k", linestyle="-", label=analysis.UNTRAINED))
        if any(c.state == analysis.TRAINED for c in mine):
            handles.append(Line2D([], [], color="k", linestyle="--", label=analysis.TRAINED))
        ax.legend(handles=handles, fontsize="small", loc="best")
    axes[0].set_ylabel(YLABEL)
    hiddens = sorted({c.hidden for c in curves})
    title = f"Gradient reaching step t, relative to the last step: T = {length}, hidden {', '.join(map(str, hiddens))}"
    fig.suptitle(title + (f"\nsolid: untrained; dashed: {trained}" if trained else "\nuntrained"))
    if notes:
        fig.supxlabel(f"Clipped for drawing (0 at {floor:.0e}, inf at {ceiling:.0e}): " + "; ".join(notes),
                      fontsize="small")
    return fig


def build_parser() -> argparse.ArgumentParser:
    p = RaisingParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--study", metavar="FOLDER", help="a study's folder, results/<name>: its checkpoints/ are the "
                                                     "trained curves (default: short runs made here)")
    p.add_argument("--length", type=int, default=100, help="T, the length every curve is measured at (default: 100)")
    p.add_argument("--hidden", type=int, default=None,
                   help="hidden units of the untrained and short-run models (default: the study's, else 128)")
    p.add_argument("--train-steps", type=int, default=None,
                   help="without --study: steps of each short run, 0 for untrained curves only (default: 1000)")
    p.add_argument("--train-length", type=int, default=20, help="T of the short runs (default: 20)")
    p.add_argument("--models", nargs="+", metavar="MODEL", help=f"of {', '.join(MODELS)} (default: all)")
    p.add_argument("--inits", nargs="+", metavar="INIT", help=f"of {', '.join(INITS)} (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the models and the measuring batch (default: 0)")
    p.add_argument("--out", metavar="FOLDER",
                   help=f"the folder the figure, {FIGURE}, is written to (default: <study>/figures, else results); "
                        "deprecated: a FILE.png, .svg or .pdf names the file itself")
    return p


def _check(args: argparse.Namespace) -> tuple[list[str], list[str], Path]:
    if args.study is not None:
        if not Path(args.study).is_dir():
            raise UsageError(f"--study: {args.study} is not a folder")
        if not any((Path(args.study) / CHECKPOINTS).glob("*.pt")):
            raise UsageError(f"--study: no checkpoints in {Path(args.study) / 'checkpoints'} (no trial has saved one)")
        if args.train_steps is not None:
            raise UsageError("--train-steps: not with --study (the study's checkpoints are the trained curves)")
    ns = argparse.Namespace(length=args.length, hidden=128 if args.hidden is None else args.hidden, batch=1,
                            train_length=args.train_length, seed=args.seed,
                            train_steps=0 if args.train_steps is None else args.train_steps,
                            models=args.models, inits=args.inits, checkpoints=[], json=None)
    models, inits = analysis.check_args(ns)  # UsageError, as every check here
    return models, inits, _out_file(args.out, args.study)


def _out_file(out: str | None, study: str | None) -> Path:
    """``FIGURE`` in --out FOLDER (made if missing), else in <study>/figures or results; a --out with an image
    suffix that is not a folder is the file itself, the older spelling, taken with a line saying it is deprecated."""
    if out is None:
        return (Path(study) / FIGURES if study else Path("results")) / FIGURE
    path = Path(out)
    if path.suffix.lower() in (".png", ".svg", ".pdf") and not path.is_dir():
        if not path.parent.is_dir():
            raise UsageError(f"--out: cannot write {out} (no folder {path.parent})")
        print(f"{PROG}: --out {out}: a file for --out is deprecated; --out names a folder "
              f"(--out {path.parent} writes {path.parent / FIGURE})", file=sys.stderr)
        return path
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out: {out} is a file; give the folder to write {FIGURE} in")
    if not path.is_dir() and not path.parent.is_dir():
        raise UsageError(f"--out: cannot make folder {out} (no folder {path.parent})")
    return path / FIGURE


def main(argv: list[str] | None = None) -> int:
    """0 on success, 2 on bad input (one line on stderr)."""
    try:
        args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
        models, inits, out = _check(args)
        echo = lambda line: print(line, file=sys.stderr)  # noqa: E731
        if args.study:
            curves = study_curves(args.study, args.length, args.hidden, models, inits, args.seed, echo)
            if not any(c.state == analysis.TRAINED for c in curves):
                raise UsageError(f"--study: no readable checkpoint in {Path(args.study) / 'checkpoints'}")
        else:
            steps = 1000 if args.train_steps is None else args.train_steps
            curves = short_run_curves(args.length, 128 if args.hidden is None else args.hidden, models, inits,
                                      steps, args.train_length, args.seed, echo)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    print(first_step_table(curves))
    fig = plot_gradient_flow(curves)
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()  # drawn first, then written atomically: a killed run leaves the previous figure
    fig.savefig(buf, format=out.suffix.lstrip(".").lower() or "png", dpi=120)
    write_bytes_atomic(out, buf.getvalue())
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
