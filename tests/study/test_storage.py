"""The store a study shares between nodes (study.basics.store, --storage), against a real S3 server
(moto on 127.0.0.1) and a local path: reads and writes by key, atomic writes, and the one-line
refusals of a storage that cannot work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from study.basics.errors import StudyError
from study.basics.store import MARKER, Store, check_storage, open_storage
from tests.s3_server import s3_fixture, s3_server_fixture  # noqa: F401 (the fixtures s3, s3_server)


@pytest.fixture(params=["s3", "path"])
def store(request, tmp_path):
    if request.param == "path":
        return Store(str(tmp_path / "store"))
    return Store(request.getfixturevalue("s3").uri("pre/fix"))


def test_write_read_exists_list_delete(store):
    assert not store.exists("a/b.pt") and store.list() == []
    with pytest.raises(FileNotFoundError):
        store.read("a/b.pt")
    store.write("a/b.pt", b"one")
    store.write("a/b.pt", b"two")  # replaced whole
    store.write("c.json", b"{}")
    assert store.read("a/b.pt") == b"two" and store.exists("a/b.pt")
    assert store.list() == ["a/b.pt", "c.json"] and store.list("a") == ["a/b.pt"]
    assert [(k, size) for k, size, _ in store.entries()] == [("a/b.pt", 3), ("c.json", 2)]
    assert store.child("a").read("b.pt") == b"two"
    store.delete("a/b.pt")
    store.delete("a/b.pt")  # already gone: nothing
    assert store.list() == ["c.json"]


def test_s3_keys_are_under_the_prefix_and_the_endpoint_may_come_from_the_environment(s3, monkeypatch):
    Store(s3.uri("runs")).child("study").write("checkpoints/x.pt", b"x")
    assert s3.keys() == ["runs/study/checkpoints/x.pt"]
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
    assert Store(f"s3://{s3.bucket}/runs/study").read("checkpoints/x.pt") == b"x"


def test_a_failed_s3_write_leaves_the_previous_object_and_no_temporary_key(s3, monkeypatch):
    import study.basics.store as module

    store = Store(s3.uri("p"))
    store.write("k.pt", b"before")
    real = module._filesystem

    class BrokenMove:  # the upload goes through; the move over the target fails
        def __init__(self, fs):
            self.fs = fs

        def move(self, src, dest):
            raise OSError("connection reset")

        def __getattr__(self, name):
            return getattr(self.fs, name)

    monkeypatch.setattr(module, "_filesystem", lambda uri: (BrokenMove(real(uri)[0]), real(uri)[1]))
    with pytest.raises(OSError, match="connection reset"):
        store.write("k.pt", b"after")
    monkeypatch.undo()
    assert s3.get("p/k.pt") == b"before" and s3.keys() == ["p/k.pt"]


# A writer killed mid-upload: its bytes go out in chunks, slowly, through the real S3 file system.
SLOW_WRITER = """
import sys, time
import study.basics.store as s
real = s._filesystem

class Slow:
    def __init__(self, f):
        self.f = f
    def write(self, data):
        for i in range(0, len(data), 1 << 20):
            self.f.write(data[i:i + (1 << 20)])
            print("chunk", flush=True)
            time.sleep(0.3)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        self.f.close()

class FS:
    def __init__(self, fs):
        self.fs = fs
    def open_output_stream(self, path):
        return Slow(self.fs.open_output_stream(path))
    def __getattr__(self, name):
        return getattr(self.fs, name)

