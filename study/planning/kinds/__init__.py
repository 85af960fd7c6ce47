"""The kinds of study (grid.py, search.py, frontier.py), each a ``base.Kind``: how it checks and changes
its options, resolves, plans, describes, runs on Ray, ends and is reported. A new kind is a file here and its
line in ``KINDS``; a study document names it (``kind``) or its blocks make it."""

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
    """The kind of ``study`` (its ``kind`` key, else its blocks'); StudyError for one this code does not know."""
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
    """Every default filled in and every trial's Config checked, by the study's kind; errors name the field's origin."""
    origin = dict(origin or {})

    def fail(exc: ValueError) -> StudyError:
        return StudyError(f"{origin.get(str(exc).split(':', 1)[0], where)}: {exc}")

    return kind_of(study, where).resolve(study, {**BASE, **study.fixed}, dict(study.axes), fail, origin, where)


def kind_named(name: str | None) -> Kind:
    """The kind study.json names; for one this code does not know, the base ``Kind`` under its name."""
    if name in KINDS:
        return KINDS[name]
    unknown = Kind()
    unknown.name = name or "?"
    return unknown


__all__ = ["KINDS", "Kind", "Resolved", "TunerParts", "kind_named", "kind_of", "resolve"]
