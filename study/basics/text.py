"""Text for people and for the command line: the one value formatter, and the wrapped lines and
plain tables that --list, --dry-run and the printed reports are made of."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

WIDTH = 100  # --list and --dry-run lines


def value_text(value: Any, digits: int | None = None, exact: bool = False) -> str:
    """A value as text. None and NaN are ``none`` (a max_norm of none turns clipping off). A float
    is ``repr``, which parses back to it exactly (what the command line and study files write),
    or with ``digits``, at most that many significant digits (``0.001``, ``1e-05``: tables, legends,
    run names); with ``exact`` too, only where those digits parse back to the very value (plans:
    never a rounded value). Anything else is ``str``."""
    if value is None:
        return "none"
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        value = float(value)
        if math.isnan(value):
            return "none"
        if digits is None:
            return repr(value)
        short = f"{value:.{digits}g}"
        return repr(value) if exact and float(short) != value else short
    return str(value)


def exact_text(value: Any) -> str:
    """A value in a plan's text: six significant digits where they are the value, else all of them."""
    return value_text(value, 6, exact=True)


def set_text(values: Sequence[Any], short: bool = True) -> str:
    """``{64, 128}``: a swept axis, each value as ``exact_text`` writes it (``short``) or in full."""
    return "{" + ", ".join(exact_text(v) if short else value_text(v) for v in values) + "}"


def wrap_parts(parts: list[str], sep: str, first: str, indent: str, width: int = WIDTH) -> list[str]:
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


def format_table(columns: list[str], rows: list[list[Any]], width: int = WIDTH, index: str = "") -> list[str]:
    """A plain text table, left-aligned, two spaces between columns; columns that do not fit in
    ``width`` continue in a block below (each block repeats the index)."""
    texts = [[exact_text(v) for v in row] for row in rows]
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
