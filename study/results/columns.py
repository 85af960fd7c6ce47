"""The data dictionary: every table a study writes, each column's dtype and meaning. docs/data.md is made from it
(``scripts/data_dictionary.py``); ``study.results.tidy`` gives trials, curves and summary these dtypes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from palrnn.config import Config, field_names


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    meaning: str


@dataclass(frozen=True)
class Table:
    name: str  # the file a study folder (or the --out folder) holds
    rows: str  # what one row is
    dtypes: str  # where the dtypes come from
    columns: tuple[Column, ...]
    note: str = ""


LOADED = "study.load_study"
READ = "pandas.read_csv"
JSON = "JSON"
# Placeholders: a run of config fields whose names depend on the study.
SWEPT = "<swept fields>"
SETTINGS = "<cell settings>"
SEARCHED = "<searched fields>"


def _config_dtype(kind: object) -> str:
    """A config field's dtype in trials and curves: text is a category, whole numbers Int64."""
    kind = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    return "category" if kind.startswith("str") else "Int64" if kind.startswith("int") else "float64"


def config_columns() -> tuple[Column, ...]:
    """Every palrnn config field, in Config's order: its help text is its meaning."""
    fields = {f.name: f for f in dataclasses.fields(Config)}
    return tuple(Column(n, _config_dtype(fields[n].type), str(fields[n].metadata.get("help", ""))
                        + ("; NaN: no clipping" if n == "max_norm" else "")) for n in field_names())


def _cols(*rows: tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*row) for row in rows)


_LAST = "at the trial's last evaluation"
METRIC_COLUMNS = _cols(
    ("step", "Int64", f"training steps done, {_LAST}"),
    ("train_loss", "float64", "training loss, mean over the steps since the evaluation before"),
    ("train_accuracy", "float64", "training-batch accuracy over the steps since the evaluation before"),
    ("eval_loss", "float64", "held-out loss"),
    ("eval_accuracy", "float64", "held-out accuracy (the trials table: the final accuracy every summary averages)"),
    ("best_eval_accuracy", "float64", "the highest held-out accuracy of any evaluation so far (missing in older "
                                      "studies and in curves)"),
    ("examples_per_second", "float64", "training sequences per second since the evaluation before"),
    ("grad_norm", "float64", "gradient norm before clipping, mean over the steps since the evaluation before"),
    ("grad_norm_max", "float64", "largest gradient norm before clipping since the evaluation before"),
    ("mean_train_accuracy", "float64", "training-batch accuracy over every step so far (the exercise's metric)"),
    ("diverged", "boolean", "the loss or gradient norm went non-finite or past diverge_loss; training stopped"),
    ("steps_to_target", "Int64", "the first step whose held-out accuracy reached the target; <NA>: never"),
    ("stopped_early", "boolean", "stopped once the target held for `patience` evaluations"),
)
TRIAL_END_COLUMNS = _cols(
    ("status", "category", "Ray's status: TERMINATED, ERROR, RUNNING, PENDING, PAUSED"),
    ("stopped_by", "category", "why the trial ended: steps (all of them), target, diverged, scheduler (cut by "
                               "ASHA or a decided frontier probe), error, unfinished (the study stopped first)"),
    ("node", "category", "the Ray node (machine) that ran it"),
    ("restarts", "Int64", "times Ray restarted the trial after its worker failed"),
    ("restarted_from_scratch", "boolean", "a restart found no checkpoint and trained again from step 0"),
    ("wall_seconds", "float64", "wall time the trial trained, over its restarts"),
    ("params", "Int64", "the model's parameter count (missing in studies made before it was recorded)"),
    ("error", "string", "a failed trial's error, one line"),
)
PBT_TRIAL_COLUMNS = _cols(
    ("member", "Int64", "Population Based Training only: the trial's place in the population"),
    ("exploits", "Int64", "Population Based Training only: times the member went on from another's weights"),
    ("lineage", "string", "Population Based Training only: the members it went on from, in order"),
)
TRIAL_ID = Column("trial_id", "string", "Ray's id of the trial")

