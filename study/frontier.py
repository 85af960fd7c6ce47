"""The memory frontier: for each cell, the longest palindrome length T that the model remembers.

A *cell* is a model with its other settings (``{"model": "LSTM", "init": "xavier"}``); a *probe*
is one length T of one cell, run with seeds 0 .. N-1. The solve rule K/N (``--solve-rule``,
default 4/5): a probe **passes** when at least K of its N seeds reach the target held-out accuracy
within the step budget (a seed is solved when its ``steps_to_target`` is not None: palrnn's first
evaluation at or above ``target``), and **fails** otherwise.

Search, per cell (deterministic given the outcomes):

1. Doubling: probe the start length (``--start-length``, default 5), then 2x the longest probe so
   far, capped at ``--max-length`` (5, 10, 20, 40, 80, 100), until a probe fails or
   ``max_length`` passes.
2. Bisection on integers between the longest passed length below the first failure (``lo``) and
   that failure (``hi``): probe (lo + hi) // 2 until hi = lo + 1.

Early decision: a probe's seeds are launched in order 0, 1, ... only while they can still matter
(solved and running seeds together fewer than K); the probe is decided *passed* as soon as K
seeds are solved and *failed* as soon as K can no longer be reached (solved + seeds not yet
finished < K). The outcome is then the one all N seeds would give; its still running seeds are
stopped ("stopped: probe decided") and are not counted in k/n. A seed that finishes anyway after
the decision is counted in k/n (it cannot change the outcome).

Keeping CPUs busy (``speculate``, default 1): ``next_trial`` hands out, in this order, (1) seeds a
probe needs whose outcome no other undecided probe can make moot, (2) the next probe of cells
with no undecided probe, (3) seeds of *speculative* probes and new speculative probes: the probe
the search would make next if every undecided probe of the cell passed (at most ``speculate``
undecided probes below it), (4) spare seeds of undecided probes (beyond K, needed only if a
running one fails). With ``speculate=0`` only (1) and (2): one probe per cell at a time. A
speculative probe above a length that then fails is *moot*: its running seeds are stopped and it
is listed with outcome ``moot`` (k/n of the seeds that finished), never counted. A speculative
probe decided before the failure below it keeps its outcome, listed above the failure.

Non-monotone solve rates (``RULE_TEXT``, printed with every frontier): the frontier is the
longest T that passed with no failed probe at a shorter T; a pass above a failure is listed but
not counted; lengths that were not probed are not known (the search assumes the solve rate falls
with T and probes only the lengths doubling and bisection pick).

``Frontier`` is a pure state machine (no Ray, no clock, no randomness): the Ray driver
(``study.trainable.FrontierSearcher``) and the tests drive it alike. ``frontier_table`` turns it
into ``frontier.csv``; ``plot_frontier`` draws it; ``format_frontier`` prints it. docs/frontier.md
has the options, the outputs and how a study resumes.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from study.stats import wilson_interval

DONE = "DONE"  # next_trial(): every cell's frontier is known
# The Frontier's state in the study folder (to_dict), rewritten on every change. Not a .json file at
# the folder's top: Ray's Tuner.restore copies those to its staging folder and later back over the
# originals, which would put an older state back.
FILE = "frontier/state.json"
CSV = "frontier.csv"
FIGURE = "frontier.png"  # under figures/
VERSION = 1
RULE_TEXT = ("the frontier is the longest T that passed with no failed probe at a shorter T; a pass above a "
             "failure is listed but not counted; lengths not probed are not known (the search assumes the "
             "solve rate falls with T)")

# Seed states
RUNNING, SOLVED, UNSOLVED, STOPPED, ERROR = "running", "solved", "unsolved", "stopped", "error"
# Probe outcomes
PASSED, FAILED, MOOT = "passed", "failed", "moot"


class Trial(NamedTuple):
    """One run the frontier asks for: cell index, length T, seed."""

    cell: int
    length: int
    seed: int


@dataclass(frozen=True)
class FrontierOptions:
    """The frontier's options, checked (``check_frontier_options``)."""

    rule: tuple[int, int] = (4, 5)
    start: int = 5
    max_length: int = 100
    speculate: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"solve_rule": f"{self.rule[0]}/{self.rule[1]}", "start_length": self.start,
                "max_length": self.max_length, "speculate": self.speculate}


