"""A memory frontier: for every cell (a combination of its axes, model always among them), the
longest T that K of N seeds solve; the search chooses the lengths and the seeds (docs/frontier.md)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from study.basics.errors import StudyError
from study.basics.text import format_table, set_text, wrap_parts
from study.frontier import bisections, max_trials
from study.frontier.options import RULE_TEXT, check_frontier_options, frontier_cells
from study.frontier.search import frontier_doubling
from study.planning.kinds.base import (
    Fail,
    Kind,
    Resolved,
    StudyPlan,
    TunerParts,
    common_lines,
    first_config,
    frame,
    list_head,
)
from study.planning.overlay import SEARCH_ONLY, Overlay
from study.spec.fields import FIELDS, GRID_MODELS, canonical_axes
from study.spec.studyfile import FRONTIER_KEYS, Study, frontier_options

if TYPE_CHECKING:
    import pandas as pd

    from study.frontier.search import Frontier

class FrontierKind(Kind):
    name = "frontier"
    noun = "frontier"
    block = "frontier"
    seeds_refused = "seed: a frontier runs seeds 0 .. N-1 of its solve rule K/N (--solve-rule)"
    report = ("frontier-table", "accuracy")
    shorter = "a lower --max-length"

    def check_options(self, given: Sequence[str], where: str) -> None:
        foreign = [o for o in SEARCH_ONLY if o in given]
        if "--lengths" in given or "--length" in given:
            option = "--lengths" if "--lengths" in given else "--length"
            raise StudyError(f"{option}: not with --frontier, which searches the lengths (--start-length, "
                             "--max-length)")
        if "--seeds" in given:
            raise StudyError("--seeds: not with --frontier, which runs seeds 0 .. N-1 of its solve rule K/N "
                             "(--solve-rule)")
        if foreign:
            hint = "; a frontier takes --models" if foreign[0] == "--model" else ""
            raise StudyError(f"{foreign[0]}: only with --search optuna{hint}")

    def check_fixed(self, sets: Mapping[str, Any], sweeps: Mapping[str, Any]) -> None:
        if "length" in sets or "length" in sweeps:
            option = "--set" if "length" in sets else "--sweep"
            raise StudyError(f"{option}: length: a frontier searches the lengths (--start-length, --max-length)")
        super().check_fixed(sets, sweeps)

    def change(self, doc: dict[str, Any], ov: Overlay, origin: dict[str, str], sets: Mapping[str, Any],
               sweeps: Mapping[str, Any], where: str) -> None:
        """Its options changed by --solve-rule, --start-length, --max-length, --speculate."""
        try:
            options = frontier_options(check_frontier_options(**doc["frontier"]), {k: ov.get(k) for k in FRONTIER_KEYS})
        except ValueError as exc:  # the file's own values were checked when it was read
            raise StudyError(str(exc)) from None
        doc["frontier"] = options.to_dict()

    def resolve(self, study: Study, fixed: dict[str, Any], axes: dict[str, list[Any]], fail: Fail,
                origin: Mapping[str, str], where: str) -> Resolved:
        """Every cell checked by palrnn at the start and the max length; the lengths and the seeds
        are the search's, so neither is in ``param_space``."""
        options = study.frontier
        assert options is not None
        if "model" not in axes:
            axes["model"] = [study.fixed["model"]] if "model" in study.fixed else list(GRID_MODELS)
        axes = canonical_axes(axes)
        for key in (*axes, "length", "seed"):
            fixed.pop(key, None)
        base = first_config(fixed, axes, fail, length=options.start)
        names = list(axes)
        combos = list(itertools.product(*axes.values()))
        for combo in combos:
            for length in (options.start, options.max_length):
                try:
                    base.replace(**dict(zip(names, combo, strict=True)), length=length)
                except ValueError as exc:
                    raise fail(exc) from None
        resolved_fixed = {k: v for k, v in base.to_dict().items() if k not in axes and k not in ("length", "seed")}
        param_space = {**{k: v for k, v in base.to_dict().items() if k not in ("length", "seed")}, **axes}
        out = Study(name=study.name, description=study.description, fixed=resolved_fixed, axes=axes,
                    frontier=options, mlflow=study.mlflow)
        return Resolved(out, base, param_space, names, names, max_trials(options, len(combos)))

    def plan_parts(self, study: Study, res: Resolved) -> dict[str, Any]:
        assert res.study.frontier is not None
        return {"frontier": res.study.frontier.to_dict()}

    def cells(self, plan: StudyPlan) -> list[dict[str, Any]]:
        """The combinations of its swept fields (``study.frontier.options.frontier_cells``), model first."""
        return frontier_cells(plan.param_space, plan.grid_axes)[1]

    def trials(self, plan: StudyPlan) -> Any:
        """One row per cell: its lengths and seeds are the search's."""
        fixed = {k: v for k, v in plan.param_space.items() if k not in plan.grid_axes}
        columns = [f for f in FIELDS if f not in ("length", "seed")]
        return frame([{**fixed, **cell} for cell in self.cells(plan)], columns)

    def count_text(self, plan: StudyPlan) -> str:
        """``up to 120 trials``: it stops once it knows each cell's frontier."""
        return f"up to {plan.n_trials} trials"

    def headline(self, plan: StudyPlan, label: str, width: int) -> list[str]:
        assert plan.frontier is not None
        n = len(self.cells(plan))
        f = plan.frontier
        parts = [f"{n} cell{'s' * (n != 1)},", f"rule {f['solve_rule']},", f"T from {f['start_length']} to "
                 f"{f['max_length']},", f"speculate {f['speculate']}"]
        return wrap_parts(parts, " ", first=f"study {label} (memory frontier, {self.count_text(plan)}): ",
                          indent="  ", width=width)

    def body(self, plan: StudyPlan, width: int) -> list[str]:
        """What every trial shares, the cells, the rule and the probes it starts with."""
        assert plan.frontier is not None
        opts = check_frontier_options(**plan.frontier)
        k, n = opts.rule
        cells = self.cells(plan)
        order = list(cells[0]) if cells else ["model"]
        lines = common_lines({key: v for key, v in plan.param_space.items() if key not in order}, width)
        lines += format_table(order, [[c[key] for key in order] for c in cells], width, index="cell")
        steps, target = plan.param_space.get("steps"), plan.target
        lines += _para(f"rule {k}/{n}: a length T passes when at least {k} of seeds 0..{n - 1} reach held-out "
                       f"accuracy {target:g} within {steps:,} steps; {RULE_TEXT}", width)
        doubling = frontier_doubling(opts)
        lines += _para(f"probes, per cell: T = {', '.join(map(str, doubling))} while each passes (doubling), then "
                       f"bisection between the longest pass and the first failure; a probe starts seeds 0..{k - 1} "
                       f"and adds one only while {k}/{n} can still go either way", width)
        if opts.speculate:
            lines += _para(f"speculate {opts.speculate}: while CPUs are free a cell may start the probe it would make "
                           f"next if its undecided probe{'s' * (opts.speculate > 1)} passed (up to {opts.speculate} "
                           "ahead)", width)
        lines.append(f"{self.count_text(plan)} ({len(cells)} cell{'s' * (len(cells) != 1)}; the search stops once "
                     "it knows every cell's frontier)")
        return lines

    def describe(self, study: Study, res: Resolved, width: int) -> list[str]:
        opts = res.study.frontier
        assert opts is not None
        cells = math.prod(len(v) for v in res.study.axes.values())
        lines = list_head(study, f"up to {res.n_trials} trials ({cells} cell{'s' * (cells != 1)}: memory frontier)",
                          width)
        parts = [f"{k} {set_text(v, short=False)}" for k, v in res.study.axes.items()]
        lines += wrap_parts(parts, "  x  ", first=f"{'':<10} cells: ", indent=" " * 18, width=width)
        return [*lines, f"{'':<10} rule {opts.rule[0]}/{opts.rule[1]}, T from {opts.start} to {opts.max_length}, "
                        f"speculate {opts.speculate}"]

    def title(self, meta: Mapping[str, Any], long: bool = False) -> str:
        if not long:
            return "memory frontier"
        f = meta.get("frontier") or {}
        return (f"memory frontier (rule {f.get('solve_rule', '?')}, T from {f.get('start_length', '?')} to "
                f"{f.get('max_length', '?')})")

    def costly(self, plan: StudyPlan) -> list[list[tuple[dict[str, Any], int]]]:
        """Every seed of every probe on the longest path of doubling and bisection, speculation included."""
        opts = check_frontier_options(**(plan.frontier or {}))
        doubling = frontier_doubling(opts)
        extra = max((bisections(b - a) for a, b in zip(doubling, doubling[1:], strict=False)), default=0)
        seeds = opts.rule[1] * (1 + opts.speculate)
        lengths = [*doubling, *[opts.max_length] * extra]
        fixed = {k: v for k, v in plan.param_space.items() if not isinstance(v, list)}
        return [[({**fixed, **cell, "length": t}, seeds) for t in lengths] for cell in self.cells(plan)]

    def most_at_once(self, plan: StudyPlan) -> int | None:
        opts = check_frontier_options(**(plan.frontier or {}))
        return len(self.cells(plan)) * opts.rule[1] * (1 + opts.speculate)

    def bound(self, plan: StudyPlan) -> str | None:
        assert plan.frontier is not None
        return ("an upper bound: every seed of every probe on the longest path of doubling and bisection up to "
                f"T = {plan.frontier['max_length']:,} trains all its steps; the search stops once it knows "
                "each cell's frontier, usually much sooner")

    def tuner(self, plan: StudyPlan) -> TunerParts:
        """One Tuner driven by the frontier's searcher, which its scheduler and callback share;
        --resume restores Ray's state where it kept one (errored trials counted as not solved)."""
        return TunerParts(searcher="frontier", scheduler="frontier", callbacks=("frontier",), num_samples=-1,
                          space=False, restart=True, resume_errored=False)

    def settle(self, folder: Path, trials: pd.DataFrame) -> pd.DataFrame:
        """The trials table as the search's state tells it (``settle_trials``)."""
        return settle_trials(folder, trials)

    def status(self, plan: StudyPlan, rows: int, unfinished: int, errors: int) -> tuple[str, int]:
        """``complete`` once its search knows every cell's frontier (frontier/state.json; a trial
        that failed for good counts as not solved), else ``interrupted``."""
        state = _folder_state(plan.folder)
        return ("complete" if state is not None and state.done else "interrupted"), unfinished

    def status_line(self, status: str, unfinished: int, errors: int, resume: str) -> str | None:
        if status == "interrupted":
            what = f"{unfinished} trials unfinished" if unfinished else "the frontier's search is unfinished"
            return f"{status}: {what}. {resume}"
        if errors:
            return f"{status}: {errors} trials failed; the frontier counted them as not solved"
        return None


