"""The settings two or more compared studies were trained with (``python -m study.compare``):
every fixed config field, each study's value, which differ and which the user set aside.

A setting is a palrnn config field (``study.spec.fields.FIELDS``; trials.csv has one column per
field) other than those that define a cell or are averaged over: ``model``, ``length``, ``seed``
(``CELL_AND_SEED``) and every field any of the studies swept (the comparison's axes). A study's
value of a setting is the set of values its trials have (one value for a study that held it fixed),
read from trials.csv, or from study.json's ``param_space`` where trials.csv has no such column;
"not recorded" when neither has it. Values compare as ``axis_key`` does (64 and 64.0 are one value;
a missing max_norm, "none", is its own value).

Cells are paired only when the studies agree on every setting: ``check_settings`` refuses (one
line, naming each field that differs with each study's value, and the ``--ignore`` that would set
them aside) otherwise. ``parse_ignore`` reads ``--ignore init,hidden`` and checks each name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from study.basics.errors import StudyError
from study.basics.text import value_text
from study.results.summary import axis_key
from study.spec.fields import FIELDS

CELL_AND_SEED = ("model", "length", "seed")
NOT_RECORDED = "not recorded"
# The status column of the settings table: what became of each setting.
EQUAL, DIFFERS, SET_ASIDE = "equal", "differs", "set aside"


def settings_fields() -> list[str]:
    """The config fields ``--ignore`` may name: every palrnn config field but model, length and seed."""
    return [f for f in FIELDS if f not in CELL_AND_SEED]


def parse_ignore(ignore: str | Iterable[str] | None) -> list[str]:
    """``--ignore``'s fields (``"init,hidden"``, or a list of names) in config order, checked against
    the config fields; StudyError (one line naming the bad name and the allowed ones) for any other."""
    if ignore is None:
        return []
    parts = ignore.split(",") if isinstance(ignore, str) else [str(p) for p in ignore]
    names = [p.strip() for p in parts if p.strip()]
    allowed = settings_fields()
    for name in names:
        if name not in allowed:
            why = (f"{name} defines the cells or is averaged over, it is never a setting" if name in CELL_AND_SEED
                   else f"unknown config field {name!r}")
            raise StudyError(f"--ignore: {why}; allowed: {', '.join(allowed)}")
    return [f for f in allowed if f in names]  # in config order, each once


def _values(meta: Mapping[str, Any], trials: pd.DataFrame, field: str) -> list[Any] | None:
    """A study's distinct values of ``field`` (first-seen order), or None where it is not recorded."""
    if field in trials.columns and len(trials):
        seen: dict[Any, Any] = {}
        for v in trials[field]:
            seen.setdefault(axis_key(v), v)
        return list(seen.values())
    space = meta.get("param_space")
    if isinstance(space, Mapping) and field in space and not isinstance(space[field], list | dict):
        return [space[field]]
    return None


def _key(values: list[Any] | None) -> Any:
    if values is None:
        return NOT_RECORDED
    return tuple(sorted({axis_key(v) for v in values}, key=lambda k: (k is not None, type(k).__name__, str(k))))


def _text(values: list[Any] | None) -> str:
    return NOT_RECORDED if values is None else " / ".join(value_text(v, 6) for v in values)


def settings_table(studies: Mapping[str, Mapping[str, Any]], axes: Sequence[str],
                   ignore: Sequence[str]) -> pd.DataFrame:
    """One row per setting (config order): ``field``, one column per study (its value(s) as text),
    and ``status``: equal, differs, or set aside (named in ``ignore``). ``studies``: label ->
    the study folder as ``read_study_folder`` gives it (``meta``, ``trials``)."""
    rows = []
    for field in settings_fields():
        if field in axes:
            continue
        values = {label: _values(d["meta"], d["trials"], field) for label, d in studies.items()}
        differs = len({_key(v) for v in values.values()}) > 1
        status = SET_ASIDE if field in ignore else DIFFERS if differs else EQUAL
        rows.append({"field": field, **{label: _text(v) for label, v in values.items()}, "status": status,
                     "differs": differs})
    return pd.DataFrame(rows, columns=["field", *studies, "status", "differs"])


def check_settings(settings: pd.DataFrame, labels: Sequence[str], axes: Sequence[str],
                   ignore: Sequence[str]) -> None:
    """StudyError (one line) when an ``ignore`` field is a cell axis, or when the studies differ in
    a setting the user did not set aside: it names each such field with each study's value."""
    swept = [f for f in ignore if f in axes]
    if swept:
        raise StudyError(f"--ignore {','.join(swept)}: swept by a compared study, so it defines the cells "
                         "(each of its values is compared on its own); set aside only fixed settings")
    differ = settings[settings["status"] == DIFFERS]
    if differ.empty:
        return
    names = ", ".join(labels[:-1]) + f" and {labels[-1]}"
    fields = "; ".join(f"{r['field']} ({' | '.join(str(r[lab]) for lab in labels)})" for _, r in differ.iterrows())
    raise StudyError(f"{names} differ in fixed settings {fields}: their cells would pair different trainings; "
                     f"pass --ignore {','.join(differ['field'])} (ignore= in study.compare) to compare them anyway")


def settings_lines(settings: pd.DataFrame, labels: Sequence[str], axes: Sequence[str]) -> list[str]:
    """The printed settings: the fields that differ (set aside) with each study's value, then how
    many others are equal; what defines the cells."""
    from study.basics.text import format_table

    lines = [f"Settings: every config field but the cell axes ({', '.join(axes)}) and seed (averaged over)"]
    aside = settings[settings["status"] == SET_ASIDE]
    if len(aside):
        rows = [[r["field"], *(r[lab] for lab in labels), "differs" if r["differs"] else "equal"]
                for _, r in aside.iterrows()]
        lines.append(f"  set aside (--ignore): {', '.join(aside['field'])}; cells are paired whatever their values")
        lines += ["  " + line for line in format_table(["field", *labels, ""], rows)]
    equal = settings[settings["status"] == EQUAL]
    lines.append(f"  equal in every study: {len(equal)} field{'s' if len(equal) != 1 else ''}"
                 + (f" ({', '.join(equal['field'])})" if len(equal) else ""))
    return lines