SUMMARY_COLUMNS = _cols(
    ("model", "category", "the architecture"),
    ("length", "Int64", "T"),
    (SWEPT, "as in trials", "one column per other field the study swept (a search: every searched field)"),
    ("seeds", "Int64", "finished trials averaged (stopped_by steps, target or diverged)"),
    ("eval_accuracy_mean", "float64", "final held-out accuracy, mean over the seeds"),
    ("eval_accuracy_low", "float64", "its 95% interval's low end (t(0.995) | Wilson, docs/statistics.md); "
                                     "NaN with one seed"),
    ("eval_accuracy_high", "float64", "its 95% interval's high end"),
    ("solved", "Int64", "seeds that reached the target at some evaluation"),
    ("solved_low", "float64", "the solve rate solved/seeds: its 95% Wilson interval's low end"),
    ("solved_high", "float64", "the solve rate's 95% Wilson interval's high end"),
    ("held", "Int64", "seeds whose last evaluation is still at or above the target"),
    ("steps_to_target_median", "float64", "median steps to the target over the solved seeds; NaN if none"),
    ("diverged", "Int64", "seeds that diverged"),
    ("stopped_early", "Int64", "seeds stopped early once the target held"),
    ("mean_train_accuracy", "float64", "the exercise's metric, mean over the seeds"),
    ("train_accuracy_final", "float64", "the last window's training-batch accuracy, mean over the seeds"),
    ("errored", "Int64", "trials left out: failed with an error"),
    ("unfinished", "Int64", "trials left out: not finished when the study stopped (--resume continues them)"),
    ("cut", "Int64", "trials left out: stopped early by the scheduler"),
)

FRONTIER_COLUMNS = _cols(
    ("model", "text", "the architecture"),
    (SETTINGS, "as read", "every other field that varies between the frontier's cells"),
    ("cell", "text", "the cell's label"),
    ("length", "float64", "T probed; empty for a cell not probed yet"),
    ("outcome", "text", "passed, failed, moot, running, or not probed"),
    ("k", "float64", "seeds solved (reached the target at some evaluation)"),
    ("n", "float64", "seeds finished (a probe stops once decided)"),
    ("held", "float64", "of those n, seeds whose last evaluation is at or above the target"),
    ("solved_rate", "float64", "k/n"),
    ("solved_low", "float64", "k/n's 95% Wilson interval, low end"),
    ("solved_high", "float64", "k/n's 95% Wilson interval, high end"),
    ("steps_to_target_median", "float64", "median steps to the target of the solved seeds"),
    ("launched", "float64", "seeds started"),
    ("stopped", "float64", "seeds stopped once the probe was decided or moot (not counted)"),
    ("errors", "float64", "trials that failed for good, counted as not solved"),
    ("counted", "bool", "the probe is below the first failure, or is it: what the solve rule uses"),
    ("probe_order", "float64", "0 = probed first"),
    ("longest_solved", "float64", "the cell's longest T that passed; empty: none"),
    ("first_failed", "float64", "the cell's shortest T that failed; empty: none"),
    ("fitted_length", "float64", "the T where a logistic fit of the solve rate crosses the rule's cutoff"),
    ("fitted_low", "float64", "that crossing's 95% interval, low end"),
    ("fitted_high", "float64", "that crossing's 95% interval, high end"),
    ("fitted_note", "text", "why there is no crossing, or how far to trust it"),
    ("done", "bool", "the cell's search is over"),
    ("rule", "text", "the solve rule K/N (K of N seeds solve)"),
    ("target", "float64", "the held-out accuracy that counts as solved"),
    ("steps", "int64", "training steps per seed"),
)

_SIDE = (("seeds", "int64", "finished seeds"), ("accuracy", "float64", "final held-out accuracy, mean over seeds"),
         ("accuracy_low", "float64", "its 95% interval, low end"), ("accuracy_high", "float64", "high end"),
         ("solved", "int64", "seeds that reached the target"), ("solve_rate", "float64", "solved/seeds"),
         ("solve_low", "float64", "its 95% Wilson interval, low end"), ("solve_high", "float64", "high end"))
