"""Errors every layer raises, and an exception as one line of text."""

from __future__ import annotations

from palrnn.cli import UsageError


class StudyError(UsageError, ValueError):
    """A study that cannot be planned: its message is the one line ``python -m study.run`` prints
    (after ``python -m study.run: error:``), before exiting with status 2."""


class NotAStudy(ValueError):
    """The path is not a study folder (one line naming it)."""


def one_line(exc: BaseException) -> str:
    """An exception's last line (a traceback's is the error itself)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[-1]


def first_line(exc: BaseException) -> str:
    """An exception's first line (a parser's message, before its context)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class StorageError(Exception):
    """The study folder cannot be written; the message is the one line the command prints."""
