"""A checkpoint as bytes (palrnn.checkpoint.checkpoint_bytes, load_checkpoint of bytes): what a study
keeps in an object store instead of a file. palrnn itself knows nothing of where the bytes go."""

import pytest
import torch

from palrnn.checkpoint import CheckpointError, checkpoint_bytes, load_checkpoint, new_state, save_checkpoint
from palrnn.config import Config
from palrnn.train import train

TIMING = {"examples_per_second", "wall_seconds"}


def _strip(records):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in records]


def test_bytes_are_the_file_save_checkpoint_writes(tmp_path):
    state = new_state(Config(model="LSTM", hidden=8, length=5, steps=10, eval_every=5, seed=2))
    list(train(state))
    save_checkpoint(state, tmp_path / "a.pt", extra={"records": [1, 2]})
    data = checkpoint_bytes(state, extra={"records": [1, 2]})
    assert isinstance(data, bytes)
    from_file, from_bytes = load_checkpoint(tmp_path / "a.pt"), load_checkpoint(data)
    assert from_bytes.step == from_file.step == 10 and from_bytes.extra == {"records": [1, 2]}
    for p, q in zip(from_file.model.parameters(), from_bytes.model.parameters(), strict=True):
        assert torch.equal(p, q)
    assert torch.equal(from_file.generator.get_state(), from_bytes.generator.get_state())
    assert from_file.optimizer.state_dict()["state"].keys() == from_bytes.optimizer.state_dict()["state"].keys()


def test_a_run_resumed_from_bytes_continues_bit_exactly():
    cfg = Config(model="RNN", length=6, hidden=16, steps=40, eval_every=10, seed=5)
    straight = new_state(cfg)
    straight_records = list(train(straight))
    half = new_state(cfg.replace(steps=20))
    first = list(train(half))
    resumed = load_checkpoint(bytearray(checkpoint_bytes(half)), overrides={"steps": 40})
    second = list(train(resumed))
    first[-1]["done"] = False
    assert _strip(first + second) == _strip(straight_records)
    for p, q in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_bad_bytes_are_a_checkpoint_error_with_the_callers_name():
    state = new_state(Config(model="RNN", hidden=8, length=5, steps=5, eval_every=5))
    data = checkpoint_bytes(state)
    with pytest.raises(CheckpointError, match=r"^s3://b/ckpt\.pt: not a readable palrnn checkpoint"):
        load_checkpoint(data[: len(data) // 2], name="s3://b/ckpt.pt")
    with pytest.raises(CheckpointError, match=r"^<bytes>: not a readable palrnn checkpoint"):
        load_checkpoint(b"garbage")
