"""The study document (study/spec/document.py): one frozen schema, one parser whose errors name the
key path, a study file's errors the same in its own wording, and study.json's versioned reader."""

import dataclasses
import json
import tarfile
import tomllib
from pathlib import Path

import pytest

import study
from study.basics.errors import StudyError
from study.planning.plan import StudyPlan
from study.spec.document import FORMAT_VERSION, RESOURCE_KEYS, DocumentError, Resources, Study, parse, to_dict
from study.spec.load import read_meta
from study.spec.studyfile import from_dict, to_toml


@pytest.mark.parametrize("data, path, dotted, toml", [
    ({"fixed": {"lr": -1}}, ("fixed", "lr"), "fixed.lr: must be a finite number > 0, got -1.0",
     "[fixed] lr: must be a finite number > 0, got -1.0"),
    ({"axes": {"hidden": 64}}, ("axes", "hidden"), "axes.hidden: give a list of values, e.g. hidden = [128]",
     "[axes] hidden: give a list of values, e.g. hidden = [128]"),
    ({"search": {"space": {"lr": "loguniform:1e-4:3e-2"}, "num_samples": 0}}, ("search", "num_samples"),
     "search.num_samples: must be an integer >= 1, got 0", "[search] num_samples: must be an integer >= 1, got 0"),
    ({"search": {"space": {"lr": "loguniform:1e-4:3e-2"}, "bogus": 1}}, ("search",),
     "search: unknown key 'bogus'; allowed: space, metric, mode, num_samples, scheduler, seed, sampler, "
     "perturbation_interval, perturb",
     "[search] unknown key 'bogus'; allowed: space, metric, mode, num_samples, scheduler, seed, sampler, "
     "perturbation_interval, perturb"),
    ({"seeds": 0}, ("seeds",), "seeds: must be an integer >= 1, got 0", "seeds: must be an integer >= 1, got 0"),
    ({"resources": {"cpus_per_trial": 0}}, ("resources", "cpus_per_trial"),
     "resources.cpus_per_trial: must be a number > 0, got 0",
     "[resources] cpus_per_trial: must be a number > 0, got 0"),
])
def test_an_error_names_the_key_path_and_a_study_file_names_it_in_its_tables(data, path, dotted, toml):
    with pytest.raises(DocumentError) as info:
        parse(data)
    assert info.value.path == path and str(info.value) == dotted and info.value.toml == toml
    assert DocumentError.of_toml(toml).toml == toml and str(DocumentError.of_toml(toml)) == dotted
    if "resources" not in data:  # a study file takes every key but a run's resources
        with pytest.raises(StudyError, match="^") as file_error:
            from_dict(data, "--study s.toml")
        assert str(file_error.value) == f"--study s.toml: {toml}"


def test_a_study_file_refuses_a_runs_keys_the_document_takes():
    with pytest.raises(StudyError) as info:
        from_dict({"resources": {}}, "study")
    assert str(info.value) == ("study: unknown key 'resources'; allowed: name, description, seeds, fixed, axes, "
                               "search, frontier, mlflow, storage, kind")
    assert parse({"resources": {"max_failures": 5}}).resources == Resources(max_failures=5)
    with pytest.raises(DocumentError, match=r"^format_version: must be 2, got 1$"):
        parse({"format_version": 1})


def test_the_document_is_frozen_and_typed():
    study = parse({"name": "s", "fixed": {"lr": 1}, "resources": {"cpus_per_trial": "2"}})
    assert study.fixed == {"lr": 1.0} and isinstance(study.fixed["lr"], float)
    assert study.resources.cpus_per_trial == 2.0 and study.format_version == FORMAT_VERSION
    with pytest.raises(dataclasses.FrozenInstanceError):
        study.name = "other"  # type: ignore[misc]
    with pytest.raises(DocumentError, match=r"^resources.cpus_per_trial: fractions are allowed below 1 only"):
        parse({"resources": {"cpus_per_trial": 1.5}})


