"""A grid: every combination of its axes, each trained with seeds 0 .. N-1."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from study.basics.errors import StudyError
from study.basics.text import format_table, set_text, wrap_parts
from study.planning.kinds import base as shared
from study.planning.kinds.base import Fail, Kind, Resolved, StudyPlan
from study.planning.overlay import SEARCH_ONLY
from study.spec.fields import FIELDS, GRID_MODELS, LENGTHS_EXERCISE, SEEDS
from study.spec.studyfile import Study


class GridKind(Kind):
    name = "grid"
    noun = "grid"
    has_seeds = True
    scheduled = False  # a trial Ray ended short of its steps was stopped with the study: unfinished
    refused = {"seed": "seed is swept by --seeds N (seeds 0 .. N-1)"}
    report = ("accuracy", "odd-even")

    def check_options(self, given: Sequence[str], where: str) -> None:
        super().check_options(given, where)
        if foreign := [o for o in SEARCH_ONLY if o in given]:
            option = foreign[0]
            hint = f"; a grid takes {option}s" if option in ("--model", "--length") else ""
            what = f"; {where.removeprefix('--study ')} is a grid (no [search] table)" \
                if where.startswith(("study", "--study")) else ""
            raise StudyError(f"{option}: only with --search optuna{hint}{what}")

    def resolve(self, study: Study, fixed: dict[str, Any], axes: dict[str, list[Any]], fail: Fail,
                origin: Mapping[str, str], where: str) -> Resolved:
        axes = shared.cell_axes(study, axes, {"model": list(GRID_MODELS), "length": list(LENGTHS_EXERCISE)})
        base = shared.first_config(fixed, axes, fail)
        resolved_fixed = {k: v for k, v in base.to_dict().items() if k not in axes and k != "seed"}
        seeds = study.seeds or SEEDS
        n = shared.check_combinations(base, axes, fail) * seeds
        param_space = {**base.to_dict(), **axes, "seed": list(range(seeds))}
        return Resolved(dataclasses.replace(study, seeds=seeds, fixed=resolved_fixed, axes=axes), base, param_space,
                        [*axes, "seed"], [k for k in axes if k != "length"], n)

    def plan_parts(self, study: Study, res: Resolved) -> dict[str, Any]:
        return {"grid": study.name}

    def title(self, meta: Mapping[str, Any], long: bool = False) -> str:
        return f"grid {meta['grid']}" if meta.get("grid") else "grid"

    def configs(self, plan: StudyPlan) -> list[dict[str, Any]]:
        fixed = {k: v for k, v in plan.param_space.items() if k not in plan.grid_axes}
        return [{**fixed, **dict(zip(plan.grid_axes, combo, strict=True))}
                for combo in itertools.product(*(plan.param_space[k] for k in plan.grid_axes))]

    def trials(self, plan: StudyPlan) -> Any:
        return shared.frame(self.configs(plan), list(FIELDS))

    def headline(self, plan: StudyPlan, label: str, width: int) -> list[str]:
        seeds = len(plan.param_space["seed"])
        parts = [f"{k} {set_text(plan.param_space[k])}" for k in plan.grid_axes if k != "seed"]
        parts.append(f"seeds 0..{seeds - 1}" if seeds > 1 else "seed 0")
        return wrap_parts(parts, " x ", first=f"study {label} (grid, {self.count_text(plan)}): ", indent="  ",
                          width=width)

    def body(self, plan: StudyPlan, width: int) -> list[str]:
        configs = self.configs(plan)
        varying = [k for k in plan.grid_axes if len(plan.param_space[k]) > 1 or k in ("model", "length", "seed")]
        order = sorted(varying, key=lambda k: {"model": 0, "length": 2, "seed": 3}.get(k, 1))
        common = {k: v for k, v in configs[0].items() if k not in order} if configs else {}
        table = format_table(order, [[c[k] for k in order] for c in configs], width, index="trial")
        return [*shared.common_lines(common, width), *table, f"{plan.n_trials} trials"]

    def describe(self, study: Study, res: Resolved, width: int) -> list[str]:
        seeds = res.study.seeds
        lines = shared.list_head(study, f"{res.n_trials:>4} trials ({seeds} seed{'s' * (seeds != 1)})", width)
        parts = [f"{k} {set_text(v, short=False)}" for k, v in res.study.axes.items()] + ["seed 0..N-1"]
        return lines + wrap_parts(parts, "  x  ", first=f"{'':<10} axes: ", indent=" " * 17, width=width)

