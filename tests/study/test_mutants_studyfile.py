"""study.spec.studyfile, the study file's parser and writer: each refusal's one line, word for word,
and every key written and read back. The mutants that the planning tests let through
(docs/testing.md, python scripts/mutation.py) each change one of these."""

import re
import tomllib

import pytest

from study.basics.errors import StudyError
from study.frontier.options import FrontierOptions
from study.spec.fields import FIELDS
from study.spec.search import Search
from study.spec.space import parse_dist
from study.spec.studyfile import Study, _toml, from_dict, read_toml, to_dict, to_toml

SPACE = {"space": {"lr": "loguniform:1e-4:1e-2"}}


def _refused(data, message):
    with pytest.raises(StudyError) as caught:
        from_dict(data, "w")
    assert str(caught.value) == "w: " + message


def test_read_toml_names_the_file_and_takes_its_name(tmp_path):
    (tmp_path / "my-study.toml").write_text('description = "café"\n', encoding="utf-8")
    assert read_toml(tmp_path / "my-study.toml", "w") == Study(name="my-study", description="café")
    (tmp_path / "bad name!.toml").write_text("", encoding="utf-8")
    assert read_toml(tmp_path / "bad name!.toml", "w").name == "study"
    (tmp_path / "broken.toml").write_text("x = = 1\n", encoding="utf-8")
    with pytest.raises(StudyError, match=r"^w: not valid TOML: .*line 1"):
        read_toml(tmp_path / "broken.toml", "w")
    with pytest.raises(StudyError, match=r"^w: cannot be read \(.*[Ii]s a directory.*\)$"):
        read_toml(tmp_path, "w")


def test_each_refusal_is_its_own_line():
    _refused([1], "must be a table of keys, got list")
    _refused({"name": "x" * 81}, f"name: {'x' * 81!r} is not allowed; use letters, digits, '.', '_' and '-' "
                                 "(at most 80 characters)")
    assert from_dict({"name": "x" * 80}, "w").name == "x" * 80
    _refused({"description": 3}, "description: must be a string, got 3")
    _refused({"fixed": {"seed": 1}}, "[fixed] seed: seeds are swept by the key seeds = N (seeds 0 .. N-1)")
    _refused({"axes": {"seed": [1]}}, "[axes] seed: seeds are swept by the key seeds = N (seeds 0 .. N-1)")
    _refused({"fixed": 3}, "fixed: must be a table ([fixed] with FIELD = value lines), got 3")
    _refused({"axes": 3}, "axes: must be a table ([axes] with FIELD = value lines), got 3")
    _refused({"fixed": {"nope": 1}}, f"[fixed] nope: unknown config field; allowed: {', '.join(sorted(FIELDS))}")
    _refused({"search": SPACE, "seeds": 2}, "seeds: a search trains each config on seed 0 (the best one's command "
                                          "reruns it over seeds); leave seeds out")
    _refused({"search": SPACE, "fixed": {"lr": 0.01}},
             "lr: in both [fixed] and [search.space]; give one")
    _refused({"search": SPACE, "frontier": {}},
             "frontier: not with [search]; a study is a grid, a search or a frontier")
    _refused({"frontier": {}, "seeds": 2},
             "seeds: a frontier runs seeds 0 .. N-1 of its solve rule K/N; leave seeds out")
    for key in ("axes", "fixed"):
        value = [5] if key == "axes" else 5
        _refused({"frontier": {}, key: {"length": value}}, f"[{key}] length: a frontier searches the lengths; give "
                                                            "start_length and max_length in [frontier]")
    _refused({"frontier": 3}, "frontier: must be a table ([frontier] with solve_rule, start_length, max_length, "
                              "speculate), got 3")
    _refused({"frontier": {"solve_rule": True}}, "[frontier] solve_rule: must be K/N with 1 <= K <= N, got True")
    _refused({"mlflow": ""}, "mlflow: must be true (a SQLite store in the study folder), false or a tracking URI such "
                             "as \"http://host:5000\", got ''")


def test_mlflow_and_frontier_values():
    assert from_dict({"mlflow": True}, "w").mlflow is True and from_dict({"mlflow": False}, "w").mlflow is None
    assert from_dict({"mlflow": " http://h:5000 "}, "w").mlflow == "http://h:5000"
    assert from_dict({"frontier": True}, "w").frontier == FrontierOptions()


def test_every_key_is_written_and_read_back():
    search = Search(space={"lr": parse_dist("lr", "loguniform:1e-4:1e-2")}, mode="min")
    studies = [Study(name="s", description="café", fixed={"max_norm": None, "hidden": 64}, search=search,
                     mlflow="http://h:5000"),
               Study(name="f", axes={"model": ["RNN"], "init": ["default"]}, mlflow=True,
                     frontier=FrontierOptions(rule=(2, 3), max_length=40))]
    for study in studies:
        text = to_toml(study)
        assert from_dict(tomllib.loads(text), "w") == study and from_dict(to_dict(study), "w") == study
    assert 'description = "café"' in to_toml(studies[0]) and "max_norm = \"none\"" in to_toml(studies[0])
    assert re.search(r'\n\[frontier\]\nsolve_rule = "2/3"\n', to_toml(studies[1]))
    assert to_dict(studies[1])["mlflow"] is True


def test_pbts_keys_are_written():
    pbt = Search(space={"lr": parse_dist("lr", "loguniform:1e-4:1e-2")}, scheduler="pbt", perturbation_interval=50,
                 perturb=("lr",))
    written = to_dict(Study(name="p", search=pbt))["search"]
    assert written["perturbation_interval"] == 50 and written["perturb"] == ["lr"]
    # PBT takes no sampler: none is written, and the study.toml a PBT study leaves reads back as that study.
    assert "sampler" not in written and written["seed"] == 0 and written["scheduler"] == "pbt"
    study = Study(name="p", search=pbt)
    assert from_dict(tomllib.loads(to_toml(study)), "w") == study
    assert "sampler" in to_dict(Study(name="s", search=Search(space=pbt.space)))["search"]


def test_toml_values():
    assert [_toml(v) for v in (None, True, False, 3, 0.5, "é", [1, "a"])] == \
        ['"none"', "true", "false", "3", "0.5", '"é"', '[1, "a"]']
    with pytest.raises(TypeError, match=r"^cannot write \{\} to a study file$"):
        _toml({})


def test_a_study_without_a_name_is_called_study():
    assert from_dict({}, "w").name == "study"


def test_storage_is_read_checked_written_and_read_back():
    """A study file's top-level storage: read as given, refused when empty or not a string, written
    by to_dict and to_toml under its own key, and read back the same (none when not given)."""
    uri = "s3://bucket/prefix?endpoint_override=http://127.0.0.1:9000"
    study = from_dict({"storage": uri}, "w")
    assert study.storage == uri and from_dict({}, "w").storage is None
    for bad in ("", "  ", 5, ["s3://b"]):
        _refused({"storage": bad},
                 f"storage: must be a URI such as \"s3://bucket/prefix\" or a path, got {bad!r}")
    assert to_dict(study)["storage"] == uri and "storage" not in to_dict(from_dict({}, "w"))
    text = to_toml(study)
    assert tomllib.loads(text)["storage"] == uri and "storage" not in tomllib.loads(to_toml(from_dict({}, "w")))
    assert from_dict(tomllib.loads(text), "w") == study
