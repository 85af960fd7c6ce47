"""An Optuna search: one Optuna study per model x length cell, each trial a config Optuna chose,
trained on seed 0. ``SearchPlan``: the document's ``[search]`` and what planning derives for Ray Tune;
the search in words, for --dry-run, --list and its report."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from palrnn.names import did_you_mean
from study.basics.errors import StudyError
from study.basics.layout import CELLS, OPTUNA_JOURNAL
from study.basics.text import format_table, wrap_parts
from study.planning.kinds import base as shared
from study.planning.kinds.base import Fail, Kind, Resolved, StudyPlan, TunerParts
from study.planning.overlay import Overlay, checked, int_option
from study.spec.fields import (
    CELL_FIELDS,
    FIELDS,
    SCHEDULER_NAMES,
    SEARCH_LENGTH,
    SEARCH_MODEL,
    sampler_problem,
    scheduler_name,
)
from study.spec.load import search_from_meta
from study.spec.objectives import objectives_problem, parse_objectives
from study.spec.search import SAMPLER_WITH_PBT, interval, pbt_problem, perturbed
from study.spec.space import ONLY_FOR, Dist, for_model, format_dist, parse_dist, space_parts
from study.spec.studyfile import Search, Study

SINGLE = "palrnn"  # the Optuna study of a search of one cell


@dataclass(frozen=True)
class SearchPlan:
    settings: Search
    max_t: int  # ASHA: the evaluations a trial may run (its steps / eval_every, rounded up)
    grace_period: int  # ASHA: the evaluations before it may cut a trial
    cells: list[dict[str, Any]] = field(default_factory=list)  # {"model", "length", "study_name", "experiment"}
    storage: str = OPTUNA_JOURNAL  # the Optuna journal, in the study folder

    @classmethod
    def plan(cls, settings: Search, cells: list[tuple[str, int]], steps: int, eval_every: int) -> SearchPlan:
        """One Optuna study and Ray experiment per cell (model, length) when there are several, else the folder's."""
        reports = -(-steps // eval_every)
        several = len(cells) > 1
        return cls(settings, max_t=reports, grace_period=max(1, reports // 9),
                   cells=[{"model": m, "length": t, "study_name": f"{SINGLE}-{m}-T{t}" if several else SINGLE,
                           "experiment": f"{CELLS}/{m}-T{t}" if several else None} for m, t in cells])

    def space(self, model: str) -> dict[str, Dist]:
        return for_model(self.settings.space, model)

    def to_meta(self) -> dict[str, Any]:
        s = self.settings
        return {"seed": s.seed, "num_samples": s.num_samples, "max_t": self.max_t, "grace_period": self.grace_period,
                "storage": self.storage, "space": {k: format_dist(d) for k, d in s.space.items()},
                "metric": s.metric, "mode": s.mode, "objectives": [list(o) for o in s.objectives],
                "scheduler": s.scheduler, "sampler": s.sampler,
                **({"perturbation_interval": s.perturbation_interval} if s.perturbation_interval else {}),
                **({"perturb": list(s.perturb)} if s.perturb else {}),
                "cells": [dict(c) for c in self.cells]}

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any], param_space: Mapping[str, Any]) -> SearchPlan:
        """study.json's ``search``; an older study's one cell is that of ``param_space``."""
        settings = search_from_meta(meta)
        cells = [dict(c) for c in meta.get("cells") or []] or [
            {"model": param_space["model"], "length": param_space["length"], "study_name": SINGLE, "experiment": None}]
        return cls(settings, max_t=int(meta["max_t"]), grace_period=int(meta["grace_period"]), cells=cells,
                   storage=str(meta.get("storage", OPTUNA_JOURNAL)))


