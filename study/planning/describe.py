"""How a plan reads for people: the --dry-run text and the --list lines."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from palrnn.config import Config
from study.planning.resolve import resolve
from study.spec.catalogue import shipped
from study.spec.fields import BASE
from study.spec.space import space_parts
from study.spec.studyfile import Study

WIDTH = 100  # --list and --dry-run lines


def cell_text(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, float):
        short = f"{v:g}"
        return short if float(short) == v else repr(v)  # never a rounded value
    return str(v)


def axis_text(values: Sequence[Any]) -> str:
    return "{" + ", ".join(cell_text(v) for v in values) + "}"


def format_table(columns: list[str], rows: list[list[Any]], width: int = WIDTH, index: str = "") -> list[str]:
    """A plain text table, left-aligned, two spaces between columns; columns that do not fit in
    ``width`` continue in a block below (each block repeats the index)."""
    texts = [[cell_text(v) for v in row] for row in rows]
    idx = [str(i) for i in range(len(rows))]
    iw = max([len(index), *map(len, idx)])
    widths = [max([len(c), *(len(r[j]) for r in texts)]) for j, c in enumerate(columns)]
    blocks, block, used = [], [], iw
    for j, w in enumerate(widths):
        if block and used + 2 + w > width:
            blocks.append(block)
            block, used = [], iw
        block.append(j)
        used += 2 + w
    if block:
        blocks.append(block)
    lines = []
    for b in blocks:
        lines.append((index.rjust(iw) + "".join("  " + columns[j].ljust(widths[j]) for j in b)).rstrip())
        for i, r in enumerate(texts):
            lines.append((idx[i].rjust(iw) + "".join("  " + r[j].ljust(widths[j]) for j in b)).rstrip())
    return [line[:width] for line in lines]


def describe_study(study: Study, width: int = WIDTH, where: str | None = None) -> list[str]:
    """--list's lines for one study: its name, trial count and description, then its axes (a
    grid) or its space (a search), and what it fixes beyond the exercise's settings."""
    res = resolve(study, where=where or study.name)
    if study.kind == "frontier":
        opts = res.study.frontier
        cells = math.prod(len(v) for v in res.study.axes.values())
        lines = _head(study, f"up to {res.n_trials} trials ({cells} cell{'s' * (cells != 1)}: memory frontier)",
                      width)
        parts = [f"{k} {_fmt(v)}" for k, v in res.study.axes.items()]
        lines += wrap_parts(parts, "  x  ", first=f"{'':<10} cells: ", indent=" " * 18, width=width)
        lines.append(f"{'':<10} rule {opts.rule[0]}/{opts.rule[1]}, T from {opts.start} to {opts.max_length}, "
                     f"speculate {opts.speculate}")
    elif study.kind == "grid":
        seeds = res.study.seeds
        lines = _head(study, f"{res.n_trials:>4} trials ({seeds} seed{'s' * (seeds != 1)})", width)
        parts = [f"{k} {_fmt(v)}" for k, v in res.study.axes.items()] + ["seed 0..N-1"]
        lines += wrap_parts(parts, "  x  ", first=f"{'':<10} axes: ", indent=" " * 17, width=width)
    else:
        s = res.study.search
        assert s is not None
        cells = ", ".join(f"{m} T={t}" for m, t in res.cells)
        each = " each" if len(res.cells) > 1 else ""
        lines = _head(study, f"{res.n_trials:>4} trials ({cells}: {s.num_samples} samples{each})", width)
        lines += wrap_parts(space_parts(s.space), "; ", first=f"{'':<10} TPE over ", indent=" " * 11,
                                  width=width)
        sched = "ASHA cutting poor trials" if s.scheduler else "no scheduler"
        lines.append(f"{'':<10} metric {s.metric} ({s.mode}), sampler seed {s.seed}, {sched}")
    neutral = Config.from_dict({**BASE, "model": "LSTM"}).to_dict()
    differ = [f"{k}={cell_text(v)}" for k, v in res.study.fixed.items() if v != neutral.get(k)]
    if differ:
        lines += wrap_parts(differ, "  ", first=f"{'':<10} fixed: ", indent=" " * 18, width=width)
    return lines


def _head(study: Study, count: str, width: int) -> list[str]:
    words = study.description.split()
    return wrap_parts(words, " ", first=f"{study.name:<10} {count}  ", indent=" " * 11, width=width)


def _fmt(values: list[Any]) -> str:
    return "{" + ", ".join("none" if v is None else str(v) for v in values) + "}"


def describe() -> str:
    """The --list text: each shipped grid, its axes and trial count, and the default search."""
    from study.planning.describe import describe_study

    return "\n".join(line for s in shipped().values() for line in describe_study(s))


def wrap_parts(parts: list[str], sep: str, first: str, indent: str, width: int = 100) -> list[str]:
    """Join ``parts`` with ``sep`` into lines of at most ``width`` columns, breaking only between parts."""
    lines, line = [], first
    for i, part in enumerate(parts):
        piece = part + (sep.rstrip() if i < len(parts) - 1 else "")
        if line.strip() and len(line) + len(piece) > width and line not in (first, indent):
            lines.append(line.rstrip())
            line = indent
        line += piece + (" " * (len(sep) - len(sep.rstrip())) if i < len(parts) - 1 else "")
    lines.append(line.rstrip())
    return lines
