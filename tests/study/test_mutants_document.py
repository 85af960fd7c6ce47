"""What mutmut's survivors in study/spec/document.py showed untested (docs/testing.md, Survivors):
the resources' bounds and the types they refuse, their messages word for word, a document's default
name, and a study file's error read back to its key path."""

import pytest

from study.spec.document import DocumentError, Resources, number, parse

ALLOWED = "cpus_per_trial, gpus_per_trial, checkpoint_every, max_failures, max_concurrent"


def refused(data):
    with pytest.raises(DocumentError) as info:
        parse(data)
    return info.value


def test_a_document_without_a_name_is_named_study():
    assert parse({}).name == "study"


def test_a_document_that_is_not_a_table_is_refused_without_a_key_path():
    error = refused(3)
    assert error.path == () and str(error) == error.toml == "must be a table of keys, got int"
    assert str(DocumentError((), "why")) == "why"


def test_resources_that_are_not_a_table_are_refused_naming_resources():
    error = refused({"resources": 3})
    assert error.path == ("resources",)
    assert str(error) == error.toml == f"resources: must be a table of {ALLOWED}, got 3"


@pytest.mark.parametrize("value, shown", [(True, "True"), ("abc", "'abc'"), (None, "None"), (-1, "-1"),
                                          (float("inf"), "inf")])
def test_a_number_resource_refuses_a_bool_text_that_is_no_number_and_a_value_below_zero(value, shown):
    error = refused({"resources": {"gpus_per_trial": value}})
    assert error.path == ("resources", "gpus_per_trial")
    assert str(error) == f"resources.gpus_per_trial: must be a number >= 0, got {shown}"


def test_number_is_at_least_low_unless_strict():
    assert number(0, 0) == 0.0 and number("0.5", 0, strict=True) == 0.5
    with pytest.raises(ValueError) as info:
        number(0, 0, strict=True)
    assert str(info.value) == "must be a number > 0, got 0"


@pytest.mark.parametrize("key, value, message", [
    ("max_failures", True, "must be an integer >= 0, got True"),
    ("max_failures", 1.5, "must be an integer >= 0, got 1.5"),
    ("max_failures", "1.5", "must be an integer >= 0, got '1.5'"),
    ("max_concurrent", -1, "must be an integer >= 0, got -1"),
    ("checkpoint_every", 0, "must be an integer >= 1, got 0"),
])
def test_a_whole_resource_refuses_a_bool_a_fraction_and_a_value_below_its_bound(key, value, message):
    error = refused({"resources": {key: value}})
    assert error.path == ("resources", key) and str(error) == f"resources.{key}: {message}"


def test_a_whole_resource_takes_its_bound_and_its_text_as_an_integer():
    resources = parse({"resources": {"checkpoint_every": 1, "max_failures": "3", "max_concurrent": 0}}).resources
    assert resources == Resources(checkpoint_every=1, max_failures=3, max_concurrent=0)
    assert all(type(getattr(resources, k)) is int for k in ("checkpoint_every", "max_failures", "max_concurrent"))


def test_a_study_files_error_is_read_back_to_its_key_path():
    """A study file's wording (``[search] space: why``) becomes the key path, also when the reason
    holds a ``] `` or a ``: `` of its own, and a dotted table is each of its keys."""
    error = refused({"search": {}})
    why = 'give the fields Optuna chooses, as [search.space] with lines like lr = "loguniform:1e-4:3e-2"'
    assert error.path == ("search", "space") and str(error) == f"search.space: {why}"
    assert error.toml == f"[search] space: {why}"
    error = refused({"fixed": {"lr": "a: b"}})
    assert error.path == ("fixed", "lr") and str(error) == "fixed.lr: must be a finite number > 0, got 'a: b'"
    error = refused({"search": {"space": {"lr": "bogus"}}})
    assert error.path == ("search", "space") and error.table
    assert DocumentError.of_toml("[search.space] lr: why").path == ("search", "space", "lr")