# ---- options --------------------------------------------------------------------------------


def parse_solve_rule(text: Any) -> tuple[int, int]:
    """``"4/5"`` -> (4, 5); ValueError "--solve-rule: must be K/N with 1 <= K <= N, got '5/4'"."""
    if isinstance(text, (tuple, list)) and len(text) == 2:
        k, n = text
    else:
        parts = str(text).strip().split("/")
        try:
            if len(parts) != 2:
                raise ValueError
            k, n = int(parts[0]), int(parts[1])
        except ValueError:
            k = n = None
    if not (isinstance(k, int) and isinstance(n, int) and not isinstance(k, bool) and not isinstance(n, bool)
            and 1 <= k <= n):
        shown = f"{text[0]}/{text[1]}" if isinstance(text, (tuple, list)) and len(text) == 2 else text
        raise ValueError(f"--solve-rule: must be K/N with 1 <= K <= N, got {str(shown)!r}")
    return k, n


def _int_option(option: str, value: Any, low: int) -> int:
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        number = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{option}: must be an integer >= {low}, got {str(value)!r}") from None
    if number < low:
        raise ValueError(f"{option}: must be an integer >= {low}, got {number}")
    return number


def check_frontier_options(solve_rule: Any = "4/5", start_length: Any = 5, max_length: Any = 100,
                           speculate: Any = 1) -> FrontierOptions:
    """The CLI's frontier options, strings or numbers, checked: a ValueError naming the option.

    ``--solve-rule K/N`` (1 <= K <= N), ``--start-length`` (>= 2: T = 1 has ten palindromes),
    ``--max-length`` (>= the start length), ``--speculate`` (>= 0)."""
    rule = parse_solve_rule(solve_rule)
    start = _int_option("--start-length", start_length, 2)
    top = _int_option("--max-length", max_length, 2)
    if top < start:
        raise ValueError(f"--max-length: must be >= --start-length ({start}), got {top}")
    spec = _int_option("--speculate", speculate, 0)
    return FrontierOptions(rule=rule, start=start, max_length=top, speculate=spec)


