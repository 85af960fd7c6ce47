"""Planning: every study, from the command line (overlay.py), a study file or Python, laid onto its study
document and parsed once (merge.py), resolved by its kind (kinds/), checked and made one StudyPlan (build.py,
plan.py). Nothing here imports Ray or Optuna or writes anything: a bad input raises StudyError, one line."""
