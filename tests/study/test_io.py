"""Nothing lost: every table and JSON file is written atomically."""

import json
import os

import pandas as pd
import pytest

from study import io


def test_a_crash_mid_write_leaves_the_previous_version(tmp_path, monkeypatch):
    path = tmp_path / "trials.csv"
    io.write_csv_atomic(path, pd.DataFrame({"a": [1, 2]}))
    before = path.read_bytes()

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        io.write_csv_atomic(path, pd.DataFrame({"a": [3, 4, 5]}))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["trials.csv"]  # no temporary file left behind


def test_json_and_bytes_are_atomic_too(tmp_path, monkeypatch):
    j, b = tmp_path / "study.json", tmp_path / "fig.png"
    io.write_json_atomic(j, {"status": "complete"})
    io.write_bytes_atomic(b, b"\x89PNG first")
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("killed")))
    with pytest.raises(OSError):
        io.write_json_atomic(j, {"status": "half"})
    with pytest.raises(OSError):
        io.write_bytes_atomic(b, b"second")
    assert json.loads(j.read_text()) == {"status": "complete"} and b.read_bytes() == b"\x89PNG first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png", "study.json"]
