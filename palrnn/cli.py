"""Shared command-line plumbing: one-line errors, exit 2, "did you mean" hints."""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from palrnn.names import canonical, did_you_mean


class UsageError(Exception):
    """A bad command-line value: reported as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but every error is one line on stderr and exit status 2 (no usage dump), and no
    option is taken for a longer one it abbreviates (``--seed 7`` is not ``--seeds 7``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        fail(self.prog, _hinted(self, message))


class RaisingParser(Parser):
    """``Parser`` for a ``main()`` that returns its exit status: a bad option raises UsageError
    (the same one line) instead of exiting, and main() prints it and returns 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(_hinted(self, message))


_INVALID_CHOICE = re.compile(r"argument (?P<option>[^:]+): invalid choice: (?P<value>.+?) "
                             r"\(choose from (?P<allowed>.*)\)$")


def _hinted(parser: argparse.ArgumentParser, message: str) -> str:
    """argparse's message with "; did you mean ...?" for an unknown option or a choice close to a known one."""
    if message.startswith("unrecognized arguments: "):  # the first unknown option close to a known one
        known = [o for action in parser._actions for o in action.option_strings if o.startswith("--")]
        words = [w.split("=")[0] for w in message.removeprefix("unrecognized arguments: ").split() if w[:2] == "--"]
        close = [c for w in words for c in difflib.get_close_matches(w, known, n=1, cutoff=0.75)]
        return message + (f"; did you mean {close[0]}?" if close else "")
    match = _INVALID_CHOICE.match(message)
    with contextlib.suppress(ValueError, SyntaxError):  # a value or choices that are not literals: no hint
        if match:
            allowed = [str(a) for a in ast.literal_eval(f"[{match['allowed']}]")]
            return message + did_you_mean(ast.literal_eval(match["value"]), allowed)
    return message


def any_case(allowed: Sequence[str]) -> Callable[[str], str]:
    """An argparse ``type`` for an option of ``choices=allowed``: a name in any case, as ``allowed`` spells it."""
    return lambda text: canonical(text, allowed)


def fail(prog: str, message: str) -> NoReturn:
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(2)


def option_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def check_device(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device: {device} asked for, but this machine has no CUDA GPU; use cpu")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise UsageError(f"--device: {device} does not exist; this machine has {torch.cuda.device_count()} GPU(s)")
    if device == "mps" and not torch.backends.mps.is_available():
        raise UsageError("--device: mps asked for, but it is not available here; use cpu")
