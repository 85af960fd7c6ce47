"""The frontier as a table (frontier.csv), as text, and written to a study folder."""

from __future__ import annotations

import json
import math
import os
import statistics
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.layout import FRONTIER_CSV, FRONTIER_FIGURE, FRONTIER_STATE
from study.basics.stats import wilson_interval
from study.basics.text import value_text
from study.frontier.options import RULE_TEXT, cell_label
from study.frontier.probe import ERROR, FAILED, PASSED, RUNNING, SOLVED, STOPPED
from study.frontier.search import Frontier

# The Frontier's state in the study folder (to_dict), rewritten on every change. Not a .json file at
# the folder's top: Ray's Tuner.restore copies those to its staging folder and later back over the
# originals, which would put an older state back.
FILE = FRONTIER_STATE
CSV = FRONTIER_CSV
FIGURE = FRONTIER_FIGURE


def load_frontier(folder: str | os.PathLike[str]) -> Frontier | None:
    """The Frontier a study folder holds (``FILE``, frontier/state.json), or None when there is none."""
    path = Path(folder) / FILE
    if not path.is_file():
        return None
    return Frontier.from_dict(json.loads(path.read_text()))


def running_rows(frontier: Frontier, trials: pd.DataFrame) -> pd.Series:
    """Per row of a frontier's trials table, whether its seed is still running in ``frontier``
    (its cell told by the row's settings, ``Frontier.trial_of``)."""
    def running(row: dict[str, Any]) -> bool:
        trial = frontier.trial_of(row)
        return trial is not None and frontier.seed_state(trial) == RUNNING

    return pd.Series([running(row) for row in trials.to_dict("records")], index=trials.index, dtype=bool)


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
             f"{value_text(first['target'], 6)} within {_steps_text(table)} steps"]
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

