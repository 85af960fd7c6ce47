"""Kinds carry their own behaviour (docs/extending.md, "A new kind of study").

- No module outside ``study/planning/kinds/`` checks which kind a study is: the engine builds a
  Tuner from the parts its kind names (``Kind.tuner``), the driver's end asks its kind for its
  status, the report for its sections (``Kind.report``). A grep of the code, as its syntax tree.
- A toy kind, a file's worth of code here and its registry lines added at run time, is planned,
  dry-run, estimated, given its Tuner's parts, ended with its status and reported: no other module
  changes. No Ray is started.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The words a check of a study's kind compares with: study.json's kinds, and PBT (a search's scheduler
# that runs otherwise than an Optuna search).
KIND_WORDS = {"grid", "optuna", "frontier", "pbt"}
# Where a study's kind may be checked: the kinds themselves, and the spec layer, which parses the
# study document's [search] and [frontier] blocks (which make its kind: spec/document.py's Study.kind).
ALLOWED = ("study/planning/kinds/", "study/spec/")
# Checks in modules this rule does not reach yet, each with why it stays for now.
EXCEPTIONS = {
    # The front end: the kind of study the options ask for (--grid, --search, --frontier), and whether
    # a study file is that kind; each kind then changes its own block (Kind.change).
    "study/planning/merge.py": "which kind of study the options ask for (the front end)",
    # The methods command compares search methods by their names (--methods grid,optuna,pbt,...).
    "study/methods.py": "its own --methods names",
    # The results layer reads study.json: pareto.py's objectives are a search's (kind "optuna"; a
    # grid with a search block has none: tests/study/test_mutants_pareto.py).
    "study/results/pareto.py": "a search's objectives (meta['kind'] == 'optuna')",
}


def _strings(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return set()


def kind_checks(source: str) -> list[str]:
    """The comparisons in ``source`` that tell kinds apart: with a kind's name (``plan.kind ==
    "grid"``, ``meta.get("kind") != "optuna"``, ``scheduler == "pbt"``), or of a plan's ``search``,
    ``frontier`` or ``grid`` with None (``plan.search is None``). An ``assert`` (a type's narrowing
    where the kind is known already) is not one."""
    tree = ast.parse(source)
    asserted = {id(n) for a in ast.walk(tree) if isinstance(a, ast.Assert) for n in ast.walk(a)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or id(node) in asserted:
            continue
        sides = [node.left, *node.comparators]
        named = any(_strings(s) & KIND_WORDS for s in sides)
        blocks = any(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops) and any(
            isinstance(s, ast.Attribute) and s.attr in ("search", "frontier", "grid") for s in sides)
        if named or blocks:
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_the_checker_finds_each_way_a_kind_was_checked():
    source = '''
if plan.search is None: pass
x = 1 if plan.frontier is not None else 2
if plan.kind == "grid": pass
if meta.get("kind") != "optuna": pass
if kind in ("frontier", "x"): pass
pbt = s.scheduler == "pbt"
assert plan.search is not None
if "accuracy" in kind.report: pass
'''
    assert sorted(int(c.split(":")[0]) for c in kind_checks(source)) == [2, 3, 4, 5, 6, 7]


def test_no_module_outside_the_kinds_checks_which_kind_a_study_is():
    found = {}
    for path in sorted((ROOT / "study").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(ALLOWED) or rel in EXCEPTIONS:
            continue
        checks = kind_checks(path.read_text())
        if checks:
            found[rel] = checks
    assert not found, ("ask the study's kind (plan.kind_of, study.planning.kinds.kind_named) instead of "
                       f"checking which it is: {found}")


# ---- a toy kind: what a file in study/planning/kinds/ would hold ------------------------------


def _toy_kind():
    from study.basics.text import wrap_parts
    from study.planning.kinds import TunerParts
    from study.planning.kinds.grid import GridKind

    class ShuffledKind(GridKind):
        """A grid whose trials Ray runs in a seeded random order (its own searcher, "shuffled"),
        reported without the odd-vs-even contrasts, complete once half its trials finished."""

        name = "shuffled"
        noun = "shuffled grid"
        report = ("accuracy",)

        def tuner(self, plan):
            return TunerParts(searcher="shuffled")

        def headline(self, plan, label, width):
            return wrap_parts([self.count_text(plan)], " ", first=f"study {label} (shuffled grid): ", indent="  ",
                              width=width)

        def title(self, meta, long=False):
            return "shuffled grid" + (f" of {meta.get('trials')} trials" if long else "")

        def status(self, plan, rows, unfinished, errors):
            unfinished += max(0, plan.n_trials - rows)
            return ("complete" if 2 * (rows - errors) >= plan.n_trials else "interrupted"), unfinished

        def status_line(self, status, unfinished, errors, resume):
            return None if status == "complete" else f"{status}: fewer than half its trials finished. {resume}"

    return ShuffledKind()


def _shuffled(spec):  # what a file in study/engine/search/ would hold
    from ray.tune.search import BasicVariantGenerator

    return BasicVariantGenerator(random_state=0)


@pytest.fixture
def toy(monkeypatch):
    """The toy kind's registry lines: its kind in KINDS, its searcher in SEARCHERS. A study file
    names it (``kind = "shuffled"``)."""
    from study.engine import search
    from study.planning.kinds import KINDS

    kind = _toy_kind()
    monkeypatch.setitem(KINDS, kind.name, kind)
    monkeypatch.setitem(search.SEARCHERS, "shuffled", _shuffled)
    return kind


def test_a_toy_kind_is_planned_dry_run_and_given_its_tuner_parts(toy, tmp_path, no_ray):
    import study
    from study.engine.spec import TunerSpec
    from study.engine.tuner import _param_space, _tune_config, tuner_specs

    path = tmp_path / "shuffled.toml"
    path.write_text('name = "shuffled"\nkind = "shuffled"\nseeds = 2\n[fixed]\nsteps = 200\neval_every = 100\n[axes]\n'
                    'model = ["RNN", "LSTM"]\nlength = [5, 6]\n')
    plan = study.plan(str(path), results_dir=str(tmp_path))
    assert plan.kind == plan.study.kind == "shuffled" and plan.kind_of is toy and plan.n_trials == 8
    text = plan.text()
    assert text.startswith("study shuffled (shuffled grid): 8 trials") and "estimate:" in text
    assert len(plan.configs()) == 8 and plan.estimated().trials == 8
    (spec,) = tuner_specs(plan, verbose=0)
    config = _tune_config(spec)
    assert type(config.search_alg).__name__ == "BasicVariantGenerator" and config.scheduler is None
    assert _param_space(TunerSpec(plan))["seed"] == {"grid_search": [0, 1]}


def test_a_toy_kind_ends_with_its_status_and_its_report(toy, tmp_path, capsys, no_ray):
    """The driver's end (study.driver.finish) on a finished grid's tables, as the toy's: its status
    is the toy's, its report has the toy's title and sections."""
    import pandas as pd

    from study.driver.finish import finish
    from study.planning.plan import StudyPlan

    folder = tmp_path / "shuffled"
    shutil.copytree(ROOT / "results" / "reference-search-rnn20-confirm", folder)
    meta = json.loads((folder / "study.json").read_text())
    meta.update(kind="shuffled", name="shuffled", results_dir=str(tmp_path), trials=8)
    (folder / "study.json").write_text(json.dumps(meta))
    plan = dataclasses.replace(StudyPlan.from_meta(meta), results_dir=str(tmp_path), name="shuffled")
    assert plan.kind_of is toy
    trials, curves = pd.read_csv(folder / "trials.csv"), pd.read_csv(folder / "curves.csv")
    done = finish(plan, trials, curves, 1.0, report=True, echo=True)
    out = capsys.readouterr().out
    # 5 of 8 planned: complete by the toy's rule (a grid's would be interrupted), and nothing to resume
    assert (done["status"], done["unfinished"]) == ("complete", 3)
    assert json.loads((folder / "study.json").read_text())["status"] == "complete"
    assert "study shuffled (shuffled grid): 5 trials" in out and "Resume with" not in out
    assert "Odd vs even" not in out  # not among the toy's sections
    html = (folder / "report.html").read_text()
    assert "shuffled grid of 8 trials" in html and 'id="summary"' in html
    status, unfinished = toy.status(dataclasses.replace(plan, n_trials=12), 5, 0, 0)
    assert toy.status_line(status, unfinished, 0, "R") == "interrupted: fewer than half its trials finished. R"
