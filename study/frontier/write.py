"""The frontier written to a study folder: frontier.csv, figures/frontier.png and the printed table."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd

from study.basics.layout import FIGURES, TRIALS
from study.frontier.figure import plot_frontier
from study.frontier.search import Frontier
from study.frontier.table import CSV, FIGURE, FILE, format_frontier, frontier_table, load_frontier


def write_frontier(folder: str | os.PathLike[str], frontier: Frontier | None = None, echo: bool = True,
                   figure: bool = True) -> pd.DataFrame:
    """Write ``frontier.csv`` and ``figures/frontier.png`` into a study folder (from ``frontier``,
    else the folder's frontier/state.json; ``held`` from its trials.csv, when it has one), print
    the table when ``echo``; returns the table."""
    from study.basics.io import write_bytes_atomic, write_csv_atomic

    folder = Path(folder)
    frontier = frontier or load_frontier(folder)
    if frontier is None:
        raise FileNotFoundError(f"{folder / FILE}: no frontier in this folder")
    trials = pd.read_csv(folder / TRIALS) if (folder / TRIALS).is_file() else None
    table = frontier_table(frontier, trials)
    write_csv_atomic(folder / CSV, table)
    if figure:
        ax = plot_frontier(table, settings=frontier.base)
        buf = io.BytesIO()
        ax.get_figure(root=True).savefig(buf, format="png", dpi=110, bbox_inches="tight")
        (folder / FIGURES).mkdir(exist_ok=True)
        write_bytes_atomic(folder / FIGURES / FIGURE, buf.getvalue())
    if echo:
        print(format_frontier(table))
    return table
