"""The kinds of study, one file each, and what each does its own way (``base.Kind``): how it
checks its options, resolves its defaults and trials, what its plan holds, and how its dry run and
--list read, the parts of its Ray Tuners (by the names of the engine's registries), its status at
the end and its report's sections. A new kind is a file here and its line in ``KINDS``.

    grid.py       every combination of the axes, each with seeds 0 .. N-1
    search.py     an Optuna search per model x length cell
    frontier.py   the memory frontier of every cell
"""

from study.planning.kinds.base import Kind, Resolved, TunerParts
from study.planning.kinds.frontier import FrontierKind
from study.planning.kinds.grid import GridKind
from study.planning.kinds.search import SearchKind

KINDS: dict[str, Kind] = {kind.name: kind for kind in (GridKind(), SearchKind(), FrontierKind())}


def kind_named(name: str | None) -> Kind:
    """The kind study.json names; for a kind this code does not know, one reported as the base
    ``Kind`` reports (its name, the mean over seeds)."""
    if name in KINDS:
        return KINDS[name]
    unknown = Kind()
    unknown.name = name or "?"
    return unknown


__all__ = ["KINDS", "Kind", "Resolved", "TunerParts", "kind_named"]
