"""How a plan reads for people: the --dry-run text and the --list lines."""

from __future__ import annotations

from palrnn.config import Config
from study.basics.text import WIDTH, exact_text, wrap_parts
from study.planning.kinds import kind_of, resolve
from study.spec.catalogue import shipped
from study.spec.fields import BASE
from study.spec.studyfile import Study


def describe_study(study: Study, width: int = WIDTH, where: str | None = None) -> list[str]:
    """--list's lines for one study: its name, trial count and description, then its axes (a
    grid), its space (a search) or its cells (a frontier), and what it fixes beyond the exercise's
    settings."""
    res = resolve(study, where=where or study.name)
    lines = kind_of(study).describe(study, res, width)
    neutral = Config.from_dict({**BASE, "model": "LSTM"}).to_dict()
    differ = [f"{k}={exact_text(v)}" for k, v in res.study.fixed.items() if v != neutral.get(k)]
    if differ:
        lines += wrap_parts(differ, "  ", first=f"{'':<10} fixed: ", indent=" " * 18, width=width)
    return lines


def describe() -> str:
    """The --list text: each shipped grid, its axes and trial count, and the default search."""
    return "\n".join(line for s in shipped().values() for line in describe_study(s))


