"""The frontier as a table (frontier.csv), as text, and written to a study folder."""

from __future__ import annotations

import json
import math
import os
import statistics
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.layout import FRONTIER_CSV, FRONTIER_FIGURE, FRONTIER_STATE, TRIALS
from study.basics.stats import wilson_interval
from study.basics.text import value_text
from study.frontier.fit import FLAT, NOTES, QUASI, SEPARATED, Crossing, calibrated_cutoff, fit_crossing
from study.frontier.options import RULE_TEXT, cell_label
from study.frontier.probe import ERROR, FAILED, PASSED, RUNNING, SOLVED, STOPPED, UNSOLVED, Probe, Trial
from study.frontier.search import Frontier

FILE = FRONTIER_STATE  # the Frontier's state (to_dict), rewritten on every change
CSV = FRONTIER_CSV
FIGURE = FRONTIER_FIGURE


def load_frontier(folder: str | os.PathLike[str]) -> Frontier | None:
    """The Frontier a study folder holds (``FILE``), or None when there is none."""
    path = Path(folder) / FILE
    return Frontier.from_dict(json.loads(path.read_text())) if path.is_file() else None


def running_rows(frontier: Frontier, trials: pd.DataFrame) -> pd.Series:
    """Per row of a frontier's trials table, whether its seed is still running in ``frontier``."""
    trials_of = [frontier.trial_of(row) for row in trials.to_dict("records")]
    return pd.Series([t is not None and frontier.seed_state(t) == RUNNING for t in trials_of], index=trials.index,
                     dtype=bool)


PROBE_COLUMNS = ["length", "outcome", "k", "n", "held", "solved_rate", "solved_low", "solved_high",
                 "steps_to_target_median", "launched", "stopped", "errors", "counted", "probe_order"]
FIT_COLUMNS = ["fitted_length", "fitted_low", "fitted_high", "fitted_note"]
TABLE_COLUMNS = ["cell", *PROBE_COLUMNS, "longest_solved", "first_failed", *FIT_COLUMNS, "done", "rule", "target",
                 "steps"]
FIT_DIGITS = 4  # significant digits of fitted_*: what the fit can tell, and the same on every CPU


def frontier_table(frontier: Frontier | str | os.PathLike[str], trials: pd.DataFrame | None = None) -> pd.DataFrame:
    """frontier.csv (docs/frontier.md): a row per cell and probed length (a cell not probed yet: one, its length
    empty), of a Frontier or a study folder (its state, FileNotFoundError when none, and trials.csv when ``trials``
    is None). ``trials``, the study's trials table, gives ``held`` (None: ``held`` is missing)."""
    from palrnn.config import Config

    if not isinstance(frontier, Frontier):
        folder, frontier = Path(frontier), load_frontier(frontier)
        if frontier is None:
            raise FileNotFoundError(f"{folder / FILE}: no frontier in this folder")
        if trials is None and (folder / TRIALS).is_file():
            trials = pd.read_csv(folder / TRIALS)
    defaults = Config()
    settings = list(dict.fromkeys(k for c in frontier.cells for k in c))
    final = None if trials is None else final_accuracy(frontier, trials)
    rows = []
    for c, cell in enumerate(frontier.cells):
        cfg = {**frontier.base, **cell}
        longest, first = frontier.frontier(c)
        crossing = cell_crossing(frontier, c)
        common = {**{k: cell.get(k) for k in settings}, "cell": cell_label(cell)}
        target = cfg.get("target", defaults.target)
        tail = {"longest_solved": longest, "first_failed": first,
                **dict(zip(FIT_COLUMNS, [*(_rounded(v) for v in (crossing.length, crossing.low, crossing.high)),
                                         crossing.note], strict=True)),
                "done": frontier.cell_done(c), "rule": f"{frontier.k}/{frontier.n}", "target": target,
                "steps": cfg.get("steps", defaults.steps)}
        probes = sorted(frontier._probes[c].values(), key=lambda p: p.length)
        if not probes:
            rows.append({**common, **{k: None for k in PROBE_COLUMNS}, "outcome": "not probed", **tail})
        for p in probes:
            held = None if final is None else _held(c, p, final, target)
            rows.append({**common, **_probe_row(p, first), "held": held, **tail})
    table = pd.DataFrame(rows, columns=[*settings, *TABLE_COLUMNS])
    for col in ["length", "k", "n", "held", "launched", "stopped", "errors", "probe_order", "longest_solved",
                "first_failed"]:
        table[col] = pd.array(table[col].tolist(), dtype="Int64")
    return table


