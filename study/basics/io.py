"""Atomic writes (``palrnn.io.atomic_write``: a crash mid-write leaves the previous version) of the formats a
study writes."""

from __future__ import annotations

import json
import os
from typing import Any

import pandas as pd

from palrnn.io import write_bytes_atomic

__all__ = ["write_bytes_atomic", "write_csv_atomic", "write_json_atomic", "write_text_atomic"]


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def write_csv_atomic(path: str | os.PathLike[str], df: pd.DataFrame) -> None:
    write_text_atomic(path, df.to_csv(index=False))
