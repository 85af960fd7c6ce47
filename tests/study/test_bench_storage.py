"""python -m study.bench --storage URI (study.bench) against a real S3 server (moto on
127.0.0.1): its JSON names the storage and the machine, holds each run and the medians made from
them, and the storage arm's checkpoints land in the bucket while the local arm's stay in its
folder; a storage that cannot work ends as study.run's do. Nothing here is timed."""

from __future__ import annotations

import json
import os

import pytest

from study.bench import main as bench
from tests.s3_server import ENV, s3_fixture, s3_server_fixture  # noqa: F401 (the fixtures s3, s3_server)

RAY_ENV = ENV  # conftest's ray_session starts Ray with moto's credentials, which its workers inherit

TINY = ["--grid", "smoke", "--models", "RNN", "--lengths", "5", "--seeds", "1", "--set", "steps=20",
        "--set", "eval_every=10", "--no-report"]


def _refused(argv, tmp_path, capsys, words):
    with pytest.raises(SystemExit) as exc:
        bench([*argv, "--results-dir", str(tmp_path / "r"), "--name", "b", "--json", str(tmp_path / "b.json")])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and err[0].startswith("python -m study.bench: error: "), err
    assert words in err[0], err
    assert list(tmp_path.iterdir()) == []  # no JSON, no study folder


# These come first: no_ray fails where a Ray of this module (ray_session) already runs.
@pytest.mark.parametrize("argv,words", [
    (["--storage", "nosuchscheme://bucket/x"], "--storage: nosuchscheme://bucket/x is not a storage pyarrow.fs knows"),
    (["--storage", "s3://AKIA:SECRET@bucket/x"], "--storage: s3:// URI holds a credential"),
    (["--storage", "s3://bucket/x", "--repeats", "0"], "--repeats: must be an integer >= 1, got 0"),
    (["--repeats", "2"], "--repeats: only with --storage"),
    (["--storage", "s3://bucket/x", "--resume"], "--resume: not with --storage"),
])
def test_a_bad_value_is_one_line_and_nothing_is_written(argv, words, tmp_path, capsys, no_ray):
    _refused(argv, tmp_path, capsys, words)


def test_a_missing_bucket_is_refused_before_any_run(s3, tmp_path, capsys, no_ray):
    _refused(["--storage", f"s3://no-such-bucket/x?endpoint_override={s3.endpoint}"], tmp_path, capsys,
             "--storage: bucket 'no-such-bucket' does not exist at http://127.0.0.1:")


@pytest.mark.ray
def test_the_json_holds_each_run_and_the_checkpoints_land_in_the_bucket(ray_session, s3, tmp_path, capsys):
    out = tmp_path / "storage-bench.json"
    argv = [*TINY, "--storage", s3.uri("runs"), "--repeats", "1", "--results-dir", str(tmp_path / "r"),
            "--name", "b", "--json", str(out)]
    assert bench(argv) == 0
    data = json.loads(out.read_text())
    assert data["command"] == "python -m study.bench " + " ".join(argv)
    assert data["storage"] == {"uri": s3.uri("runs"), "scheme": "s3", "endpoint": s3.endpoint}
    assert ENV["AWS_SECRET_ACCESS_KEY"] not in json.dumps({k: v for k, v in data.items() if k != "machine"})
    assert data["machine"]["cpu_model"] and len(data["machine"]["commit"]) == 40
    assert data["settings"] == {"what": "smoke", "trials": 1, "repeats": 1,
                                "order": "alternating: storage first in odd repeats, local first in even ones"}
    runs = data["runs"]
    assert [(r["repeat"], r["arm"], r["order"], r["study"], r["trials"]) for r in runs] == [
        (1, "storage", 1, "b-storage1", 1), (1, "local", 2, "b-local1", 1)]
    by_arm = {r["arm"]: r for r in runs}
    f = data["figures"]
    for arm in ("storage", "local"):
        assert 0 < by_arm[arm]["tuning_seconds"] < by_arm[arm]["wall_seconds"]
        assert f[arm]["runs"] == 1 and f[arm]["wall_seconds_median"] == by_arm[arm]["wall_seconds"]
        assert f[arm]["tuning_seconds_median"] == by_arm[arm]["tuning_seconds"]
    assert f["wall_seconds_ratio"] == pytest.approx(by_arm["storage"]["wall_seconds"] / by_arm["local"]["wall_seconds"])
    assert f["tuning_seconds_ratio"] == pytest.approx(
        by_arm["storage"]["tuning_seconds"] / by_arm["local"]["tuning_seconds"])
    # the storage arm's checkpoint is in the bucket, none in its local folder; the local arm's in its folder
    in_bucket = [k for k in s3.keys("runs/b-storage1/checkpoints/") if k.endswith(".pt")]
    assert len(in_bucket) == 1 == by_arm["storage"]["kept"]["checkpoints"]
    assert by_arm["storage"]["kept"]["checkpoint_bytes"] == len(s3.get(in_bucket[0]))
    assert not list((tmp_path / "r" / "b-storage1").rglob("*.pt"))
    on_disk = list((tmp_path / "r" / "b-local1" / "checkpoints").glob("*.pt"))
    assert len(on_disk) == 1 == by_arm["local"]["kept"]["checkpoints"]
    assert by_arm["local"]["kept"]["checkpoint_bytes"] == os.path.getsize(on_disk[0])
    assert not s3.keys("runs/b-local1")
    printed = capsys.readouterr().out
    assert f"storage / local: wall time {f['wall_seconds_ratio']:.2f}x" in printed and f"wrote {out}" in printed