def _probe_row(p: Probe, first: int | None) -> dict[str, Any]:
    k, n = p.solved, p.finished
    low, high = wilson_interval(k, n)
    steps = [s for st, s in p.seeds.values() if st == SOLVED and s is not None]
    return {"length": p.length, "outcome": p.outcome or "running", "k": k, "n": n,
            "solved_rate": k / n if n else math.nan, "solved_low": low, "solved_high": high,
            "steps_to_target_median": statistics.median(steps) if steps else math.nan,
            "launched": len(p.seeds), "stopped": p.count(STOPPED), "errors": p.count(ERROR),
            "counted": p.outcome in (PASSED, FAILED) and (first is None or p.length <= first),
            "probe_order": p.order}


def cell_crossing(frontier: Frontier, cell: int) -> Crossing:
    """The cell's fitted crossing from every finished seed of its probes (moot and uncounted too), at the cutoff
    calibrated on this search (``calibrated_cutoff``)."""
    probes = list(frontier._probes[cell].values())
    lengths, solved, finished = [p.length for p in probes], [p.solved for p in probes], [p.finished for p in probes]
    rate = frontier.k / frontier.n
    fitted = rate < 1 and len({t for t, f in zip(lengths, finished, strict=True) if f}) >= 2
    cutoff = calibrated_cutoff(frontier.rule, frontier.start, frontier.max_length) if fitted else None
    return fit_crossing(lengths, solved, finished, rate, cutoff=cutoff)


def final_accuracy(frontier: Frontier, trials: pd.DataFrame) -> dict[Trial, float]:
    """Each seed's last held-out accuracy (its trials.csv row's ``eval_accuracy``), by its Trial."""
    if not len(trials) or "eval_accuracy" not in trials:
        return {}
    rows = [(frontier.trial_of(row), row["eval_accuracy"]) for row in trials.to_dict("records")]
    return {trial: float(acc) for trial, acc in rows if trial is not None and acc is not None and not pd.isna(acc)}


def _held(cell: int, p: Probe, final: dict[Trial, float], target: float) -> int | None:
    """Of the probe's finished seeds, how many ended at or above ``target`` (an errored one: not);
    None when a finished seed has no last accuracy."""
    accuracies = [final.get(Trial(cell, p.length, seed)) for seed, (state, _) in p.seeds.items()
                  if state in (SOLVED, UNSOLVED)]
    return None if None in accuracies else sum(a >= target for a in accuracies)


def _rounded(value: float) -> float:
    return value if not math.isfinite(value) or value == 0 else float(f"{value:.{FIT_DIGITS}g}")


