"""What every kind of study shares, and what each does its own way (``Kind``)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from palrnn.config import Config
from study.basics.errors import StudyError
from study.basics.text import exact_text, wrap_parts
from study.planning.overlay import FRONTIER_ONLY, Overlay
from study.spec.fields import BASE, CELL_FIELDS, canonical_axes
from study.spec.studyfile import Study

if TYPE_CHECKING:
    import pandas as pd

Fail = Callable[[ValueError], StudyError]  # a Config's ValueError as the option or file that set its field


# What the kinds and the estimate are given: a study.planning.plan.StudyPlan (which imports the kinds, so
# that no import, not even a type's, goes back up).
StudyPlan = Any


@dataclass(frozen=True)
class TunerParts:
    """How a kind's study runs on Ray, by the names of the engine's parts: planning imports no
    engine code, and ``study.engine.tuner`` looks each name up in its registry."""

    searcher: str | None = None  # study.engine.search.SEARCHERS; None: Ray's variants of the param space
    scheduler: str | None = None  # study.engine.schedulers.SCHEDULERS; None: Ray's FIFO
    callbacks: tuple[str, ...] = ()  # study.engine.logger.CALLBACKS: Ray callbacks besides the loggers
    num_samples: int | None = None  # Ray's: None, each variant once; -1, as many as the searcher proposes
    per_cell: bool = False  # a Tuner per cell, one after the other, each its own Ray experiment
    population: bool = False  # PBT: Ray draws the first configs from the space; a trial learns the rounds
    space: bool = True  # the Tuner has the param space; False: the searcher proposes whole configs
    restart: bool = False  # --resume of a study Ray kept no state of starts it again (else: restored)
    resume_errored: bool = True  # --resume runs again the trials that ended in an error


@dataclass
class Resolved:
    """A study with every default filled in and every trial checked."""

    study: Study  # what study.toml keeps: every setting explicit
    base: Config
    param_space: dict[str, Any]
    grid_axes: list[str]
    axes: list[str]
    n_trials: int
    cells: list[tuple[str, int]] = field(default_factory=list)


class Kind:
    """A kind of study: how it is planned, checked, counted and described. study.json names it
    (``name``); ``study.planning.kinds.KINDS`` holds one of each."""

    name = ""  # study.json's "kind"
    noun = ""  # in messages: "a grid's trials", "... is a search"
    block: str | None = None  # the study document's block it takes: "search", "frontier"; None: neither
    has_seeds = False  # whether the study file's ``seeds = N`` and --seeds apply
    scheduled = True  # a scheduler or searcher may end its trials short of their steps (a grid's run them all)
    seeds_refused = ""  # why --set/--sweep seed is refused
    # The report's sections (study.report): "frontier-table" (its table, frontier.csv and figure, first),
    # "accuracy" (the mean over seeds: the accuracy table, its figures, the steps to the target),
    # "odd-even" (the odd-vs-even contrasts), "search" (the best configs, best.json, importances,
    # Optuna's figures, the Pareto front).
    report: tuple[str, ...] = ("accuracy",)
    shorter = "fewer --lengths"  # how the estimate says its trials get smaller

    # -- planning --

    def check_options(self, given: Sequence[str], where: str) -> None:
        """Refuse the options this kind does not use (never ignore them in silence); ``given``: by their names."""
        foreign = [o for o in FRONTIER_ONLY if o in given]
        if foreign:
            what = f"; {where.removeprefix('--study ')} is a {self.noun} (no [frontier] table)" \
                if from_file(where) else ""
            raise StudyError(f"{foreign[0]}: only with --frontier{what}")

    def change(self, doc: dict[str, Any], ov: Overlay, origin: dict[str, str], sets: Mapping[str, Any],
               sweeps: Mapping[str, Any], where: str) -> None:
        """Its block of the document ``doc`` (``search``, ``frontier``) changed by its options; a grid has none."""

    def check_fixed(self, sets: Mapping[str, Any], sweeps: Mapping[str, Any]) -> None:
        """--set and --sweep of fields this kind chooses itself are refused."""
        if "seed" in sets or "seed" in sweeps:
            option = "--set" if "seed" in sets else "--sweep"
            raise StudyError(f"{option}: {self.seeds_refused}")

    def resolve(self, study: Study, fixed: dict[str, Any], axes: dict[str, list[Any]], fail: Fail,
                origin: Mapping[str, str], where: str) -> Resolved:
        raise NotImplementedError

    def plan_parts(self, study: Study, res: Resolved) -> dict[str, Any]:
        """The StudyPlan fields this kind sets: ``grid``, ``search`` or ``frontier``."""
        raise NotImplementedError

    # -- what runs --

    def configs(self, plan: StudyPlan) -> list[dict[str, Any]]:
        raise ValueError(f"a {self.noun}'s trials are chosen while it runs; see .cells and .trials")

    def cells(self, plan: StudyPlan) -> list[dict[str, Any]]:
        return []

    def trials(self, plan: StudyPlan) -> Any:
        raise NotImplementedError

    # -- its cost (study.planning.estimate) --

    def costly(self, plan: StudyPlan) -> list[list[tuple[dict[str, Any], int]]]:
        """The trials as groups run one after another, each a list of (config, how many trials of
        it); where the study chooses its trials as it runs, at their most costly (``bound``)."""
        return [[(c, 1) for c in self.configs(plan)]]

    def most_at_once(self, plan: StudyPlan) -> int | None:
        """The most trials it can run at once, whatever the machine; None: no limit of its own."""
        return None

    def bound(self, plan: StudyPlan) -> str | None:
        """Why the estimate is an upper bound, where ``costly`` is; None otherwise."""
        return None

    def tuner(self, plan: StudyPlan) -> TunerParts:
        """Its Tuners' parts (a grid's: Ray's variants of the param space, every trial to its end)."""
        return TunerParts()

    # -- for people --

    def count_text(self, plan: StudyPlan) -> str:
        return f"{plan.n_trials} trial{'s' * (plan.n_trials != 1)}"

    def headline(self, plan: StudyPlan, label: str, width: int) -> list[str]:
        raise NotImplementedError

    def body(self, plan: StudyPlan, width: int) -> list[str]:
        """The dry run below its headline, the count last."""
        raise NotImplementedError

    def describe(self, study: Study, res: Resolved, width: int) -> list[str]:
        """--list's lines for a study of this kind, before what it fixes."""
        raise NotImplementedError

    def title(self, meta: Mapping[str, Any], long: bool = False) -> str:
        """What the report calls a study of this kind (``meta``: its study.json; ``long``: with its
        settings, as report.html's facts say it)."""
        return self.name or "?"

    # -- its end --

    def settle(self, folder: Path, trials: pd.DataFrame) -> pd.DataFrame:
        """The trials table of the study in ``folder`` as its end (and its report) writes it (a
        frontier reads why its seeds ended from its search's state); as collected otherwise."""
        return trials

    def status(self, plan: StudyPlan, rows: int, unfinished: int, errors: int) -> tuple[str, int]:
        """The study's status at the end of a run, from its trials table's ``rows`` and their
        ``unfinished`` and ``errors``; and its unfinished trials, those never started included:
        ``complete`` when every planned trial finished, ``interrupted`` when some never started or
        did not end, ``failed`` when one ended in an error (--resume continues the last two)."""
        unfinished += max(0, plan.n_trials - rows)
        return ("interrupted" if unfinished else "failed" if errors else "complete"), unfinished

    def status_line(self, status: str, unfinished: int, errors: int, resume: str) -> str | None:
        """What a study that did not end complete says (``resume``: how to resume it)."""
        if not (unfinished or errors):
            return None
        what = f"{unfinished} trials unfinished" if unfinished else f"{errors} trials failed"
        return f"{status}: {what}. {resume}"


