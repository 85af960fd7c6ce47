"""A study folder's layout: the name of every file and folder a study leaves in results/<name>/,
in one place (docs/design.md lists what each holds).

    study.json            the plan (study.json's keys: ``study.planning.plan.META_KEYS``), its status,
                          provenance and wall time
    study.toml            the resolved study: the study file that plans these very trials again
    trials.csv            one row per trial: its config, its final metrics, how it ended
    curves.csv            one row per trial per evaluation
    summary.csv           per cell: seeds, mean held-out accuracy and its 95% interval, solves
    best.json             a search's best config, with the command that confirms it over seeds
    pareto.csv            a search of several objectives: the trials on its Pareto front
    importances.csv       an Optuna search: each searched field's fANOVA importance (study.results.importance)
    report.html           the report as one self-contained page
    figures/              the report's figures (figures/frontier.png for a memory frontier)
    checkpoints/          each trial's one checkpoint, <trial_key>.pt
    optuna.journal        a search's Optuna studies
    frontier/state.json   a memory frontier's search state; frontier.csv its table
    tensorboard/          a run per trial for TensorBoard
    mlflow.db             the study's own MLflow store (--mlflow), its artifacts in mlartifacts/
    cells/<model>-T<T>/   Ray's experiment of each cell of a search over several cells
    finished/             Ray's experiment of trials Ray stopped short (TERMINATED) that a later run finished
    .lock                 held by the one driver running the study
"""

STUDY_FILE = "study.json"
STUDY_TOML = "study.toml"
TRIALS = "trials.csv"
CURVES = "curves.csv"
SUMMARY = "summary.csv"
BEST = "best.json"
PARETO = "pareto.csv"
PARETO_FIGURE = "pareto.png"  # under figures/
IMPORTANCES = "importances.csv"
REPORT = "report.html"
FIGURES = "figures"
CHECKPOINTS = "checkpoints"
OPTUNA_JOURNAL = "optuna.journal"
PBT_LOG = "pbt/decisions.json"  # Population Based Training's decisions, in order (study.results.pbt); in a
# folder, not at the top: Ray's Tuner.restore puts its own older copy of a top .json file back (see below)
PBT_FIGURE = "pbt.png"  # under figures/
# Not a .json file at the folder's top: Ray's Tuner.restore copies those to its staging folder and
# later back over the originals, which would put an older state back.
FRONTIER_STATE = "frontier/state.json"
FRONTIER_CSV = "frontier.csv"
FRONTIER_FIGURE = "frontier.png"  # under figures/
TENSORBOARD = "tensorboard"  # tensorboard/<run name>/events.out.tfevents.*
MLFLOW_DB = "mlflow.db"
MLFLOW_ARTIFACTS = "mlartifacts"  # beside a SQLite store: the runs' artifacts (figures)
CELLS = "cells"
FINISHED = "finished"  # a Ray experiment of the trials Ray stopped short that a later run finished
LOCK = ".lock"
# What a driver resumes from besides Ray's experiment and the trials' checkpoints. With --storage the
# driver copies MIRRORED there as the study runs (study.driver.shared.mirror), the Optuna journal
# each time Ray saves the searcher, the PBT log at each decision, so that --resume continues the
# study from a machine without its study folder (study.planning.build.fetch_state).
MIRRORED = (STUDY_FILE, STUDY_TOML, FRONTIER_STATE)
DRIVER_STATE = (*MIRRORED, OPTUNA_JOURNAL, PBT_LOG)
# What a study's MLflow run gets as artifacts, besides its figures.
REPORT_FILES = (REPORT, TRIALS, SUMMARY, CURVES, STUDY_FILE, BEST)