def table_cells(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    return [(str(label), rows) for label, rows in table.groupby("cell", sort=False)]


def int_or_none(v: Any) -> int | None:
    return None if v is None or pd.isna(v) else int(v)


def format_frontier(table: pd.DataFrame) -> str:
    """The printed frontier: one line per cell (``cell_frontier_text`` and what follows it), then the rule."""
    if table.empty:
        return "memory frontier: no cell"
    cells = table_cells(table)
    width = max(len(label) for label, _ in cells)
    first = table.iloc[0]
    lines = [f"memory frontier: the longest T at which >= {first['rule']} seeds reach held-out accuracy "
             f"{value_text(first['target'], 6)} within {steps_text(table)} steps"]
    for label, rows in cells:
        lines.append(f"{label:<{width}}  {cell_frontier_text(rows)}")
        lines += [f"{'':<{width}}  {text}" for text in (cell_fit_text(rows), cell_held_text(rows)) if text]
    target = value_text(first["target"], 6)
    if "fitted_note" in table:
        lines.append(f"fitted: {FIT_TEXT}")
    if "held" in table and table["held"].notna().any():
        lines.append(f"held: of the seeds that reached {target} at some evaluation (k, solved), those whose last "
                     f"evaluation is still >= {target}")
    lines.append(f"rule: {RULE_TEXT}")
    return "\n".join(lines)


FIT_TEXT = ("where a logistic curve in log T, fitted to every finished seed of the cell, crosses the rule's rate "
            "K/N; 95% profile-likelihood interval, its cutoff calibrated by simulating this search; an end at 0 or "
            "inf: none that way (docs/frontier.md)")


def cell_fit_text(rows: pd.DataFrame) -> str | None:
    """``fitted 0.8 crossing: 40.7, 95% interval [30.9, 45.1]``; None for a table without ``fitted_*``."""
    if "fitted_note" not in rows:
        return None
    r = rows.iloc[0]
    k, n = (int(v) for v in str(r["rule"]).split("/"))
    head = f"fitted {value_text(k / n, 3)} crossing: "
    note = str(r["fitted_note"])
    if pd.isna(r["fitted_low"]):
        return head + f"not fitted ({NOTES.get(note, note)})"
    low, high = float(r["fitted_low"]), float(r["fitted_high"])
    interval = (f"{'(0' if low == 0 else '[' + value_text(low, 3)}, "
                f"{'inf)' if math.isinf(high) else value_text(high, 3) + ']'}")
    point = value_text(float(r["fitted_length"]), 3) if pd.notna(r["fitted_length"]) else "no point estimate"
    why = {SEPARATED: f"  ({_separation_text(rows)})", FLAT: "  (the solve rates do not fall with T)",
           QUASI: "  (every seed solved below it and none above: the slope is infinite)"}.get(note, "")
    return f"{head}{point}, 95% interval {interval}{why}"


def _separation_text(rows: pd.DataFrame) -> str:
    probes = rows[rows["length"].notna() & (rows["n"].fillna(0) > 0)]
    full, none = probes[probes["k"] == probes["n"]], probes[probes["k"] == 0]
    if not len(none):
        return "every seed solved"
    if not len(full):
        return "no seed solved"
    return f"every seed solved up to {int(full['length'].max())}, none from {int(none['length'].min())}"


def cell_held_text(rows: pd.DataFrame) -> str | None:
    """``held 0.99 at the last evaluation: 27 of the 28 seeds that reached it (lost at T = 200: 1 of 4)``; None
    for a table without ``held``."""
    if "held" not in rows:
        return None
    probes = rows[rows["length"].notna() & (rows["n"].fillna(0) > 0)]
    known = probes[probes["held"].notna()]
    if not len(known):
        return None
    target = value_text(rows["target"].iloc[0], 6)
    held, solved = int(known["held"].sum()), int(known["k"].sum())
    text = f"held {target} at the last evaluation: {held} of the {solved} seeds that reached it"
    lost = known[known["held"] < known["k"]]
    if len(lost):
        text += " (lost at " + ", ".join(f"T = {int(r.length)}: {int(r.k) - int(r.held)} of {int(r.k)}"
                                         for r in lost.itertuples()) + ")"
    unknown = probes[probes["held"].isna()]
    if len(unknown):
        text += f"; not known at T = {', '.join(str(int(t)) for t in unknown['length'])} (a seed without a row)"
    return text


def cell_frontier_text(rows: pd.DataFrame) -> str:
    """One cell's rows of ``frontier_table`` as ``longest T remembered: 40  (first failure: 80; rule 4/5)``."""
    r = rows.iloc[0]
    longest, failed = int_or_none(r["longest_solved"]), int_or_none(r["first_failed"])
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


def steps_text(table: pd.DataFrame) -> str:
    steps = sorted({int(s) for s in table["steps"].dropna()})
    return "/".join(f"{s:,}" for s in steps) or "?"

