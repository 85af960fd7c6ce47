"""Errors every layer raises (a study that cannot be planned, a folder that is not a study, a study
folder that cannot be written), and an exception as one line of text."""

from __future__ import annotations

from palrnn.cli import UsageError


class StudyError(UsageError, ValueError):
    """A study that cannot be planned: its message is the one line ``python -m study.run`` prints
    (after ``python -m study.run: error:``), before exiting with status 2."""


class NotAStudy(ValueError):
    """The path is not a study folder; the message is one line that names the path."""


def one_line(exc: BaseException) -> str:
    """An exception's last line (a traceback's is the error itself)."""
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def first_line(exc: BaseException) -> str:
    """An exception's first line (a parser's message, before its context)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class StorageError(Exception):
    """The study folder cannot be written; the message is the one line the command prints."""
