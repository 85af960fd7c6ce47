"""A study's results as pandas tables, without Ray: a trial's checkpoint (checkpoints.py, the one
reader), the trial and curve tables (trials.py), a study folder read back (folder.py), the summary
and its bands (summary.py), beside the exercise's numbers (exercise.py), a search's results
(search.py)."""
