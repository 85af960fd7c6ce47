"""Atomic writes for every table and JSON file a study leaves behind.

A crash mid-write must leave the previous version intact. The mechanism lives in the core,
``palrnn.io.atomic_write`` (temporary file in the same folder, flush and fsync, rename over the
target, fsync of the folder; a killed writer's leftover is removed by the next write); this
module adds the formats a study writes.
"""

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
