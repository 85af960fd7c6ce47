"""The name of every file and folder a study leaves in results/<name>/, in one place (docs/study.md,
"What a study leaves behind", says what each holds)."""

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
# PBT's decisions in order (study.results.pbt) and the frontier's state are not .json files at the folder's top:
# Ray's Tuner.restore copies those to its staging folder and later back over them, putting an older state back.
PBT_LOG = "pbt/decisions.json"
PBT_FIGURE = "pbt.png"  # under figures/
FRONTIER_STATE = "frontier/state.json"
FRONTIER_CSV = "frontier.csv"
FRONTIER_FIGURE = "frontier.png"  # under figures/
TENSORBOARD = "tensorboard"  # tensorboard/<run name>/events.out.tfevents.*
MLFLOW_DB = "mlflow.db"
MLFLOW_ARTIFACTS = "mlartifacts"  # beside a SQLite store: the runs' artifacts (figures)
CELLS = "cells"
FINISHED = "finished"  # a Ray experiment of the trials Ray stopped short that a later run finished
LOCK = ".lock"
# What a driver resumes from besides Ray's experiment and the trials' checkpoints. With --storage it copies
# MIRRORED there as the study runs (study.driver.shared.mirror), the Optuna journal each time Ray saves the
# searcher, the PBT log at each decision: --resume continues from another machine (study.planning.build.fetch_state).
MIRRORED = (STUDY_FILE, STUDY_TOML, FRONTIER_STATE)
DRIVER_STATE = (*MIRRORED, OPTUNA_JOURNAL, PBT_LOG)
# What a study's MLflow run gets as artifacts, besides its figures.
REPORT_FILES = (REPORT, TRIALS, SUMMARY, CURVES, STUDY_FILE, BEST)
