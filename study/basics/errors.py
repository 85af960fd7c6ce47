"""Errors every layer raises: a study that cannot be planned, a folder that is not a study."""

from __future__ import annotations

from palrnn.cli import UsageError


class StudyError(UsageError, ValueError):
    """A study that cannot be planned: its message is the one line ``python -m study.run`` prints
    (after ``python -m study.run: error:``), before exiting with status 2."""


class NotAStudy(ValueError):
    """The path is not a study folder; the message is one line that names the path."""


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