COMPARE_COLUMNS = (
    *_cols(("model", "text", "the architecture"), ("length", "int64", "T"),
           (SWEPT, "as read", "one column per other field any compared study swept"),
           ("study_a", "text", "A, the first study: its folder's name (a DataFrame: A; by=: field=value)"),
           ("study_b", "text", "B, the study compared with A")),
    *_cols(*((f"{s.lower()}_{n}", "float64" if d == "int64" else d, f"{s}: {m} (empty: {s} lacks the cell)")
             for s in "AB" for n, d, m in _SIDE)),
    *_cols(
        ("accuracy_diff", "float64", "B - A of the mean accuracies"),
        ("accuracy_diff_low", "float64", "its 95% MOVER interval, low end"),
        ("accuracy_diff_high", "float64", "its 95% MOVER interval, high end"),
        ("solve_rate_diff", "float64", "B - A of the solve rates"),
        ("solve_rate_diff_low", "float64", "its 95% interval (Newcombe's), low end"),
        ("solve_rate_diff_high", "float64", "its 95% interval, high end"),
        ("margin", "float64", "the practical margin the verdict used (--margin, margin=)"),
        ("verdict", "text", "differs (the interval lies wholly outside +-margin), same (wholly inside), "
                            "inconclusive; empty where only one study has the cell"),
        ("differs", "bool", "verdict == differs"),
        ("present", "text", "both, or only <study>"),
        ("set_aside", "text", "the fixed settings set aside (--ignore, ignore=, by=), comma-separated"),
    ),
)

IMPORTANCE_COLUMNS = _cols(
    ("param", "text", "a searched field"),
    ("fanova_mean", "float64", "its fANOVA importance (share of the objective's variance), mean over the seeds"),
    ("fanova_min", "float64", "the lowest over the random forest's seeds"),
    ("fanova_max", "float64", "the highest over the seeds"),
    ("seeds", "text", "the random forest's seeds, e.g. 0-9"),
    ("evaluator", "text", "how it was computed (Optuna's FanovaImportanceEvaluator)"),
)

_RANGE = "median [min, max] over the repeats that solved, as text"
METHODS_COLUMNS = _cols(
    ("method", "text", "the search method (random, tpe, gp, cmaes, pbt ...)"),
    ("repeats", "int64", "searches run, one per search seed"),
    ("solved", "text", "repeats that found a config that solved, as k/n"),
    ("trials_to_solve", "text", f"trials until the first solve, {_RANGE}"),
    ("steps_to_solve", "text", f"training steps spent until the first solve, {_RANGE}"),
    ("best_eval_accuracy", "text", "each repeat's best held-out accuracy, median [min, max], as text"),
    ("wall_minutes", "float64", "wall time of all its repeats"),
    (SEARCHED, "as read", "the best config's searched fields (of the first repeat's best.json)"),
    ("confirm_mean", "float64", "that config rerun over 5 seeds: mean held-out accuracy"),
    ("confirm_low", "float64", "its 95% interval, low end"),
    ("confirm_high", "float64", "its 95% interval, high end"),
    ("confirm_solved", "text", "seeds of the rerun that solved, as k/n"),
)
REPEATS_COLUMNS = _cols(
    ("method", "text", "the search method"),
    ("search_seed", "int64", "the search's seed"),
    ("trials", "int64", "trials the search ran"),
    ("steps_spent", "int64", "training steps all its trials took"),
    ("solved", "bool", "some trial reached the target"),
    ("trials_to_solve", "float64", "trials until the first solve; empty: never"),
    ("steps_to_solve", "float64", "training steps spent until the first solve; empty: never"),
    ("best_eval_accuracy", "float64", "the best trial's held-out accuracy"),
    ("best_trial", "text", "the best trial's id (best.json's)"),
    ("wall_seconds", "float64", "the search's wall time"),
)

_JSON_TYPES = {"category": "string", "string": "string", "Int64": "integer", "float64": "number", "boolean": "boolean"}
NULLABLE = ("max_norm", "steps_to_target", "best_eval_accuracy", "params", "error", "node")
WRITTEN_AS_FLOAT = ("steps_to_target",)  # best.json has trials.csv's 1500.0