def from_file(where: str) -> bool:
    return where == "study" or where.startswith("--study")


def cell_axes(study: Study, axes: dict[str, list[Any]], defaults: Mapping[str, list[Any]]) -> dict[str, list[Any]]:
    """``axes`` with a model and a length axis: the study's, its fixed value, or ``defaults``."""
    for key in CELL_FIELDS:
        if key not in axes:
            axes[key] = [study.fixed[key]] if key in study.fixed else defaults[key]
    return canonical_axes(axes)


def check_combinations(base: Config, axes: Mapping[str, list[Any]], fail: Fail, **also: Any) -> int:
    """Check the Config of every combination of the axes (``also``: besides); their number."""
    names = list(axes)
    n = 0
    for combo in itertools.product(*axes.values()):
        try:
            base.replace(**dict(zip(names, combo, strict=True)), **also)
        except ValueError as exc:
            raise fail(exc) from None
        n += 1
    return n


def common_lines(common: Mapping[str, Any], width: int) -> list[str]:
    """What every trial of a plan sets beyond the exercise's settings."""
    neutral = Config.from_dict({**BASE, "model": "LSTM"}).to_dict()
    differ = [f"{k}={exact_text(v)}" for k, v in common.items() if k in neutral and v != neutral[k]]
    if not differ:
        return ["every trial: the exercise's settings"]
    return wrap_parts(differ, " ", first="every trial, besides the exercise's settings: ", indent="  ", width=width)


def list_head(study: Study, count: str, width: int) -> list[str]:
    """--list's first line of a study: its name, its count, its description."""
    return wrap_parts(study.description.split(), " ", first=f"{study.name:<10} {count}  ", indent=" " * 11,
                      width=width)


def frame(rows: list[dict[str, Any]], columns: list[str]) -> Any:
    """Rows as a DataFrame; a column holding None (max_norm: no clipping) keeps None, not NaN."""
    import pandas as pd

    df = pd.DataFrame(rows, columns=columns)
    for c in columns:
        if any(r.get(c) is None for r in rows):
            df[c] = pd.Series([r.get(c) for r in rows], dtype=object, index=df.index)
    return df


def first_config(fixed: Mapping[str, Any], axes: Mapping[str, list[Any]], fail: Fail, **also: Any) -> Config:
    """The Config of the first value of every axis: what the other trials' settings replace."""
    try:
        return Config.from_dict({**fixed, **{k: v[0] for k, v in axes.items()}, **also})
    except ValueError as exc:
        raise fail(exc) from None