def _folder_state(folder: Path) -> Frontier | None:
    """The frontier's search state in a study folder (frontier/state.json), or None where there is
    none that reads."""
    from study.frontier.table import load_frontier

    try:
        return load_frontier(folder)
    except (OSError, ValueError, KeyError, TypeError):
        return None


# What became of a seed the search launched that has no row (it never reported), by its state.
NO_ROW = {"running": ("PENDING", "unfinished"), "stopped": ("TERMINATED", "scheduler"), "error": ("ERROR", "error")}


def settle_trials(folder: Path, trials: pd.DataFrame) -> pd.DataFrame:
    """A frontier's trials table as its search's state (frontier/state.json in ``folder``) tells it.

    A seed still running in the state when the study ended was stopped with the study (Ctrl-C, a
    full disk), not by the search because its probe was decided: Ray holds it TERMINATED short of
    its steps, as it does those the search stopped, and it is ``unfinished`` (``--resume`` trains
    it on), not ``scheduler``. A seed the search launched that never reported (Ray held it PENDING
    for a free CPU when the study stopped) gets a row of its own with no metrics (``NO_ROW``):
    status PENDING and ``unfinished`` when it was running, ``scheduler`` when the search had
    stopped it, ``error`` when it failed; its trial id from the state's ``ray_trials``. A seed that
    ended, solved or not, reported its result and has its row already."""
    import pandas as pd

    state = _folder_state(folder)
    if state is None:
        return trials
    if len(trials) and "stopped_by" in trials:
        from study.frontier.table import running_rows

        stopped_with_study = running_rows(state, trials) & (trials["stopped_by"] == "scheduler")
        trials = trials.assign(stopped_by=trials["stopped_by"].mask(stopped_with_study, "unfinished"))
    missing = _rows_missing(folder, state, trials)
    if not missing:
        return trials
    if not len(trials):
        return pd.DataFrame(missing)
    out = pd.concat([trials, pd.DataFrame(missing)], ignore_index=True)
    # Integer columns stay integers (their new cells missing), as Ray's tables write them: 5000, not 5000.0.
    whole = [c for c in trials.columns if pd.api.types.is_integer_dtype(trials[c]) and out[c].dtype != trials[c].dtype]
    return out.astype({c: "Int64" for c in whole})


