"""Every default filled in and every trial's Config checked by palrnn (each kind its own way:
``study.planning.kinds``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from study.basics.errors import StudyError
from study.planning.kinds import Resolved, kind_of
from study.spec.fields import BASE
from study.spec.studyfile import Study


def resolve(study: Study, origin: Mapping[str, str] | None = None, where: str = "study") -> Resolved:
    """Fill in the defaults (the exercise's settings, patience 3; a grid's models RNN and LSTM and
    lengths 5..10, a search's RNN at T = 20, a frontier's RNN and LSTM) and check every trial's
    Config (a search: every cell with every value and bound of its space; a frontier: every cell
    at its start and its max length). An error names the option or file that set the field."""
    origin = dict(origin or {})

    def fail(exc: ValueError) -> StudyError:
        key = str(exc).split(":", 1)[0]
        return StudyError(f"{origin.get(key, where)}: {exc}")

    res = kind_of(study, where).resolve(study, {**BASE, **study.fixed}, dict(study.axes), fail, origin, where)
    res.study = dataclasses.replace(res.study, kind=study.kind)
    return res


__all__ = ["Resolved", "resolve"]
