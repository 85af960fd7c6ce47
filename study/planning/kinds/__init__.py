"""The kinds of study (grid.py, search.py, frontier.py), each a ``base.Kind``: how it checks and changes
its options, resolves, plans, describes, runs on Ray, ends and is reported. A new kind is a file here and its
line in ``KINDS``; a study document names it (``kind``) or its blocks make it."""

import dataclasses
from collections.abc import Mapping

from study.basics.errors import StudyError
from study.planning.kinds.base import Kind, Resolved, TunerParts
from study.planning.kinds.frontier import FrontierKind
from study.planning.kinds.grid import GridKind
from study.planning.kinds.search import SearchKind
from study.spec.document import Study
from study.spec.fields import BASE

KINDS: dict[str, Kind] = {kind.name: kind for kind in (GridKind(), SearchKind(), FrontierKind())}


def kind_of(study: Study, where: str = "study") -> Kind:
    """The kind of ``study`` (its ``kind`` key, else the one its blocks make); StudyError for a
    kind this code does not know (``where``: the option or file that gave the study)."""
    if study.kind not in KINDS:
        raise StudyError(f"{where}: kind: unknown kind {study.kind!r}; allowed: {', '.join(KINDS)}")
    kind = KINDS[study.kind]
    blocks = [b for b in ("search", "frontier") if getattr(study, b) is not None]
    if blocks and blocks != [kind.block]:
        raise StudyError(f"{where}: kind: a {kind.noun} takes no [{blocks[0]}] table")
    if kind.block and getattr(study, kind.block) is None:
        raise StudyError(f"{where}: kind: a {kind.noun} needs a [{kind.block}] table")
    return kind


def resolve(study: Study, origin: Mapping[str, str] | None = None, where: str = "study") -> Resolved:
    """Every default filled in (the exercise's settings, patience 3; a grid's models RNN and LSTM
    and lengths 5..10, a search's RNN at T = 20, a frontier's RNN and LSTM) and every trial's
    Config checked, by the study's kind. An error names the option or file that set the field."""
    origin = dict(origin or {})

    def fail(exc: ValueError) -> StudyError:
        return StudyError(f"{origin.get(str(exc).split(':', 1)[0], where)}: {exc}")

    res = kind_of(study, where).resolve(study, {**BASE, **study.fixed}, dict(study.axes), fail, origin, where)
    res.study = dataclasses.replace(res.study, kind=study.kind)
    return res


def kind_named(name: str | None) -> Kind:
    """The kind study.json names; for a kind this code does not know, one reported as the base
    ``Kind`` reports (its name, the mean over seeds)."""
    if name in KINDS:
        return KINDS[name]
    unknown = Kind()
    unknown.name = name or "?"
    return unknown


__all__ = ["KINDS", "Kind", "Resolved", "TunerParts", "kind_named", "kind_of", "resolve"]
