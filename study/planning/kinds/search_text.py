"""A search in words: its objectives, sampler and scheduler in --dry-run, --list and its report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from study.basics.text import wrap_parts
from study.spec.fields import scheduler_name
from study.spec.pbt import interval as pbt_interval
from study.spec.pbt import perturbed
from study.spec.studyfile import Search


def objectives_text(s: Search) -> str:
    if not s.more:
        return f"{s.metric} ({s.mode})"
    return "objectives " + ", ".join(f"{m} ({d})" for m, d in s.objectives) + " (a Pareto front)"


def sampler_text(s: Search) -> str:
    return "Ray's random first configs (PBT's population)," if s.scheduler == "pbt" else SAMPLER_NAMES[s.sampler]


def scheduler_text(s: Search, steps: tuple[int, int] | None = None) -> str:
    """What the scheduler does (``steps``: a trial's steps and eval_every, for PBT's interval)."""
    if s.scheduler == "pbt":
        every = (f"every {pbt_interval(s, *steps)} steps" if steps and steps[0]
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


def sampler_lines(search: Any, width: int) -> list[str]:
    """A note where Optuna samples the choices of a mixed space at random (CMA-ES, quasi-Monte Carlo)."""
    choices = [k for k, (kind, _) in search.space.items() if kind == "choice"]
    if search.sampler in ("cmaes", "qmc") and choices:
        return wrap_parts([f"{SAMPLER_NAMES[search.sampler]} samples the numbers; {', '.join(choices)} "
                           "(choices) are sampled at random, seeded (Optuna's independent sampler)"], "",
                          first="note: ", indent="  ", width=width)
    return []


def method_text(meta: Mapping[str, Any]) -> str:
    """How a search searched: Optuna's sampler and Ray's scheduler, or Population Based Training."""
    name = _scheduler(meta.get("search"))
    if name == "pbt":
        return "Population Based Training"
    sampler = (meta.get("search") or {}).get("sampler") or "tpe"
    return f"Optuna, {SAMPLER_NAMES.get(sampler, sampler)}, {SCHEDULER_WORDS.get(name, 'no scheduler')}"


def uses_optuna(meta_search: Mapping[str, Any] | None) -> bool:
    """Whether a search (study.json's ``search``) keeps an Optuna journal: every one but PBT."""
    return meta_search is not None and _scheduler(meta_search) != "pbt"


def scheduled_text(meta: Mapping[str, Any], trials: Any, cut: int) -> str:
    """What the search's scheduler did (``trials``: its trials table)."""
    import pandas as pd

    name = _scheduler(meta.get("search"))
    if name == "pbt":
        made = int(pd.to_numeric(trials["exploits"], errors="coerce").fillna(0).sum()) if "exploits" in trials else 0
        return f"PBT made {made} exploit{'s' * (made != 1)}"
    if name == "none":
        return "no scheduler: every trial ran to its end"
    return f"{SCHEDULER_WORDS[name]} cut {cut} early"


def _scheduler(meta_search: Mapping[str, Any] | None) -> str:
    return scheduler_name((meta_search or {}).get("scheduler", "asha")) or "asha"