def frontier_cells(param_space: Mapping[str, Any], axes: Sequence[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(base, cells) from a grid's ``param_space`` (field -> value, or list of values for ``axes``).

    Each cell is one combination of the axes' values, with ``model`` always in it (the frontier's
    tables name a cell by its model first); ``length`` and ``seed`` belong to the search and are
    dropped; every other field is in ``base``, shared by every cell."""
    axes = [a for a in axes if a not in ("length", "seed")]
    base = {k: v for k, v in param_space.items() if k not in axes and k not in ("length", "seed")}
    if "model" not in axes:
        from palrnn.config import Config

        axes = ["model", *axes]
        model = base.pop("model", Config().model)
        param_space = {**param_space, "model": model}
    values = [list(v) if isinstance(v := param_space[a], (list, tuple)) else [v] for a in axes]
    return base, [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*values)]


# ---- the state machine ----------------------------------------------------------------------


class _Probe:
    """One length of one cell: its seeds' states and, once known, its outcome."""

    def __init__(self, length: int, order: int) -> None:
        self.length, self.order = length, order
        self.seeds: dict[int, list[Any]] = {}  # seed -> [state, steps_to_target]
        self.outcome: str | None = None

    def count(self, *states: str) -> int:
        return sum(1 for s, _ in self.seeds.values() if s in states)

    @property
    def solved(self) -> int:
        return self.count(SOLVED)

    @property
    def finished(self) -> int:
        return self.count(SOLVED, UNSOLVED, ERROR)

    @property
    def running(self) -> int:
        return self.count(RUNNING)

    def next_seed(self, n: int) -> int | None:
        return next((s for s in range(n) if s not in self.seeds), None)

    def to_dict(self) -> dict[str, Any]:
        return {"length": self.length, "order": self.order, "outcome": self.outcome,
                "seeds": {str(s): {"state": st, "steps_to_target": steps}
                          for s, (st, steps) in sorted(self.seeds.items())}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> _Probe:
        p = cls(int(d["length"]), int(d["order"]))
        p.outcome = d.get("outcome")
        p.seeds = {int(s): [v["state"], v.get("steps_to_target")] for s, v in d["seeds"].items()}
        return p


class Frontier:
    """The frontier search of several cells at once: a pure, deterministic state machine.

    ``next_trial()`` -> a ``Trial`` to launch, None (nothing to launch until a running trial
    ends) or ``DONE``; ``record`` a finished seed, ``stop`` a seed stopped early, ``release`` a
    launched seed that will never report (it is handed out again); ``decided(cell, T)``: nothing
    more to learn from the probe's seeds (outcome known, or moot), so its running seeds can be
    stopped. ``to_dict``/``from_dict`` keep everything, running seeds included, for a resume.
    The module docstring states the search, the early decision, speculation and the rule.
    """

    def __init__(self, cells: Sequence[Mapping[str, Any]], rule: Any = (4, 5), start: int = 5,
                 max_length: int = 100, speculate: int = 1, base: Mapping[str, Any] | None = None) -> None:
        opts = check_frontier_options(rule, start, max_length, speculate)
        self.k, self.n = opts.rule
        self.start, self.max_length, self.speculate = opts.start, opts.max_length, opts.speculate
        self.cells = [dict(c) for c in cells]
        if not self.cells:
            raise ValueError("cells: the frontier needs at least one cell")
        keys = [json.dumps(c, sort_keys=True, default=str) for c in self.cells]
        if len(set(keys)) != len(keys):
            twice = next(c for c, k in zip(self.cells, keys, strict=True) if keys.count(k) > 1)
            raise ValueError(f"cells: the same cell twice: {cell_label(twice)}")
        self.base = dict(base or {})
        self.launched = 0  # trials handed out by next_trial, relaunches of released seeds included
        self._probes: list[dict[int, _Probe]] = [{} for _ in self.cells]
        self._order = 0

    # -- asking ---------------------------------------------------------------------------

    @property
    def rule(self) -> tuple[int, int]:
        return self.k, self.n

    @property
    def options(self) -> FrontierOptions:
        return FrontierOptions((self.k, self.n), self.start, self.max_length, self.speculate)

    def config(self, trial: Trial) -> dict[str, Any]:
        """The palrnn config of a trial: base, the cell's settings, its length and seed."""
        return {**self.base, **self.cells[trial.cell], "length": int(trial.length), "seed": int(trial.seed)}

    def trial_of(self, config: Mapping[str, Any]) -> Trial | None:
        """The trial a config belongs to (the cell whose settings it has), or None."""
        try:
            length, seed = int(config["length"]), int(config["seed"])
        except (KeyError, TypeError, ValueError):
            return None
        for i, cell in enumerate(self.cells):
            if all(_same(config.get(k), v) for k, v in cell.items()):
                return Trial(i, length, seed)
        return None

    def decided(self, cell: int, length: int) -> bool:
        """True when the probe's running seeds can be stopped: its outcome is known or it is moot
        (False for a probe this state does not know: its result is wanted)."""
        p = self._probes[cell].get(int(length))
        return p is not None and p.outcome is not None

    def outcome(self, cell: int, length: int) -> str | None:
        p = self._probes[cell].get(int(length))
        return None if p is None else p.outcome

    def seed_state(self, trial: Trial) -> str | None:
        p = self._probes[trial.cell].get(int(trial.length))
        entry = None if p is None else p.seeds.get(int(trial.seed))
        return None if entry is None else entry[0]

    def ended(self) -> list[Trial]:
        """Every seed whose trial ran to its end, solved or not (not an errored one), in the order
        its probe was launched."""
        return [Trial(c, p.length, s) for c, probes in enumerate(self._probes)
                for p in sorted(probes.values(), key=lambda p: p.order)
                for s, (state, _) in sorted(p.seeds.items()) if state in (SOLVED, UNSOLVED)]

    def running(self) -> list[Trial]:
        return [Trial(c, p.length, s) for c, probes in enumerate(self._probes) for p in probes.values()
                for s, (st, _) in sorted(p.seeds.items()) if st == RUNNING]

    def probes(self, cell: int) -> list[int]:
        """The probed lengths of a cell, in the order they were probed."""
        return [p.length for p in sorted(self._probes[cell].values(), key=lambda p: p.order)]

    def frontier(self, cell: int) -> tuple[int | None, int | None]:
        """(longest_solved, first_failed) under the rule (RULE_TEXT); None where there is none (yet)."""
        probes = self._probes[cell]
        failed = [t for t, p in probes.items() if p.outcome == FAILED]
        hi = min(failed) if failed else None
        passed = [t for t, p in probes.items() if p.outcome == PASSED and (hi is None or t < hi)]
        return (max(passed) if passed else None), hi

    def cell_done(self, cell: int) -> bool:
        probes = self._probes[cell]
        return bool(probes) and not self._undecided(cell) and self._next_length(cell, assume_pass=False) is None

    @property
    def done(self) -> bool:
        return all(self.cell_done(c) for c in range(len(self.cells)))

    def progress(self) -> tuple[int, int]:
        """(seeds that ended: finished or stopped, trials launched): both only grow as a search goes
        on, so of two saved states of one search the one with the larger progress is the later."""
        ended = sum(p.count(SOLVED, UNSOLVED, ERROR, STOPPED) for probes in self._probes for p in probes.values())
        return ended, self.launched

    def same_search(self, other: Frontier) -> bool:
        """Whether ``other`` is a state of the same search (cells, rule, lengths, base)."""
        keys = ("rule", "start", "max_length", "base", "cells")
        mine, theirs = self.to_dict(), other.to_dict()
        return all(json.dumps(mine[k], sort_keys=True, default=str) == json.dumps(theirs[k], sort_keys=True,
                                                                                   default=str) for k in keys)

    # -- the search -----------------------------------------------------------------------

    def next_trial(self) -> Trial | str | None:
        """The next trial to launch (and mark it running), None to wait, or DONE (see the class)."""
        if self.done:
            return DONE
        cells = range(len(self.cells))
        for c in cells:  # (1) seeds needed by probes that nothing undecided below can make moot
            for p in self._undecided(c):
                if not self._speculative(c, p) and self._needs_seed(p):
                    return self._launch(c, p)
        for c in cells:  # (2) the next probe of a cell with no undecided probe
            if self._probes[c] and self._undecided(c):
                continue
            length = self._next_length(c, assume_pass=False)
            if length is not None:
                return self._launch(c, self._new_probe(c, length))
        if self.speculate:
            for c in cells:  # (3) speculative probes' needed seeds, then a new speculative probe
                undecided = self._undecided(c)
                for p in undecided:
                    if self._speculative(c, p) and self._needs_seed(p):
                        return self._launch(c, p)
                if 0 < len(undecided) <= self.speculate:
                    length = self._next_length(c, assume_pass=True)
                    if length is not None:
                        return self._launch(c, self._new_probe(c, length))
            for c in cells:  # (4) spare seeds: needed only if a running seed fails
                for p in self._undecided(c):
                    if p.next_seed(self.n) is not None:
                        return self._launch(c, p)
        return None

    def _undecided(self, cell: int) -> list[_Probe]:
        return sorted((p for p in self._probes[cell].values() if p.outcome is None), key=lambda p: p.length)

    def _speculative(self, cell: int, probe: _Probe) -> bool:
        # Its use depends on an undecided probe below it (which, failing, would make it moot).
        return any(p.outcome is None and p.length < probe.length for p in self._probes[cell].values())

    def _needs_seed(self, p: _Probe) -> bool:
        return p.next_seed(self.n) is not None and p.solved + p.running < self.k

    def _next_length(self, cell: int, assume_pass: bool) -> int | None:
        """The length the search probes next; with ``assume_pass``, as if every undecided probe passed."""
        probes = self._probes[cell]
        if not probes:
            return self.start
        passed = {t for t, p in probes.items() if p.outcome == PASSED or (assume_pass and p.outcome is None)}
        failed = [t for t, p in probes.items() if p.outcome == FAILED]
        if not failed:  # doubling
            if not passed:
                return None
            top = max(passed)
            if top >= self.max_length:
                return None
            length = min(2 * top, self.max_length)
        else:  # bisection between the longest pass below the first failure and that failure
            hi = min(failed)
            lo = max((t for t in passed if t < hi), default=self.start - 1)
            if hi - lo <= 1:
                return None
            length = (lo + hi) // 2
        return None if length in probes else length

    def _new_probe(self, cell: int, length: int) -> _Probe:
        p = _Probe(length, self._order)
        self._order += 1
        self._probes[cell][length] = p
        return p

    def _launch(self, cell: int, p: _Probe) -> Trial:
        seed = p.next_seed(self.n)
        assert seed is not None
        p.seeds[seed] = [RUNNING, None]
        self.launched += 1
        return Trial(cell, p.length, seed)

    # -- telling --------------------------------------------------------------------------

    def record(self, cell: int, length: int, seed: int, solved: bool, steps_to_target: int | None = None,
               error: bool = False) -> bool:
        """A seed finished: solved (reached the target within its budget) or not; ``error``: the
        trial failed for good (counted as not solved, listed in ``errors``). Returns False when the
        seed was already finished (a duplicate report), True when it was recorded."""
        p = self._probe(cell, length)
        entry = p.seeds.get(int(seed))
        if entry is not None and entry[0] in (SOLVED, UNSOLVED, ERROR):
            return False
        state = ERROR if error else SOLVED if solved else UNSOLVED
        p.seeds[int(seed)] = [state, None if steps_to_target is None else int(steps_to_target)]
        self._update(cell)
        return True

    def stop(self, cell: int, length: int, seed: int) -> None:
        """A running seed stopped before it finished (its probe decided or moot): not counted. A
        seed of a probe still undecided (stopped for another reason) is released: launched again."""
        p = self._probes[int(cell)].get(int(length))
        entry = None if p is None else p.seeds.get(int(seed))
        if p is not None and entry is not None and entry[0] == RUNNING:
            if p.outcome is None:
                del p.seeds[int(seed)]
            else:
                entry[0] = STOPPED

    def adopt(self, cell: int, length: int, seed: int) -> bool:
        """A running trial this state did not hand out (a resumed driver whose state is older than
        its trials): mark its seed running, so that it is not launched twice. False when the seed
        is already launched or finished."""
        p = self._probe(cell, length)
        if int(seed) in p.seeds:
            return False
        p.seeds[int(seed)] = [RUNNING, None]
        return True

    def release(self, cell: int, length: int, seed: int) -> None:
        """A launched seed that will never report (its trial was lost): launch it again later."""
        p = self._probes[cell].get(int(length))
        if p is not None and p.seeds.get(int(seed), [None])[0] == RUNNING:
            del p.seeds[int(seed)]

    def _probe(self, cell: int, length: int) -> _Probe:
        if not 0 <= int(cell) < len(self.cells):
            raise ValueError(f"cell: no cell {cell}")
        probes = self._probes[int(cell)]
        if int(length) not in probes:  # a result of a probe this state never made (an older state)
            probes[int(length)] = _Probe(int(length), self._order)
            self._order += 1
        return probes[int(length)]

    def _update(self, cell: int) -> None:
        probes = self._probes[cell]
        for p in probes.values():
            if p.outcome is None:
                if p.solved >= self.k:
                    p.outcome = PASSED
                elif p.solved + (self.n - p.finished) < self.k:
                    p.outcome = FAILED
        failed = [t for t, p in probes.items() if p.outcome == FAILED]
        if failed:
            for t, p in probes.items():
                if p.outcome is None and t > min(failed):
                    p.outcome = MOOT

    # -- keeping ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {"version": VERSION, "rule": [self.k, self.n], "start": self.start, "max_length": self.max_length,
                "speculate": self.speculate, "base": self.base, "cells": self.cells, "launched": self.launched,
                "settings": list(dict.fromkeys(k for c in self.cells for k in c)),  # the cells' key order
                "rule_text": RULE_TEXT,
                "probes": [[p.to_dict() for p in sorted(probes.values(), key=lambda p: p.order)]
                           for probes in self._probes]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Frontier:
        if d.get("version") != VERSION:
            raise ValueError(f"frontier state: version {d.get('version')!r}, this code reads {VERSION}")
        order = {k: i for i, k in enumerate(d.get("settings") or [])}  # JSON written with sorted keys
        cells = [dict(sorted(c.items(), key=lambda kv: order.get(kv[0], len(order)))) for c in d["cells"]]
        f = cls(cells, rule=tuple(d["rule"]), start=d["start"], max_length=d["max_length"],
                speculate=d.get("speculate", 1), base=d.get("base"))
        f.launched = int(d.get("launched", 0))
        for c, probes in enumerate(d["probes"]):
            for pd_ in probes:
                p = _Probe.from_dict(pd_)
                f._probes[c][p.length] = p
                f._order = max(f._order, p.order + 1)
        return f

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``to_dict()`` as JSON, atomically (the folder is made when missing)."""
        from study.io import write_json_atomic

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, self.to_dict())

    # -- reading --------------------------------------------------------------------------

    def label(self, cell: int) -> str:
        return cell_label(self.cells[cell])


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    except (TypeError, ValueError):
        return str(a) == str(b)


def _text(v: Any) -> str:
    if isinstance(v, float):
        return "none" if math.isnan(v) else f"{v:g}"
    return "none" if v is None else str(v)


def cell_label(cell: Mapping[str, Any]) -> str:
    """``LSTM init=xavier forget_bias=1``: the model, then every other setting as name=value."""
    parts = [_text(cell["model"])] if "model" in cell else []
    return " ".join(parts + [f"{k}={_text(v)}" for k, v in cell.items() if k != "model"])


def load_frontier(folder: str | os.PathLike[str]) -> Frontier | None:
    """The Frontier a study folder holds (``FILE``, frontier/state.json), or None when there is none."""
    path = Path(folder) / FILE
    if not path.is_file():
        return None
    return Frontier.from_dict(json.loads(path.read_text()))


# ---- outputs --------------------------------------------------------------------------------

TABLE_COLUMNS = ["cell", "length", "outcome", "k", "n", "solved_rate", "solved_low", "solved_high",
                 "steps_to_target_median", "launched", "stopped", "errors", "counted", "probe_order",
                 "longest_solved", "first_failed", "done", "rule", "target", "steps"]


def frontier_table(frontier: Frontier | str | os.PathLike[str]) -> pd.DataFrame:
    """frontier.csv: one row per cell and probed length, cells in their order, lengths ascending.

    ``frontier``: a Frontier, or a study folder (its frontier/state.json; FileNotFoundError when
    it has none).

    Columns: the cell's settings (model and every field that varies between cells), ``cell`` (its
    label), ``length`` (T), ``outcome`` (passed, failed, moot, running: undecided yet, or "not probed"), ``k``
    (seeds solved) of ``n`` (seeds finished: a probe stops once decided), ``solved_rate`` = k/n
    with its 95% Wilson interval ``solved_low``/``solved_high``, ``steps_to_target_median`` (of the
    solved seeds), ``launched`` (seeds started), ``stopped`` (stopped once the probe was decided or
    moot, not counted), ``errors`` (trials that failed for good, counted as not solved),
    ``counted`` (the probe is below the first failure, or is that failure: what the rule uses),
    ``probe_order`` (0 = probed first), and per cell ``longest_solved``, ``first_failed`` (empty:
    none), ``done`` (the cell's search is over), ``rule`` (K/N), ``target``, ``steps``. A cell not
    probed yet has one row with an empty length."""
    from palrnn.config import Config

    if not isinstance(frontier, Frontier):
        folder, frontier = frontier, load_frontier(frontier)
        if frontier is None:
            raise FileNotFoundError(f"{Path(folder) / FILE}: no frontier in this folder")
    defaults = Config()
    settings = list(dict.fromkeys(k for c in frontier.cells for k in c))
    rows = []
    for c, cell in enumerate(frontier.cells):
        cfg = {**frontier.base, **cell}
        longest, first = frontier.frontier(c)
        common = {**{k: cell.get(k) for k in settings}, "cell": cell_label(cell)}
        tail = {"longest_solved": longest, "first_failed": first, "done": frontier.cell_done(c),
                "rule": f"{frontier.k}/{frontier.n}", "target": cfg.get("target", defaults.target),
                "steps": cfg.get("steps", defaults.steps)}
        probes = sorted(frontier._probes[c].values(), key=lambda p: p.length)
        if not probes:
            rows.append({**common, **{k: None for k in TABLE_COLUMNS[1:14]}, "outcome": "not probed", **tail})
        for p in probes:
            k, n = p.solved, p.finished
            low, high = wilson_interval(k, n)
            steps = [s for st, s in p.seeds.values() if st == SOLVED and s is not None]
            rows.append({**common, "length": p.length, "outcome": p.outcome or "running", "k": k, "n": n,
                         "solved_rate": k / n if n else math.nan, "solved_low": low, "solved_high": high,
                         "steps_to_target_median": statistics.median(steps) if steps else math.nan,
                         "launched": len(p.seeds), "stopped": p.count(STOPPED), "errors": p.count(ERROR),
                         "counted": p.outcome in (PASSED, FAILED) and (first is None or p.length <= first),
                         "probe_order": p.order, **tail})
    table = pd.DataFrame(rows, columns=[*settings, *TABLE_COLUMNS])
    for col in ["length", "k", "n", "launched", "stopped", "errors", "probe_order", "longest_solved",
                "first_failed"]:
        table[col] = pd.array(table[col].tolist(), dtype="Int64")
    return table


def _cells(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    return [(str(label), rows) for label, rows in table.groupby("cell", sort=False)]


def _int_or_none(v: Any) -> int | None:
    return None if v is None or pd.isna(v) else int(v)


def format_frontier(table: pd.DataFrame) -> str:
    """The printed frontier: one line per cell, then the rule.

        LSTM init=xavier  longest T remembered: 40  (first failure: 80; rule 4/5)
    """
    if table.empty:
        return "memory frontier: no cell"
    cells = _cells(table)
    width = max(len(label) for label, _ in cells)
    first = table.iloc[0]
    lines = [f"memory frontier: the longest T at which >= {first['rule']} seeds reach held-out accuracy "
             f"{_text(first['target'])} within {_steps_text(table)} steps"]
    for label, rows in cells:
        lines.append(f"{label:<{width}}  {cell_frontier_text(rows)}")
    lines.append(f"rule: {RULE_TEXT}")
    return "\n".join(lines)


def cell_frontier_text(rows: pd.DataFrame) -> str:
    """One cell's frontier as ``format_frontier`` prints it, from its rows of ``frontier_table``:
    ``longest T remembered: 40  (first failure: 80; rule 4/5)``."""
    r = rows.iloc[0]
    longest, failed = _int_or_none(r["longest_solved"]), _int_or_none(r["first_failed"])
    top = int(rows["length"].max()) if rows["length"].notna().any() else None
    if not bool(r["done"]):
        probed = ", ".join(f"{int(x.length)}: {x.outcome}" for x in rows.itertuples() if pd.notna(x.length))
        what = f"search unfinished ({probed or 'nothing probed'})"
    elif longest is None:
        what = f"none  (fails at the start length {failed}; rule {r['rule']})"
    elif failed is None:
        what = f">= {longest}  (no failure up to the max length {top}; rule {r['rule']})"
    else:
        what = f"{longest}  (first failure: {failed}; rule {r['rule']})"
    if bool(r["done"]):
        what = "longest T remembered: " + what
    above = rows[(rows["outcome"] == PASSED) & ~rows["counted"].astype(bool)]
    if len(above):
        what += f"; passed above the failure, not counted: {', '.join(str(int(t)) for t in above['length'])}"
    return what


def _steps_text(table: pd.DataFrame) -> str:
    steps = sorted({int(s) for s in table["steps"].dropna()})
    return "/".join(f"{s:,}" for s in steps) or "?"


def plot_frontier(table: pd.DataFrame, ax: Any = None) -> Any:
    """Solve rate k/n against T per cell, 95% Wilson error bars; the frontier (longest_solved) a
    star and a dotted vertical line in the cell's colour; the rule's threshold K/N dashed.

    Filled markers: passed; open: failed; grey x: moot. Returns the Axes (a new
    ``matplotlib.figure.Figure``'s when ``ax`` is None: no pyplot state)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    if ax is None:
        ax = Figure(figsize=(7.5, 4.5)).add_subplot()
    probed = table[table["length"].notna()]
    cells = _cells(table)
    cmap = colormaps["tab10"]
    lengths = sorted({int(t) for t in probed["length"]})
    for i, (label, rows) in enumerate(cells):
        color = cmap(i % 10)
        style = "--" if "model" in rows and str(rows["model"].iloc[0]) == "RNN" else "-"
        rows = rows[rows["length"].notna()].sort_values("length")
        if not len(rows):
            ax.plot([], [], style, color=color, label=f"{label} (not probed)")
            continue
        # A small multiplicative dodge so that cells probed at the same T do not hide each other.
        dodge = 1 + 0.012 * (i - (len(cells) - 1) / 2)
        x = rows["length"].astype(float).to_numpy() * dodge
        y = rows["solved_rate"].astype(float).to_numpy()
        counted = rows["counted"].astype(bool).to_numpy()
        ax.plot(x[counted], y[counted], style, color=color, lw=1.2, label=label)
        err = [y - rows["solved_low"].astype(float).to_numpy(), rows["solved_high"].astype(float).to_numpy() - y]
        ax.errorbar(x, y, yerr=[[max(e, 0) for e in err[0]], [max(e, 0) for e in err[1]]], fmt="none",
                    ecolor=color, elinewidth=0.8, capsize=2, alpha=0.7)
        for xi, yi, outcome in zip(x, y, rows["outcome"], strict=True):
            if outcome == MOOT:
                ax.plot(xi, 0 if math.isnan(yi) else yi, "x", color="0.5", ms=6)
            else:
                ax.plot(xi, yi, "o", color=color, ms=6, mfc=color if outcome == PASSED else "white")
        longest = _int_or_none(rows["longest_solved"].iloc[0])
        if longest is not None:
            at = rows[rows["length"] == longest]
            ax.axvline(longest * dodge, color=color, ls=":", lw=1)
            ax.plot(longest * dodge, float(at["solved_rate"].iloc[0]), "*", color=color, ms=14, mec="black",
                    mew=0.6, zorder=5)
    first = table.iloc[0]
    k, n = (int(v) for v in str(first["rule"]).split("/"))
    ax.axhline(k / n, color="0.4", ls="--", lw=0.8)
    ax.set_xscale("log", base=2)
    if lengths:
        ticks = [lengths[0]]
        for t in lengths[1:]:  # labels that would overlap on the log axis are left out
            if math.log2(t) - math.log2(ticks[-1]) >= 0.22:
                ticks.append(t)
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlim(lengths[0] / 1.15, lengths[-1] * 1.15)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("Palindrome length T")
    ax.set_ylabel("Seeds solved, k/n (95% Wilson)")
    ax.set_title(f"Memory frontier: \u2265 {first['rule']} seeds reach {_text(first['target'])} within "
                 f"{_steps_text(table)} steps", fontsize=10)
    from matplotlib.lines import Line2D

    keys = [Line2D([], [], ls="", marker="o", color="0.3", label="passed"),
            Line2D([], [], ls="", marker="o", color="0.3", mfc="white", label="failed"),
            Line2D([], [], ls="", marker="x", color="0.5", label="moot (above a failure)"),
            Line2D([], [], ls="", marker="*", color="0.3", mec="black", ms=12, label="frontier (longest T)"),
            Line2D([], [], ls="--", color="0.4", lw=0.8, label=f"rule {k}/{n}")]
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=[*handles, *keys], fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False)
    return ax


def write_frontier(folder: str | os.PathLike[str], frontier: Frontier | None = None, echo: bool = True,
                   figure: bool = True) -> pd.DataFrame:
    """Write ``frontier.csv`` and ``figures/frontier.png`` into a study folder (from ``frontier``,
    else the folder's frontier/state.json), print the table when ``echo``; returns the table."""
    from study.io import write_bytes_atomic, write_csv_atomic

    folder = Path(folder)
    frontier = frontier or load_frontier(folder)
    if frontier is None:
        raise FileNotFoundError(f"{folder / FILE}: no frontier in this folder")
    table = frontier_table(frontier)
    write_csv_atomic(folder / CSV, table)
    if figure:
        ax = plot_frontier(table)
        buf = io.BytesIO()
        ax.get_figure(root=True).savefig(buf, format="png", dpi=110, bbox_inches="tight")
        (folder / "figures").mkdir(exist_ok=True)
        write_bytes_atomic(folder / "figures" / FIGURE, buf.getvalue())
    if echo:
        print(format_frontier(table))
    return table