class SearchKind(Kind):
    name = "optuna"
    noun = "search"
    block = "search"
    refused = {"seed": "seed: a search trains each config on seed 0; the best config's command reruns it over seeds"}
    report = ("search",)

    def check_options(self, given: Sequence[str], where: str) -> None:
        super().check_options(given, where)
        if "--seeds" in given:
            raise StudyError("--seeds: not for a search, which trains each config on seed 0; the best config's "
                             "command (printed at its end) reruns it over seeds")
        for one in ("--model", "--length"):
            if one in given and f"{one}s" in given:
                raise StudyError(f"{one}: not with {one}s; give the {one[2:]}s with one of them")

    def change(self, doc: dict[str, Any], ov: Overlay, origin: dict[str, str], sets: Mapping[str, Any],
               sweeps: Mapping[str, Any], where: str) -> None:
        """The document's [search] changed by its options."""
        search = doc["search"] = dict(doc["search"])
        origin.update(dict.fromkeys(search["space"], where))
        if ov.get("space") is not None:
            search["space"] = {k: format_dist(d) for k, d in ov.get("space").items()}
            for k in search["space"]:
                doc["fixed"].pop(k, None)
                origin[k] = "--space"
        if other := [k for k in sweeps if k not in CELL_FIELDS]:
            k = other[0]
            raise StudyError(f"--sweep: {k}: a search sweeps only model and length (one search per cell); "
                             f"search {k} with --space {k}=choice:... or fix it with --set")
        if searched := [k for k in sets if k in search["space"]]:
            raise StudyError(f"--set: {searched[0]} is searched by Optuna and cannot be fixed; leave it out of "
                             "the space (--space gives the whole space)")
        metric, mode = ov.get("metric"), ov.get("mode")  # --metric NAME[:max|min], repeatable; --mode
        if metric is not None:
            objectives = checked("--metric", parse_objectives, metric)
            search.pop("mode", None)
            if len(objectives) > 1:
                search["metric"] = [f"{m}:{d}" for m, d in objectives]
            else:
                search["metric"], search["mode"] = objectives[0]
        if mode is not None:
            given = [metric] if isinstance(metric, str) else list(metric or [])
            if isinstance(search["metric"], list) or any(":" in str(m) for m in given):
                raise StudyError("--mode: not with several metrics or NAME:max|min; give each --metric its direction")
            search["mode"] = mode  # checked by the document's parse, which names the option
        for key, option, low in (("num_samples", "--num-samples", 1), ("seed", "--search-seed", 0)):
            if ov.get(option[2:].replace("-", "_")) is not None:
                search[key] = int_option(option, ov.get(option[2:].replace("-", "_")), low)
        if ov.get("scheduler") is not None:
            if (name := scheduler_name(ov.get("scheduler"))) is None:
                raise StudyError(f"--scheduler: must be one of {', '.join(SCHEDULER_NAMES)} (on and off, True and "
                                 f"False still mean asha and none), got {ov.get('scheduler')!r}"
                                 f"{did_you_mean(ov.get('scheduler'), SCHEDULER_NAMES)}")
            search["scheduler"] = name
        if ov.get("sampler") is not None:
            search["sampler"] = ov.get("sampler")
            if search["scheduler"] == "pbt":
                raise StudyError(f"--sampler: {SAMPLER_WITH_PBT}")
        if ov.get("perturbation_interval") is not None:  # checked by the document's parse, which names the option
            search["perturbation_interval"] = ov.get("perturbation_interval")
        if ov.get("perturb") is not None:
            names = [ov.get("perturb")] if isinstance(ov.get("perturb"), str) else list(ov.get("perturb"))
            search["perturb"] = [str(n).strip() for n in names]
            if not names:
                search.pop("perturb")
        sampler = search.get("sampler", Search.sampler)
        if problem := sampler_problem(sampler, {k: parse_dist(k, d) for k, d in search["space"].items()}):
            raise StudyError(f"--sampler: {problem}")
        if wrong := objectives_problem(parse_objectives(search["metric"]), sampler, search["scheduler"]):
            # The option the user gave that makes the clash: the scheduler or sampler if given, else the metrics.
            raise StudyError(f"{wrong[0] if ov.get(wrong[0][2:]) is not None else '--metric'}: {wrong[1]}")
        if search["scheduler"] == "pbt":
            search.pop("sampler", None)

    def resolve(self, study: Study, fixed: dict[str, Any], axes: dict[str, list[Any]], fail: Fail,
                origin: Mapping[str, str], where: str) -> Resolved:
        axes = shared.cell_axes(study, axes, {"model": [SEARCH_MODEL], "length": [SEARCH_LENGTH]})
        space = study.search.space
        for key in [*axes, *space]:
            fixed.pop(key, None)
        base = shared.first_config(fixed, axes, fail)
        if wrong := pbt_problem(study.search, base.steps, base.eval_every):
            raise StudyError(f"{wrong[0]}: {wrong[1]}")
        resolved_fixed = {k: v for k, v in base.to_dict().items() if k not in axes and k not in space and k != "seed"}
        cells = list(itertools.product(axes["model"], axes["length"]))
        for model, length in cells:
            cell = checked(fail, base.replace, model=model, length=length)
            if not (dims := for_model(space, model)):
                ignored = ", ".join(f"{k} ({', '.join(ONLY_FOR.get(k, ()))} only)" for k in space)
                raise StudyError(f"{origin.get(next(iter(space)), where)}: nothing to search for {model}, which "
                                 f"ignores {ignored}; search other fields too, or leave {model} out")
            for name, (_, values) in dims.items():
                for value in values:
                    checked(origin.get(name, where), cell.replace, **{name: value})
        searched = list(dict.fromkeys(k for m, _ in cells for k in for_model(space, m)))
        param_space = base.to_dict()
        if len(cells) > 1:
            param_space["model"], param_space["length"] = list(axes["model"]), list(axes["length"])
        out = dataclasses.replace(study, fixed=resolved_fixed, axes=axes)
        return Resolved(out, base, param_space, [], searched, study.search.num_samples * len(cells), cells)

    def plan_parts(self, study: Study, res: Resolved) -> dict[str, Any]:
        return {"search": SearchPlan.plan(res.study.search, res.cells, res.base.steps, res.base.eval_every)}

    def tuner(self, plan: StudyPlan) -> TunerParts:
        """A Tuner per cell; under PBT no Optuna (Ray refuses a searcher beside PBT)."""
        s = plan.search.settings
        pbt = s.scheduler == "pbt"
        return TunerParts(searcher="pbt" if pbt else self.name, num_samples=s.num_samples, per_cell=True,
                          scheduler=None if s.scheduler == "none" else s.scheduler, population=pbt)

    def title(self, meta: Mapping[str, Any], long: bool = False) -> str:
        return "search"

    def costly(self, plan: StudyPlan) -> list[list[tuple[dict[str, Any], int]]]:
        fixed = {k: v for k, v in plan.param_space.items() if not isinstance(v, list)}
        groups = []
        for cell in self.cells(plan):
            cfg = {**fixed, "model": cell["model"], "length": cell["length"]}
            for name, (_, values) in plan.search.space(cell["model"]).items():
                numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
                most = (min if name == "eval_every" else max)(numbers) if numbers else None
                if name in ("hidden", "batch_size", "steps", "eval_every") and most:
                    cfg[name] = most
            groups.append([(cfg, plan.search.settings.num_samples)])
        return groups

    def bound(self, plan: StudyPlan) -> str | None:
        s = plan.search.settings
        cut = "" if s.scheduler == "none" else f"; the scheduler ({s.scheduler}) cuts some sooner"
        return (f"an upper bound: all {s.num_samples} samples of each cell train all their steps at the space's "
                f"largest hidden and batch_size{cut}")

    def cells(self, plan: StudyPlan) -> list[dict[str, Any]]:
        return [dict(c) for c in plan.search.cells]

    def trials(self, plan: StudyPlan) -> Any:
        fixed = {k: v for k, v in plan.param_space.items() if k not in ("model", "length")}
        return shared.frame([{**fixed, "model": c["model"], "length": c["length"],
                       **{k: format_dist(d) for k, d in plan.search.space(c["model"]).items()}, "sample": i}
                      for c in self.cells(plan) for i in range(plan.search.settings.num_samples)], [*FIELDS, "sample"])

    def headline(self, plan: StudyPlan, label: str, width: int) -> list[str]:
        s = plan.search.settings
        n = len(self.cells(plan))
        steps = (int(plan.param_space.get("steps", 0)), int(plan.param_space.get("eval_every", 1)))
        parts = [f"{n} cell{'s' * (n != 1)} x {s.num_samples} samples,", f"{sampler_text(s)} seed {s.seed},",
                 f"{objectives_text(s)},", scheduler_text(s, steps)]
        return wrap_parts(parts, " ", first=f"study {label} (Optuna search, {self.count_text(plan)}): ", indent="  ",
                          width=width)

    def body(self, plan: StudyPlan, width: int) -> list[str]:
        lines = wrap_parts(space_parts(plan.search.settings.space), "; ", first="searched: ", indent="  ",
                           width=width)
        rows = [[c["model"], c["length"], plan.search.settings.num_samples,
                 ", ".join(plan.search.space(c["model"]))] for c in self.cells(plan)]
        varying = set(CELL_FIELDS) | set(plan.axes)
        common = {k: v for k, v in plan.param_space.items() if k not in varying and k != "seed"}
        table = format_table(["model", "length", "samples", "searched"], rows, width, index="cell")
        s = plan.search.settings  # Optuna samples a mixed space's choices at random under CMA-ES or QMC: a note
        if s.sampler in ("cmaes", "qmc") and (choices := [k for k, (kind, _) in s.space.items() if kind == "choice"]):
            lines += wrap_parts([f"{SAMPLER_NAMES[s.sampler]} samples the numbers; {', '.join(choices)} (choices) "
                                 "are sampled at random, seeded (Optuna's independent sampler)"], "",
                                first="note: ", indent="  ", width=width)
        return [*lines, *shared.common_lines(common, width), *table, self.count_text(plan)]

    def describe(self, study: Study, res: Resolved, width: int) -> list[str]:
        s = res.study.search
        cells = ", ".join(f"{m} T={t}" for m, t in res.cells)
        each = " each" if len(res.cells) > 1 else ""
        lines = shared.list_head(study, f"{res.n_trials:>4} trials ({cells}: {s.num_samples} samples{each})", width)
        lines += wrap_parts(space_parts(s.space), "; ", first=f"{'':<10} {sampler_text(s)} over ",
                            indent=" " * 11, width=width)
        metric = f"metric {s.metric} ({s.mode})" if not s.more else objectives_text(s)
        return [*lines, f"{'':<10} {metric}, sampler seed {s.seed}, {scheduler_text(s)}"]