def best_fields() -> tuple[Column, ...]:
    """best.json: the best trial's trials.csv row (JSON types; null where missing), and its ties."""
    row = (TRIAL_ID, *config_columns(), *METRIC_COLUMNS, *TRIAL_END_COLUMNS)
    return (*(Column(c.name, ("number" if c.name in WRITTEN_AS_FLOAT else _JSON_TYPES[c.dtype])
                     + " or null" * (c.name in NULLABLE), c.meaning) for c in row),
            *_cols(("tied", "list of strings", "every trial with that very value, the best first"),
                   ("tie_break", "string", "the rule that chose among the tied, in words"),
                   ("confirm", "string", "the command that reruns the config over 5 seeds")))


def trial_columns() -> tuple[Column, ...]:
    return (TRIAL_ID, *config_columns(), *METRIC_COLUMNS, *TRIAL_END_COLUMNS, *PBT_TRIAL_COLUMNS)


def curve_columns() -> tuple[Column, ...]:
    exploited = Column("exploited_from", "Int64", "Population Based Training only: the member whose weights the "
                                                  "trial went on from since the record before")
    return (TRIAL_ID, *config_columns(), *METRIC_COLUMNS, exploited)


def tables() -> tuple[Table, ...]:
    """Every table, in the order docs/data.md lists them."""
    return (
        Table("trials.csv", "one per trial", LOADED, trial_columns(),
              "Under Population Based Training the config columns are the values a trial ended with."),
        Table("curves.csv", "one per trial per evaluation (every eval_every steps)", LOADED, curve_columns(),
              "The metrics are those of that evaluation; under Population Based Training lr and max_norm are "
              "what the trial trained with then."),
        Table("summary.csv", "one per cell (model x length x each swept value; a search: each config)", LOADED,
              SUMMARY_COLUMNS, "study.results.summary.summary_table computes it; the report rounds it to 6 "
                               "decimals."),
        Table("frontier.csv", "one per cell and probed length (a memory frontier, docs/frontier.md)", READ,
              FRONTIER_COLUMNS),
        Table("compare.csv", "one per cell per study after the first (python -m study.compare, study.compare; "
                             "docs/compare.md)", READ, COMPARE_COLUMNS,
              "study.compare(...).table is the same table as a DataFrame (there the counts are Int64)."),
        Table("importances.csv", "one per searched field (an Optuna search)", READ, IMPORTANCE_COLUMNS),
        Table("pareto.csv", "one per trial on its cell's Pareto front (a search of several objectives)", READ,
              (Column("<trials.csv's columns>", "as read", "the rows of trials.csv on the front, best first by "
                                                           "the first objective"),)),
        Table("best.json", "one object: a search's best trial", JSON, best_fields()),
        Table("methods.csv", "one per search method (python -m study.methods)", READ, METHODS_COLUMNS),
        Table("repeats.csv", "one per search method and search seed (python -m study.methods)", READ,
              REPEATS_COLUMNS),
    )


def _loaded(dtype: str) -> tuple[str, ...]:
    return tuple(c.name for c in (*trial_columns(), *curve_columns()[-1:]) if c.dtype == dtype)


# What study.results.tidy converts each column to (trials, curves; summary's counts are Int64 there).
CATEGORIES, INTEGERS, FLOATS, BOOLEANS, STRINGS = (_loaded(d) for d in ("category", "Int64", "float64", "boolean",
                                                                       "string"))


def markdown() -> str:
    """docs/data.md's generated part: one section per table."""
    lines: list[str] = []
    for table in tables():
        lines += [f"## {table.name}", "", f"Rows: {table.rows}. Dtypes: as {table.dtypes} gives them."
                  + (f" {table.note}" if table.note else ""), "", "| column | dtype | meaning |", "|---|---|---|"]
        lines += [*(f"| `{c.name}` | {c.dtype} | {c.meaning.replace('|', '/')} |" for c in table.columns), ""]
    return "\n".join(lines)
