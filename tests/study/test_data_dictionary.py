"""The data dictionary (study/results/columns.py, docs/data.md) is the code's own: docs/data.md is
what scripts/data_dictionary.py writes from it, study.load_study's tables have its columns and
dtypes on every committed reference, and every other table, made by the code that writes it
(summary_table, frontier_table, study.compare, study.methods' analyse, pareto_front) or as the
references hold it (importances.csv, best.json), has no column and no dtype the dictionary lacks."""

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

import study
from palrnn.config import field_names
from study.results import columns as schema

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results"
REFERENCES = sorted(p.parent for p in RESULTS.glob("reference-*/study.json"))
_spec = importlib.util.spec_from_file_location("data_dictionary", ROOT / "scripts" / "data_dictionary.py")
script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(script)
CONFIG = {c.name: c.dtype for c in schema.config_columns()}
PLACEHOLDERS = (schema.SWEPT, schema.SETTINGS, schema.SEARCHED)  # each a run of config fields


def _table(name: str) -> schema.Table:
    return next(t for t in schema.tables() if t.name == name)


def _read_dtype(series: pd.Series) -> str:
    """A column's dtype as the dictionary names what pandas.read_csv gives: text, int64, float64, bool."""
    kind = str(series.dtype)
    return "text" if kind in ("object", "str", "string") else kind


def _check(name: str, df: pd.DataFrame, read: bool, complete: bool = True) -> None:
    """``df``'s columns are the table's (a placeholder stands for config fields), each with its dtype;
    ``read``: ``df`` as pandas.read_csv reads the file (else as study.load_study gives it)."""
    table = _table(name)
    listed = {c.name: c.dtype for c in table.columns}
    placeholder = any(c.name in PLACEHOLDERS for c in table.columns)
    for column in df.columns:
        if column in listed:
            want = listed[column]
        else:
            assert placeholder and column in CONFIG, f"{name}: column {column!r} is not in the data dictionary"
            want = CONFIG[column] if not read else None
        got = _read_dtype(df[column]) if read else str(df[column].dtype)
        if want is None or (read and df[column].isna().all()):
            continue  # a config field as read (its values decide), or a column with no value at all
        ok = {want} | ({"int64"} if read and want == "float64" else set())  # whole numbers, none missing
        assert got in ok, f"{name}: {column} is {got}, the data dictionary says {want}"
    if complete:
        missing = [c for c in listed if c not in PLACEHOLDERS and c not in df.columns]
        assert not missing, f"{name}: the dictionary lists {missing}, which the table lacks"


def test_docs_data_md_is_what_the_schema_gives():
    text = (ROOT / "docs" / "data.md").read_text()
    assert script.START in text and script.END in text
    assert script.rendered(text) == text, "docs/data.md is stale: run python scripts/data_dictionary.py"
    for table in schema.tables():
        assert f"## {table.name}" in text
        for column in table.columns:
            assert f"| `{column.name}` | {column.dtype} |" in text


def test_tidy_converts_by_the_schema():
    from study.results import tidy

    assert (tidy.CATEGORIES, tidy.INTEGERS, tidy.FLOATS, tidy.BOOLEANS, tidy.STRINGS) == (
        schema.CATEGORIES, schema.INTEGERS, schema.FLOATS, schema.BOOLEANS, schema.STRINGS)
    assert [c.name for c in schema.config_columns()] == list(field_names())


@pytest.mark.parametrize("folder", REFERENCES, ids=lambda p: p.name)
def test_load_study_gives_the_dictionarys_columns_and_dtypes(folder):
    if not (folder / "trials.csv").is_file():
        pytest.skip(f"{folder.name} is not a study folder")
    tables = study.load_study(folder)
    pbt = "member" in tables["trials"].columns
    _check("trials.csv", tables["trials"], read=False, complete=pbt)
    _check("curves.csv", tables["curves"], read=False, complete=pbt)
    _check("summary.csv", tables["summary"], read=False)
    if not pbt:  # every column but PBT's is always there
        pbt_only = {c.name for c in schema.PBT_TRIAL_COLUMNS} | {"exploited_from"}
        for name in ("trials", "curves"):
            listed = [c.name for c in _table(f"{name}.csv").columns if c.name not in pbt_only]
            assert list(tables[name].columns[:len(listed)]) == listed