def objectives_text(s: Search) -> str:
    if not s.more:
        return f"{s.metric} ({s.mode})"
    return "objectives " + ", ".join(f"{m} ({d})" for m, d in s.objectives) + " (a Pareto front)"


def sampler_text(s: Search) -> str:
    return "Ray's random first configs (PBT's population)," if s.scheduler == "pbt" else SAMPLER_NAMES[s.sampler]


def scheduler_text(s: Search, steps: tuple[int, int] | None = None) -> str:
    """What the scheduler does (``steps``: a trial's steps and eval_every, for PBT's interval)."""
    if s.scheduler == "pbt":
        every = (f"every {interval(s, *steps)} steps" if steps and steps[0]
                 else f"every {s.perturbation_interval or 'quarter of the'} steps")
        return (f"PBT: the bottom quarter by {s.metric} take the top quarter's weights "
                f"{every}, {' and '.join(perturbed(s)) or 'nothing'} perturbed")
    if s.scheduler == "none":
        return "no scheduler"
    text = f"{SCHEDULER_WORDS[s.scheduler]} cutting poor trials"
    return f"{text} by {s.metric}, the first objective" if s.more else text


SCHEDULER_WORDS = {"asha": "ASHA", "hyperband": "HyperBand", "median": "the median stopping rule"}
SAMPLER_NAMES = {"tpe": "TPE", "random": "random sampling", "cmaes": "CMA-ES", "gp": "Gaussian process",
                 "qmc": "quasi-Monte Carlo", "nsga2": "NSGA-II"}