@pytest.mark.parametrize("data", [
    {"name": "g", "seeds": 2, "fixed": {"steps": 300, "max_norm": None}, "axes": {"hidden": [16, 32]},
     "mlflow": True, "resources": {"gpus_per_trial": 0.5, "max_concurrent": 2}},
    {"name": "o", "search": {"space": {"lr": "loguniform:1e-4:3e-2", "hidden": "choice:16,32"},
                             "metric": ["eval_accuracy:max", "steps_to_target:min"], "scheduler": "none"},
     "axes": {"model": ["RNN", "LSTM"]}, "storage": "/tmp/x"},
    {"name": "f", "frontier": {"solve_rule": "2/3", "max_length": 40}, "axes": {"model": ["LSTM"]}},
])
def test_the_documents_dict_reads_back_to_the_same_document(data):
    study = parse(data)
    again = parse(to_dict(study, resources=True))
    assert again == study
    assert to_dict(again, resources=True) == to_dict(study, resources=True)
    assert json.loads(json.dumps(to_dict(study, resources=True))) == to_dict(study, resources=True)


def test_a_resource_a_document_does_not_know_is_refused_by_name():
    with pytest.raises(DocumentError) as info:
        parse({"resources": {"cpus": 2}})
    assert info.value.toml == ("[resources] unknown key 'cpus'; allowed: cpus_per_trial, gpus_per_trial, "
                               "checkpoint_every, max_failures, max_concurrent")
    assert Study(name="s").resources == Resources()


LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy-dffe39a.tar.gz"


@pytest.mark.parametrize("kind", ["grid", "search", "frontier"])
def test_the_versioned_reader_reads_a_legacy_study_json_and_the_one_it_writes_back(kind):
    """study.json of version 1 (the legacy fixture's: no document) derives the study from its plan;
    the plan written back is version 2, the document whole, which reads back to the same study."""
    with tarfile.open(LEGACY) as tar:
        old = json.loads(tar.extractfile(f"palrnn-legacy-fixture/{kind}/study.json").read())
    assert "format_version" not in old and "study" not in old
    plan = StudyPlan.from_meta(old)
    assert plan.study == read_meta(old) and plan.study.kind == plan.kind
    assert plan.study.resources == Resources(**{k: old[k] for k in RESOURCE_KEYS})
    new = json.loads(json.dumps(plan.to_meta()))
    assert new["format_version"] == FORMAT_VERSION == 2 and new["study"] == to_dict(plan.study, resources=True)
    assert read_meta(new) == plan.study
    again = StudyPlan.from_meta(new)
    assert again.to_meta() == plan.to_meta()


def test_a_planned_study_json_keeps_the_document_with_its_resources(tmp_path):
    p = study.plan(grid="smoke", seeds=1, cpus_per_trial=0.5, max_failures=4, out=str(tmp_path / "s"))
    meta = json.loads(json.dumps(p.to_meta()))
    assert read_meta(meta) == p.study and p.study.resources == Resources(cpus_per_trial=0.5, max_failures=4)
    assert meta["study"]["resources"]["max_failures"] == meta["max_failures"] == 4
    with pytest.raises(ValueError, match=r"^format_version 3: written by a newer version"):
        read_meta({**meta, "format_version": 3})


def test_a_document_may_name_its_kind_else_its_blocks_make_it():
    """``kind`` left out: the blocks' kind, and no ``kind`` key written back; named: kept and
    written; a kind the registry does not know, or whose block the study lacks or does not take,
    is refused by planning naming the key."""
    assert parse({}).kind == "grid" and parse({"frontier": {}}).kind == "frontier"
    assert "kind" not in to_dict(parse({"search": {"space": {"lr": "loguniform:1e-4:1e-2"}}}))
    toy = parse({"kind": "shuffled"})
    assert toy.kind == "shuffled" and to_dict(toy)["kind"] == "shuffled" and parse(to_dict(toy)) == toy
    assert 'kind = "shuffled"' in to_toml(toy).splitlines() and "kind" not in to_toml(parse({}))
    assert from_dict(tomllib.loads(to_toml(toy)), "study") == toy
    with pytest.raises(DocumentError, match=r"^kind: must be the name of a kind of study, got 3$"):
        parse({"kind": 3})
    for data, message in [({"kind": "shuffled"}, "study: kind: unknown kind 'shuffled'; allowed: grid, optuna, "
                                                 "frontier"),
                          ({"kind": "grid", "frontier": {}}, "study: kind: a grid takes no [frontier] table"),
                          ({"kind": "optuna"}, "study: kind: a search needs a [search] table")]:
        with pytest.raises(StudyError) as info:
            study.plan(data)
        assert str(info.value) == message
