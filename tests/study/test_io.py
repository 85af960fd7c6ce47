"""Nothing lost: every table, JSON file and checkpoint is written atomically (palrnn.io).

Real faults, no mocks: a writer process is SIGKILLed in the middle of a write, and the file it
was replacing must still hold the previous version, whole.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from palrnn import io as core_io
from palrnn.config import Config
from palrnn.train import load_checkpoint, new_state, save_checkpoint, train
from study.basics import io

ROOT = Path(__file__).resolve().parents[2]

# A writer that never finishes: 1 MB, then a pause, again and again, until it is killed.
SLOW_WRITER = """
import sys, time
from palrnn.io import atomic_write
with atomic_write(sys.argv[1]) as f:
    while True:
        f.write(b"2" * 2**20)
        f.flush()
        time.sleep(0.05)
"""

# save_checkpoint through the real atomic_write, its file object slowed down so that the save is
# still going when it is killed.
SLOW_CHECKPOINT = """
import contextlib, sys, time
import palrnn.checkpoint as t
from palrnn.config import Config
from palrnn.io import atomic_write

class Slow:
    def __init__(self, f):
        self.f = f
    def write(self, data):
        n = self.f.write(data)
        self.f.flush()
        time.sleep(0.2)
        return n
    def __getattr__(self, name):
        return getattr(self.f, name)

@contextlib.contextmanager
def slow_atomic_write(path, mode="wb"):
    with atomic_write(path, mode) as f:
        yield Slow(f)

t.atomic_write = slow_atomic_write
state = t.new_state(Config(model="RNN", hidden=64, length=5, steps=1, seed=7))
state.step = 999
t.save_checkpoint(state, sys.argv[1])
"""


def temp_files(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def kill_mid_write(script: str, target: Path) -> Path:
    """Start ``script`` writing ``target``; SIGKILL it once its temporary file holds data; return that file."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", script, str(target)], env=env, cwd=target.parent,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            tmp = temp_files(target)
            if tmp and tmp[0].stat().st_size > 0:
                break
            assert child.poll() is None, f"the writer ended before it was killed: {child.stderr.read()!r}"
            assert time.monotonic() < deadline, "the writer never started writing"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stderr.close()
    (tmp,) = temp_files(target)
    assert f".{child.pid}." in tmp.name
    return tmp


@pytest.mark.fault
def test_a_writer_killed_mid_write_leaves_the_previous_version(tmp_path, fault):
    path = tmp_path / "trials.csv"
    io.write_bytes_atomic(path, b"version 1\n")
    tmp = kill_mid_write(SLOW_WRITER, path)

    assert path.read_bytes() == b"version 1\n"  # whole and unchanged
    assert tmp.exists() and tmp.stat().st_size >= 2**20  # a killed writer cannot clean up
    io.write_bytes_atomic(path, b"version 2\n")  # the next write succeeds...
    assert path.read_bytes() == b"version 2\n"
    assert not tmp.exists() and temp_files(path) == []  # ...and removes the dead writer's leftover
    assert [p.name for p in tmp_path.iterdir()] == ["trials.csv"]
    fault("a table or JSON writer SIGKILLed mid-write", 1,
          "the previous version stays whole; the next write succeeds and removes the dead writer's temporary file")


@pytest.mark.fault
def test_a_save_checkpoint_killed_mid_write_leaves_the_previous_checkpoint(tmp_path, fault):
    state = new_state(Config(model="RNN", hidden=8, length=5, steps=10, eval_every=5))
    list(train(state))
    path = tmp_path / "model.pt"
    save_checkpoint(state, path)
    tmp = kill_mid_write(SLOW_CHECKPOINT, path)

    loaded = load_checkpoint(path)  # the previous checkpoint, loadable
    assert loaded.step == 10 and loaded.config.hidden == 8
    assert tmp.exists()
    save_checkpoint(loaded, path)
    assert load_checkpoint(path).step == 10 and temp_files(path) == []
    fault("a checkpoint writer SIGKILLed mid-save", 1, "the previous checkpoint stays loadable")


def test_a_live_writers_temporary_file_is_left_alone(tmp_path):
    path = tmp_path / "study.json"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        theirs = tmp_path / core_io.temp_name(path, pid=live.pid)
        theirs.write_bytes(b"half")
        io.write_json_atomic(path, {"status": "complete"})
        assert theirs.exists()  # its writer is alive: never removed
        other = tmp_path / core_io.temp_name(tmp_path / "study.json.bak", pid=live.pid + 10**7)
        other.write_bytes(b"another target's")
    finally:
        live.kill()
        live.wait()
    io.write_json_atomic(path, {"status": "complete"})
    assert not theirs.exists() and other.exists()  # only this target's, only dead writers'
    assert json.loads(path.read_text()) == {"status": "complete"}


def test_an_exception_mid_write_leaves_the_previous_version_and_no_temporary_file(tmp_path):
    path = tmp_path / "summary.csv"
    io.write_csv_atomic(path, pd.DataFrame({"a": [1, 2]}))
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="disk full"):
        with core_io.atomic_write(path) as f:
            f.write(b"a\n3\n")
            raise RuntimeError("disk full")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["summary.csv"]


def test_text_json_csv_and_bytes(tmp_path):
    io.write_text_atomic(tmp_path / "a.txt", "héllo\n")
    io.write_json_atomic(tmp_path / "b.json", {"x": 1})
    io.write_csv_atomic(tmp_path / "c.csv", pd.DataFrame({"a": [1]}))
    io.write_bytes_atomic(tmp_path / "d.bin", b"\x00\x01")
    with core_io.atomic_write(tmp_path / "e.txt", "w") as f:
        f.write("text mode\n")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    assert json.loads((tmp_path / "b.json").read_text()) == {"x": 1}
    assert (tmp_path / "c.csv").read_text() == "a\n1\n"
    assert (tmp_path / "d.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "e.txt").read_text() == "text mode\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.json", "c.csv", "d.bin", "e.txt"]
    with pytest.raises(ValueError, match="mode"):
        with core_io.atomic_write(tmp_path / "f.txt", "a"):
            pass


def test_checkpoints_are_readable_torch_files(tmp_path):
    state = new_state(Config(model="LSTM", hidden=8, length=5, steps=5, eval_every=5))
    list(train(state))
    save_checkpoint(state, tmp_path / "m.pt")
    assert torch.load(tmp_path / "m.pt", weights_only=True)["loop"]["step"] == 5
