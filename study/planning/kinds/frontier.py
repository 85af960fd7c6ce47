"""A memory frontier: for every cell (a combination of its axes, model always among them), the
longest T that K of N seeds solve; the search chooses the lengths and the seeds (docs/frontier.md)."""

from __future__ import annotations

import dataclasses
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
from study.planning.kinds import base as shared
from study.planning.kinds.base import Fail, Kind, Resolved, StudyPlan, TunerParts
from study.planning.overlay import SEARCH_ONLY, Overlay, checked
from study.spec.fields import FIELDS, GRID_MODELS, canonical_axes
from study.spec.studyfile import FRONTIER_KEYS, Study, frontier_options

if TYPE_CHECKING:
    import pandas as pd

    from study.frontier.search import Frontier


class FrontierKind(Kind):
    name = "frontier"
    noun = "frontier"
    block = "frontier"
    refused = {"length": "length: a frontier searches the lengths (--start-length, --max-length)",
               "seed": "seed: a frontier runs seeds 0 .. N-1 of its solve rule K/N (--solve-rule)"}
    report = ("frontier-table", "accuracy")
    shorter = "a lower --max-length"

    def check_options(self, given: Sequence[str], where: str) -> None:
        if option := next((o for o in ("--lengths", "--length") if o in given), None):
            raise StudyError(f"{option}: not with --frontier, which searches the lengths (--start-length, "
                             "--max-length)")
        if "--seeds" in given:
            raise StudyError("--seeds: not with --frontier, which runs seeds 0 .. N-1 of its solve rule K/N "
                             "(--solve-rule)")
        if foreign := [o for o in SEARCH_ONLY if o in given]:
            hint = "; a frontier takes --models" if foreign[0] == "--model" else ""
            raise StudyError(f"{foreign[0]}: only with --search optuna{hint}")

    def change(self, doc: dict[str, Any], ov: Overlay, origin: dict[str, str], sets: Mapping[str, Any],
               sweeps: Mapping[str, Any], where: str) -> None:
        doc["frontier"] = checked(lambda exc: StudyError(str(exc)), frontier_options,  # it names the option
                                  check_frontier_options(**doc["frontier"]), {k: ov.get(k) for k in FRONTIER_KEYS}
                                  ).to_dict()

    def resolve(self, study: Study, fixed: dict[str, Any], axes: dict[str, list[Any]], fail: Fail,
                origin: Mapping[str, str], where: str) -> Resolved:
        """Every cell checked at the start and the max length; the lengths and seeds are the search's."""
        options = study.frontier
        if "model" not in axes:
            axes["model"] = [study.fixed["model"]] if "model" in study.fixed else list(GRID_MODELS)
        axes = canonical_axes(axes)
        base = shared.first_config(fixed, axes, fail, length=options.start)
        shared.check_combinations(base, {**axes, "length": [options.start, options.max_length]}, fail)
        resolved_fixed = {k: v for k, v in base.to_dict().items() if k not in axes and k not in ("length", "seed")}
        param_space = {**{k: v for k, v in base.to_dict().items() if k not in ("length", "seed")}, **axes}
        out = dataclasses.replace(study, fixed=resolved_fixed, axes=axes)
        return Resolved(out, base, param_space, list(axes), list(axes),
                        max_trials(options, math.prod(len(v) for v in axes.values())))

    def plan_parts(self, study: Study, res: Resolved) -> dict[str, Any]:
        return {"frontier": res.study.frontier.to_dict()}

    def cells(self, plan: StudyPlan) -> list[dict[str, Any]]:
        return frontier_cells(plan.param_space, plan.grid_axes)[1]

    def trials(self, plan: StudyPlan) -> Any:
        fixed = {k: v for k, v in plan.param_space.items() if k not in plan.grid_axes}
        columns = [f for f in FIELDS if f not in ("length", "seed")]
        return shared.frame([{**fixed, **cell} for cell in self.cells(plan)], columns)

    def count_text(self, plan: StudyPlan) -> str:
        return f"up to {plan.n_trials} trials"

    def headline(self, plan: StudyPlan, label: str, width: int) -> list[str]:
        n = len(self.cells(plan))
        f = plan.frontier
        parts = [f"{n} cell{'s' * (n != 1)},", f"rule {f['solve_rule']},", f"T from {f['start_length']} to "
                 f"{f['max_length']},", f"speculate {f['speculate']}"]
        return wrap_parts(parts, " ", first=f"study {label} (memory frontier, {self.count_text(plan)}): ",
                          indent="  ", width=width)

    def body(self, plan: StudyPlan, width: int) -> list[str]:
        opts = check_frontier_options(**plan.frontier)
        k, n = opts.rule
        cells = self.cells(plan)
        order = list(cells[0]) if cells else ["model"]
        lines = shared.common_lines({key: v for key, v in plan.param_space.items() if key not in order}, width)
        lines += format_table(order, [[c[key] for key in order] for c in cells], width, index="cell")
        steps, doubling = plan.param_space.get("steps"), frontier_doubling(opts)
        texts = [f"rule {k}/{n}: a length T passes when at least {k} of seeds 0..{n - 1} reach held-out accuracy "
                 f"{plan.target:g} within {steps:,} steps; {RULE_TEXT}",
                 f"probes, per cell: T = {', '.join(map(str, doubling))} while each passes (doubling), then bisection "
                 f"between the longest pass and the first failure; a probe starts seeds 0..{k - 1} and adds one only "
                 f"while {k}/{n} can still go either way"]
        if opts.speculate:
            texts.append(f"speculate {opts.speculate}: while CPUs are free a cell may start the probe it would "
                         f"make next if its undecided probe{'s' * (opts.speculate > 1)} passed (up to "
                         f"{opts.speculate} ahead)")
        lines += [line for text in texts for line in shared.para(text, width)]
        lines.append(f"{self.count_text(plan)} ({len(cells)} cell{'s' * (len(cells) != 1)}; the search stops once "
                     "it knows every cell's frontier)")
        return lines

    def describe(self, study: Study, res: Resolved, width: int) -> list[str]:
        opts = res.study.frontier
        cells = math.prod(len(v) for v in res.study.axes.values())
        count = f"up to {res.n_trials} trials ({cells} cell{'s' * (cells != 1)}: memory frontier)"
        lines = shared.list_head(study, count, width)
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
        return ("an upper bound: every seed of every probe on the longest path of doubling and bisection up to "
                f"T = {plan.frontier['max_length']:,} trains all its steps; the search stops once it knows "
                "each cell's frontier, usually much sooner")

    def tuner(self, plan: StudyPlan) -> TunerParts:
        """One Tuner; its searcher, scheduler and callback share the search (errored trials: not solved)."""
        return TunerParts(searcher="frontier", scheduler="frontier", callbacks=("frontier",), num_samples=-1,
                          space=False, restart=True, resume_errored=False)

    def settle(self, folder: Path, trials: pd.DataFrame) -> pd.DataFrame:
        """The trials as the search's state tells: a seed running at the end was stopped with the study (Ray says
        TERMINATED): ``unfinished``, not ``scheduler``; one that never reported gets a row of its own (``NO_ROW``)."""
        import json

        import pandas as pd

        from study.basics.layout import FRONTIER_STATE
        from study.frontier.probe import Trial
        from study.frontier.table import running_rows
        if (state := _folder_state(folder)) is None:
            return trials
        if len(trials) and "stopped_by" in trials:
            stopped_with_study = running_rows(state, trials) & (trials["stopped_by"] == "scheduler")
            trials = trials.assign(stopped_by=trials["stopped_by"].mask(stopped_with_study, "unfinished"))
        try:
            ids = json.loads((Path(folder) / FRONTIER_STATE).read_text()).get("ray_trials") or {}
        except (OSError, ValueError):
            ids = {}
        by_seed = {Trial(*map(int, key)): str(trial_id) for trial_id, key in ids.items()}
        present = {state.trial_of(row) for row in trials.to_dict("records")} if len(trials) else set()
        columns = list(trials.columns) if len(trials.columns) else None
        seeds = itertools.product(range(len(state.cells)), range(state.rule[1]))
        launched = sorted((Trial(c, length, seed) for c, seed in seeds for length in state.probes(c)),
                          key=lambda t: (t.cell, state.probes(t.cell).index(t.length), t.seed))
        missing = [{"trial_id": by_seed.get(t), **{k: v for k, v in state.config(t).items() if k in (columns or [k])},
                    **dict(zip(("status", "stopped_by"), NO_ROW[state.seed_state(t)], strict=True))}
                   for t in launched if t not in present and state.seed_state(t) in NO_ROW]
        if not missing:
            return trials
        if not len(trials):
            return pd.DataFrame(missing)
        out = pd.concat([trials, pd.DataFrame(missing)], ignore_index=True)
        # Integer columns stay integers (their new cells missing), as Ray's tables write them: 5000, not 5000.0.
        return out.astype({c: "Int64" for c in trials.columns
                           if pd.api.types.is_integer_dtype(trials[c]) and out[c].dtype != trials[c].dtype})

    def status(self, plan: StudyPlan, rows: int, unfinished: int, errors: int) -> tuple[str, int]:
        """``complete`` once its search knows every cell's frontier (frontier/state.json), else ``interrupted``."""
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
    from study.frontier.table import load_frontier
    try:
        return load_frontier(folder)
    except (OSError, ValueError, KeyError, TypeError):
        return None


# What became of a seed the search launched that has no row (it never reported), by its state.
NO_ROW = {"running": ("PENDING", "unfinished"), "stopped": ("TERMINATED", "scheduler"), "error": ("ERROR", "error")}
