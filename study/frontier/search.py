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
(``study.engine.search.frontier.FrontierSearcher``) and the tests drive it alike. ``frontier_table`` turns it
into ``frontier.csv``; ``plot_frontier`` draws it; ``format_frontier`` prints it. docs/frontier.md
has the options, the outputs and how a study resumes.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from study.frontier.options import RULE_TEXT, FrontierOptions, cell_label, check_frontier_options
from study.frontier.probe import ERROR, FAILED, MOOT, PASSED, RUNNING, SOLVED, STOPPED, UNSOLVED, Probe, Trial

DONE = "DONE"  # next_trial(): every cell's frontier is known
VERSION = 1


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
        self._probes: list[dict[int, Probe]] = [{} for _ in self.cells]
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

    def stopped(self) -> list[Trial]:
        """Every seed whose trial was stopped before its end because its probe was decided or moot
        (not counted), in the order its probe was launched."""
        return [Trial(c, p.length, s) for c, probes in enumerate(self._probes)
                for p in sorted(probes.values(), key=lambda p: p.order)
                for s, (state, _) in sorted(p.seeds.items()) if state == STOPPED]

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

    def _undecided(self, cell: int) -> list[Probe]:
        return sorted((p for p in self._probes[cell].values() if p.outcome is None), key=lambda p: p.length)

    def _speculative(self, cell: int, probe: Probe) -> bool:
        # Its use depends on an undecided probe below it (which, failing, would make it moot).
        return any(p.outcome is None and p.length < probe.length for p in self._probes[cell].values())

    def _needs_seed(self, p: Probe) -> bool:
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

    def _new_probe(self, cell: int, length: int) -> Probe:
        p = Probe(length, self._order)
        self._order += 1
        self._probes[cell][length] = p
        return p

    def _launch(self, cell: int, p: Probe) -> Trial:
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

    def _probe(self, cell: int, length: int) -> Probe:
        if not 0 <= int(cell) < len(self.cells):
            raise ValueError(f"cell: no cell {cell}")
        probes = self._probes[int(cell)]
        if int(length) not in probes:  # a result of a probe this state never made (an older state)
            probes[int(length)] = Probe(int(length), self._order)
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
                p = Probe.from_dict(pd_)
                f._probes[c][p.length] = p
                f._order = max(f._order, p.order + 1)
        return f

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``to_dict()`` as JSON, atomically (the folder is made when missing)."""
        from study.basics.io import write_json_atomic

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


def frontier_doubling(options: Any) -> list[int]:
    """The lengths a frontier probes while they pass: the start, doubled, capped at the max length."""
    lengths = [options.start]
    while lengths[-1] < options.max_length:
        lengths.append(min(2 * lengths[-1], options.max_length))
    return lengths