def _rows_missing(folder: Path, state: Frontier, trials: pd.DataFrame) -> list[dict[str, Any]]:
    """A row for each seed the search launched that ``trials`` has none for and that ``NO_ROW`` names."""
    import json

    from study.basics.layout import FRONTIER_STATE
    from study.frontier.probe import Trial

    try:
        ids = json.loads((Path(folder) / FRONTIER_STATE).read_text()).get("ray_trials") or {}
    except (OSError, ValueError):
        ids = {}
    by_seed = {Trial(*map(int, key)): str(trial_id) for trial_id, key in ids.items()}
    present = {state.trial_of(row) for row in trials.to_dict("records")} if len(trials) else set()
    columns = list(trials.columns) if len(trials.columns) else None
    rows = []
    seeds = itertools.product(range(len(state.cells)), range(state.rule[1]))
    for trial in sorted((Trial(c, length, seed) for c, seed in seeds for length in state.probes(c)),
                        key=lambda t: (t.cell, state.probes(t.cell).index(t.length), t.seed)):
        seed_state = state.seed_state(trial)
        if trial in present or seed_state not in NO_ROW:
            continue
        config = {k: v for k, v in state.config(trial).items() if columns is None or k in columns}
        status, stopped_by = NO_ROW[seed_state]
        rows.append({"trial_id": by_seed.get(trial), **config, "status": status, "stopped_by": stopped_by})
    return rows


def _para(text: str, width: int) -> list[str]:
    return wrap_parts(text.split(), " ", first="", indent="  ", width=width)
