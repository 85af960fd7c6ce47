"""What every kind of study shares, and what each does its own way (``Kind``)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from palrnn.config import Config
from study.basics.errors import StudyError
from study.basics.text import WIDTH, exact_text, wrap_parts
from study.planning.overlay import FRONTIER_ONLY, Overlay, checked
from study.spec.fields import BASE, CELL_FIELDS, canonical_axes
from study.spec.studyfile import Study

if TYPE_CHECKING:
    import pandas as pd

Fail = Callable[[ValueError], StudyError]  # a Config's ValueError as the option or file that set its field
StudyPlan = Any  # a study.planning.plan.StudyPlan, which imports the kinds: no import goes back up


@dataclass(frozen=True)
class TunerParts:
    """How a kind's study runs on Ray, by the names in the engine's registries (planning imports no engine)."""

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
    """A kind of study: how it is planned, checked, counted and described (``KINDS`` holds one of each)."""

    name = ""  # study.json's "kind"
    noun = ""  # in messages: "a grid's trials", "... is a search"
    block: str | None = None  # the study document's block it takes: "search", "frontier"; None: neither
    has_seeds = False  # whether the study file's ``seeds = N`` and --seeds apply
    scheduled = True  # a scheduler or searcher may end its trials short of their steps (a grid's run them all)
    refused: dict[str, str] = {}  # the fields this kind chooses itself: why --set or --sweep of each is refused
    # The report's sections: "frontier-table" (frontier.csv, its figure), "accuracy" (the mean over seeds),
    # "odd-even" (the odd-vs-even contrasts), "search" (best.json, importances, Optuna's figures, Pareto front).
    report: tuple[str, ...] = ("accuracy",)
    shorter = "fewer --lengths"  # how the estimate says its trials get smaller

    def check_options(self, given: Sequence[str], where: str) -> None:
        """Refuse the options this kind does not use (never ignore them in silence)."""
        if foreign := [o for o in FRONTIER_ONLY if o in given]:
            what = f"; {where.removeprefix('--study ')} is a {self.noun} (no [frontier] table)" \
                if where.startswith(("study", "--study")) else ""  # a study file's
            raise StudyError(f"{foreign[0]}: only with --frontier{what}")

    def change(self, doc: dict[str, Any], ov: Overlay, origin: dict[str, str], sets: Mapping[str, Any],
               sweeps: Mapping[str, Any], where: str) -> None:
        """Its block of the document ``doc`` (``search``, ``frontier``) changed by its options."""

    def check_fixed(self, sets: Mapping[str, Any], sweeps: Mapping[str, Any]) -> None:
        for key, why in self.refused.items():
            if key in sets or key in sweeps:
                raise StudyError(f"{'--set' if key in sets else '--sweep'}: {why}")

    def resolve(self, study: Study, fixed: dict[str, Any], axes: dict[str, list[Any]], fail: Fail,
                origin: Mapping[str, str], where: str) -> Resolved:
        raise NotImplementedError

    def plan_parts(self, study: Study, res: Resolved) -> dict[str, Any]:
        """The StudyPlan fields this kind sets: ``grid``, ``search`` or ``frontier``."""
        raise NotImplementedError

    def configs(self, plan: StudyPlan) -> list[dict[str, Any]]:
        raise ValueError(f"a {self.noun}'s trials are chosen while it runs; see .cells and .trials")

    def cells(self, plan: StudyPlan) -> list[dict[str, Any]]:
        return []

    def trials(self, plan: StudyPlan) -> Any:
        raise NotImplementedError

    def costly(self, plan: StudyPlan) -> list[list[tuple[dict[str, Any], int]]]:
        """The trials as groups run one after another, each [(config, how many)], at their most costly."""
        return [[(c, 1) for c in self.configs(plan)]]

    def most_at_once(self, plan: StudyPlan) -> int | None:
        return None

    def bound(self, plan: StudyPlan) -> str | None:
        return None

    def tuner(self, plan: StudyPlan) -> TunerParts:
        return TunerParts()

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
        """What the report calls a study of this kind (``long``: with its settings, for report.html)."""
        return self.name or "?"

    def settle(self, folder: Path, trials: pd.DataFrame) -> pd.DataFrame:
        """The trials table as the study's end and report write it (a frontier's from its search's state)."""
        return trials

    def status(self, plan: StudyPlan, rows: int, unfinished: int, errors: int) -> tuple[str, int]:
        """The status at a run's end (complete, interrupted, failed) and its unfinished trials, unstarted included."""
        unfinished += max(0, plan.n_trials - rows)
        return ("interrupted" if unfinished else "failed" if errors else "complete"), unfinished

    def status_line(self, status: str, unfinished: int, errors: int, resume: str) -> str | None:
        if not (unfinished or errors):
            return None
        what = f"{unfinished} trials unfinished" if unfinished else f"{errors} trials failed"
        return f"{status}: {what}. {resume}"


def cell_axes(study: Study, axes: dict[str, list[Any]], defaults: Mapping[str, list[Any]]) -> dict[str, list[Any]]:
    for key in CELL_FIELDS:
        if key not in axes:
            axes[key] = [study.fixed[key]] if key in study.fixed else defaults[key]
    return canonical_axes(axes)


def check_combinations(base: Config, axes: Mapping[str, list[Any]], fail: Fail, **also: Any) -> int:
    """Check the Config of every combination of the axes; their number."""
    names = list(axes)
    n = 0
    for combo in itertools.product(*axes.values()):
        checked(fail, base.replace, **dict(zip(names, combo, strict=True)), **also)
        n += 1
    return n


def common_lines(common: Mapping[str, Any], width: int) -> list[str]:
    """What every trial of a plan sets beyond the exercise's settings."""
    neutral = Config.from_dict({**BASE, "model": "LSTM"}).to_dict()
    if not (differ := [f"{k}={exact_text(v)}" for k, v in common.items() if k in neutral and v != neutral[k]]):
        return ["every trial: the exercise's settings"]
    return wrap_parts(differ, " ", first="every trial, besides the exercise's settings: ", indent="  ", width=width)


def list_head(study: Study, count: str, width: int) -> list[str]:
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
    return checked(fail, Config.from_dict, {**fixed, **{k: v[0] for k, v in axes.items()}, **also})


def para(text: str, width: int = WIDTH) -> list[str]:
    return wrap_parts(text.split(), " ", first="", indent="  ", width=width)