def _as_read(df: pd.DataFrame) -> pd.DataFrame:
    import io

    return pd.read_csv(io.StringIO(df.to_csv(index=False)))


def test_summary_table_writes_the_dictionarys_columns():
    from study.results.folder import read_study_folder, summary_axes
    from study.results.summary import summary_table
    from study.results.tidy import tidy_summary

    data = read_study_folder(RESULTS / "reference-init")
    summary = summary_table(data["trials"], summary_axes(data["meta"], data["trials"].columns))
    _check("summary.csv", tidy_summary(_as_read(summary)), read=False)


@pytest.mark.parametrize("name", ["reference-frontier-exercise", "reference-frontier-best"])
def test_frontier_table_writes_the_dictionarys_columns(name):
    from study.frontier.table import frontier_table

    table = frontier_table(RESULTS / name)
    _check("frontier.csv", _as_read(table), read=True)
    _check("frontier.csv", pd.read_csv(RESULTS / name / "frontier.csv"), read=True)


def test_compare_writes_the_dictionarys_columns(tmp_path):
    trials = study.load_study(RESULTS / "reference-init")["trials"]
    comparison = study.compare(trials[trials["length"] <= 10], by="init", out=tmp_path, figures=False)
    _check("compare.csv", pd.read_csv(tmp_path / "compare.csv"), read=True)
    assert "init" not in comparison.table  # split by it: not a cell axis
    wide = study.compare(RESULTS / "reference-init", RESULTS / "reference-init", write=False).table
    _check("compare.csv", _as_read(wide), read=True)  # with a swept field, init, as a cell axis


def test_methods_writes_the_dictionarys_columns():
    from study.methods import analyse

    out = RESULTS / "reference-methods-rnn20"
    repeats, methods = analyse(out, ["random", "tpe"], [0, 1])
    _check("repeats.csv", _as_read(repeats), read=True)
    _check("methods.csv", _as_read(methods), read=True, complete=False)  # the confirm columns come later
    _check("methods.csv", pd.read_csv(out / "methods.csv"), read=True)
    _check("repeats.csv", pd.read_csv(out / "repeats.csv"), read=True)


def test_importances_and_pareto_are_as_listed():
    from study.results.pareto import pareto_front
    from study.results.search import IMPORTANCE_COLUMNS as COLUMNS

    assert [c.name for c in _table("importances.csv").columns] == COLUMNS
    for path in RESULTS.glob("reference-*/importances.csv"):
        _check("importances.csv", pd.read_csv(path), read=True)
    trials = pd.read_csv(RESULTS / "reference-search-rnn20" / "trials.csv", dtype={"trial_id": str})
    front = pareto_front(trials, [("eval_accuracy", "max"), ("steps_to_target", "min")])
    assert len(front) and list(front.columns) == list(trials.columns)  # pareto.csv: trials.csv's rows


JSON_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "list of strings": list}


def test_best_json_has_the_dictionarys_fields():
    listed = {c.name: c.dtype for c in _table("best.json").columns}
    files = sorted(RESULTS.glob("reference-*/best.json"))
    assert files
    for path in files:
        best = json.loads(path.read_text())
        assert set(best) - {"params"} <= set(listed), f"{path}: {set(best) - set(listed)} not in the dictionary"
        assert set(listed) - set(best) <= {"params"}, f"{path} lacks {set(listed) - set(best)}"
        for key, value in best.items():
            kind = listed[key].removesuffix(" or null")
            assert (value is None and listed[key].endswith(" or null")) or isinstance(value, JSON_TYPES[kind]), \
                f"{path.name}: {key} = {value!r}, the dictionary says {listed[key]}"
