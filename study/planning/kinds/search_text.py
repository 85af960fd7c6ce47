"""A search in words: its objectives, sampler and scheduler as --dry-run and --list say them, and
as its report says how it searched and what its scheduler did (PBT where it differs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from study.basics.text import wrap_parts
from study.spec.fields import scheduler_name
from study.spec.pbt import interval as pbt_interval
from study.spec.pbt import perturbed
from study.spec.studyfile import Search


def objectives_text(s: Search) -> str:
    """``eval_accuracy (max)``; several: each, and that they make a Pareto front."""
    if not s.more:
        return f"{s.metric} ({s.mode})"
    return "objectives " + ", ".join(f"{m} ({d})" for m, d in s.objectives) + " (a Pareto front)"


def sampler_text(s: Search) -> str:
    """Who draws the configs: Optuna's sampler, or under PBT Ray's random first configs."""
    return "Ray's random first configs (PBT's population)," if s.scheduler == "pbt" else SAMPLER_NAMES[s.sampler]


def scheduler_text(s: Search, steps: tuple[int, int] | None = None) -> str:
    """What the scheduler does; with several objectives, by which it ranks (Ray's take one metric).
    ``steps``: a trial's (steps, eval_every), for PBT's perturbation interval."""
    if s.scheduler == "pbt":
        every = (f"every {pbt_interval(s, *steps)} steps" if steps and steps[0]
                 else f"every {s.perturbation_interval or 'quarter of the'} steps")
        return (f"PBT: the bottom quarter by {s.metric} take the top quarter's weights "
                f"{every}, {' and '.join(perturbed(s)) or 'nothing'} perturbed")
    text = SCHEDULER_TEXT[s.scheduler]
    return f"{text} by {s.metric}, the first objective" if s.more and s.scheduler != "none" else text


SCHEDULER_TEXT = {"asha": "ASHA cutting poor trials", "hyperband": "HyperBand cutting poor trials",
                  "median": "the median stopping rule cutting poor trials", "none": "no scheduler"}
SAMPLER_NAMES = {"tpe": "TPE", "random": "random sampling", "cmaes": "CMA-ES", "gp": "Gaussian process",
                 "qmc": "quasi-Monte Carlo", "nsga2": "NSGA-II"}


def sampler_lines(search: Any, width: int) -> list[str]:
    """What the terminal says where the sampler leaves part of the space to random sampling, as
    Optuna does for the choices of a mixed space under CMA-ES or quasi-Monte Carlo."""
    choices = [k for k, (kind, _) in search.space.items() if kind == "choice"]
    if search.sampler in ("cmaes", "qmc") and choices:
        return wrap_parts([f"{SAMPLER_NAMES[search.sampler]} samples the numbers; {', '.join(choices)} "
                           "(choices) are sampled at random, seeded (Optuna's independent sampler)"], "",
                          first="note: ", indent="  ", width=width)
    return []


SCHEDULER_WORDS = {"asha": "ASHA", "hyperband": "HyperBand", "median": "the median stopping rule"}


def method_text(meta: Mapping[str, Any]) -> str:
    """How a search searched, in a few words: Optuna's sampler and Ray's scheduler, or Population
    Based Training (Ray Tune's own; it uses no Optuna sampler and keeps no Optuna journal)."""
    search = meta.get("search") or {}
    name = scheduler_name(search.get("scheduler", "asha")) or "asha"
    if name == "pbt":
        return "Population Based Training"
    sampler = search.get("sampler") or "tpe"
    words = SCHEDULER_WORDS.get(name, "no scheduler")
    return f"Optuna, {SAMPLER_NAMES.get(sampler, sampler)}, {words}"


def uses_optuna(meta_search: Mapping[str, Any] | None) -> bool:
    """Whether a search (study.json's ``search``) is run by Optuna and keeps its journal: every
    search but Population Based Training."""
    return meta_search is not None and scheduler_name(meta_search.get("scheduler", "asha")) != "pbt"


def scheduled_text(meta: Mapping[str, Any], trials: Any, cut: int) -> str:
    """What the search's scheduler did, in a few words (``trials``: its trials table)."""
    import pandas as pd

    name = scheduler_name((meta.get("search") or {}).get("scheduler", "asha")) or "asha"
    if name == "pbt":
        made = int(pd.to_numeric(trials["exploits"], errors="coerce").fillna(0).sum()) if "exploits" in trials else 0
        return f"PBT made {made} exploit{'s' * (made != 1)}"
    if name == "none":
        return "no scheduler: every trial ran to its end"
    return f"{SCHEDULER_WORDS[name]} cut {cut} early"