def method_text(meta: Mapping[str, Any]) -> str:
    """How a search searched: Optuna's sampler and Ray's scheduler, or Population Based Training."""
    if (name := _scheduler(meta.get("search"))) == "pbt":
        return "Population Based Training"
    sampler = (meta.get("search") or {}).get("sampler") or "tpe"
    return f"Optuna, {SAMPLER_NAMES.get(sampler, sampler)}, {SCHEDULER_WORDS.get(name, 'no scheduler')}"


def uses_optuna(meta_search: Mapping[str, Any] | None) -> bool:
    """Whether a search (study.json's ``search``) keeps an Optuna journal: every one but PBT."""
    return meta_search is not None and _scheduler(meta_search) != "pbt"


def scheduled_text(meta: Mapping[str, Any], trials: Any, cut: int) -> str:
    """What the search's scheduler did (``trials``: its trials table)."""
    import pandas as pd
    if (name := _scheduler(meta.get("search"))) == "pbt":
        made = int(pd.to_numeric(trials["exploits"], errors="coerce").fillna(0).sum()) if "exploits" in trials else 0
        return f"PBT made {made} exploit{'s' * (made != 1)}"
    if name == "none":
        return "no scheduler: every trial ran to its end"
    return f"{SCHEDULER_WORDS[name]} cut {cut} early"


def _scheduler(meta_search: Mapping[str, Any] | None) -> str:
    return scheduler_name((meta_search or {}).get("scheduler", "asha")) or "asha"