s._filesystem = lambda uri: (FS(real(uri)[0]), real(uri)[1])
s.Store(sys.argv[1]).write("k.pt", b"n" * (8 << 20))
"""


@pytest.mark.fault
def test_a_writer_killed_mid_upload_leaves_the_previous_object(s3, fault):
    store = Store(s3.uri("p"))
    store.write("k.pt", b"before")
    writer = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, store.uri], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert writer.stdout.readline() == "chunk\n"  # mid-upload
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    time.sleep(0.2)
    assert store.read("k.pt") == b"before" and s3.keys() == ["p/k.pt"]
    store.write("k.pt", b"after")
    assert store.read("k.pt") == b"after"
    fault("storage writer SIGKILLed mid-upload to S3", 1,
          "the previous object read back whole; no partial or temporary object visible")


def test_the_store_check_leaves_nothing_behind(store):
    check_storage(store)
    assert not store.exists(MARKER) and store.list() == []


@pytest.mark.parametrize("uri,why", [
    ("nosuchscheme://bucket/x", "is not a storage pyarrow.fs knows"),
    ("s3://KEY:SECRET@bucket/x", "holds a credential (user info"),
    ("s3://bucket/x?secret_key=abc", "holds a credential (the query key 'secret_key')"),
    ("   ", "empty"),
])
def test_a_storage_uri_that_cannot_work_is_one_line_naming_the_option(uri, why):
    with pytest.raises(StudyError) as error:
        open_storage(uri)
    text = str(error.value)
    assert text.startswith("--storage: ") and why in text and "\n" not in text
    assert "SECRET" not in text.split("(")[0] or uri.startswith("s3://KEY")


def test_a_missing_bucket_is_named(s3):
    with pytest.raises(StudyError, match=r"^--storage: bucket 'no-such-bucket' does not exist at http://127"):
        check_storage(open_storage(f"s3://no-such-bucket/x?endpoint_override={s3.endpoint}"))


def test_missing_credentials_are_named(s3, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(StudyError) as error:
        check_storage(open_storage(s3.uri("fresh")))
    text = str(error.value)
    assert text.startswith(f"--storage: cannot write and read back {s3.uri('fresh')} (") and "AWS_ACCESS_KEY_ID" in text
    assert "\n" not in text


# ---- --storage, storage = "…", study.plan(storage=…): planned, recorded, checked before Ray -----------


def test_storage_is_planned_from_the_option_the_keyword_and_the_study_file(tmp_path):
    import study

    uri = "s3://bucket/runs?endpoint_override=http://127.0.0.1:9"
    plan = study.plan(grid="smoke", storage=uri, name="x", results_dir=str(tmp_path))
    assert plan.storage == uri and plan.to_meta()["storage"] == uri and plan.study.storage == uri
    assert "storage" not in study.plan(grid="smoke", name="x", results_dir=str(tmp_path)).to_meta()
    path = tmp_path / "s.toml"
    path.write_text('name = "s"\nseeds = 1\nstorage = "relative/store"\n[fixed]\nsteps = 10\n')
    from_file = study.plan(path, name="x", results_dir=str(tmp_path))
    assert from_file.storage == str(Path("relative/store").resolve())  # a path: made absolute
    from study.planning.plan import StudyPlan

    assert StudyPlan.from_meta(plan.to_meta()).storage == uri  # study.json keeps it for --resume
    from study.spec.studyfile import to_toml

    assert 'storage = "' + uri + '"' in to_toml(plan.study)  # study.toml too


def test_a_bad_storage_in_a_study_file_is_named(tmp_path):
    import study

    path = tmp_path / "s.toml"
    path.write_text('name = "s"\nseeds = 1\nstorage = 3\n[fixed]\nsteps = 10\n')
    with pytest.raises(StudyError, match=r"storage: must be a URI such as \"s3://bucket/prefix\" or a path, got 3"):
        study.plan(path, name="x", results_dir=str(tmp_path))


@pytest.mark.parametrize("uri,words", [
    ("nosuchscheme://bucket/x", "--storage: nosuchscheme://bucket/x is not a storage pyarrow.fs knows"),
    ("s3://AKIA:SECRET@bucket/x", "--storage: s3:// URI holds a credential"),
])
def test_a_storage_that_cannot_work_is_refused_by_run(uri, words, refused_by_run):
    refused_by_run(["--grid", "smoke", "--storage", uri], words)


def test_a_missing_bucket_is_refused_before_ray_starts(s3, refused_by_run):
    refused_by_run(["--grid", "smoke", "--storage", f"s3://no-such-bucket/x?endpoint_override={s3.endpoint}"],
                   "--storage: bucket 'no-such-bucket' does not exist at http://127.0.0.1:")


def test_resume_with_another_storage_is_refused(tmp_path, no_ray):
    import json

    import study

    plan = study.plan(grid="smoke", storage="s3://bucket/a", name="x", results_dir=str(tmp_path))
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "study.json").write_text(json.dumps(plan.to_meta()))
    assert study.plan(resume=True, name="x", results_dir=str(tmp_path)).storage == "s3://bucket/a"
    assert study.plan(resume=True, name="x", results_dir=str(tmp_path), storage="s3://bucket/a").storage
    with pytest.raises(StudyError, match=r"^--storage: s3://bucket/b here, but study 'x' keeps its trials in "
                                         r"s3://bucket/a; resume it without --storage$"):
        study.plan(resume=True, name="x", results_dir=str(tmp_path), storage="s3://bucket/b")


def test_a_resume_without_the_study_folder_reads_its_state_from_the_storage_and_writes_it_only_at_the_start(
        s3, tmp_path, no_ray, refused_by_run):
    import json

    import study
    from study.driver.execute import write_state

    plan = study.plan(grid="smoke", storage=s3.uri("runs"), name="x", results_dir=str(tmp_path / "first"))
    store = Store(s3.uri("runs")).child("x")
    store.write("study.json", json.dumps(plan.to_meta()).encode())
    store.write("pbt/decisions.json", b"[]")
    here = tmp_path / "here"
    # No study there: refused in one line naming both places, nothing written.
    refused_by_run(["--resume", "--storage", s3.uri("elsewhere")],
                   f"--resume: no study 'x' in {tmp_path} (no study.json) nor in {s3.uri('elsewhere')}")
    # The study in the storage: planned from its study.json, nothing written until the study starts.
    again = study.plan(resume=True, name="x", results_dir=str(here), storage=s3.uri("runs"))
    assert again.storage == s3.uri("runs") and again.folder == here / "x" and again.configs() == plan.configs()
    assert not here.exists()
    assert set(again.fetched) == {"study.json", "pbt/decisions.json"}
    write_state(again.folder, again.fetched)
    assert json.loads((here / "x" / "study.json").read_text()) == plan.to_meta()
    assert (here / "x" / "pbt" / "decisions.json").read_bytes() == b"[]"
    # Once the folder is here, it is the study's, as for any resume.
    assert study.plan(resume=True, name="x", results_dir=str(here)).fetched is None


def test_the_driver_mirrors_its_state_to_the_storage_when_it_changes(s3, tmp_path, no_ray):
    from study.driver import shared

    plan = study_plan_with_storage(s3, tmp_path)
    plan.folder.mkdir(parents=True)
    (plan.folder / "study.json").write_text('{"a": 1}')
    (plan.folder / "frontier").mkdir()
    (plan.folder / "frontier" / "state.json").write_text("{}")
    (plan.folder / "trials.csv").write_text("x\n")  # not driver state: copied only at the end
    copy = shared.mirror(plan)
    copy()
    keys = set(Store(s3.uri("runs")).child("x").list())
    assert {"study.json", "frontier/state.json"} <= keys and "trials.csv" not in keys
    Store(s3.uri("runs")).child("x").delete("study.json")
    copy()  # unchanged since its last copy: not copied again
    assert not Store(s3.uri("runs")).child("x").exists("study.json")
    (plan.folder / "study.json").write_text('{"a": 22}')
    copy()
    assert Store(s3.uri("runs")).child("x").read("study.json") == b'{"a": 22}'
    assert shared.mirror(study_plan_with_storage(None, tmp_path / "b")) is None  # no --storage: nothing to copy


def study_plan_with_storage(s3, tmp_path):
    import study

    return study.plan(grid="smoke", storage=s3.uri("runs") if s3 else None, name="x", results_dir=str(tmp_path / "r"))
