"""Planning: every study, from the command line, a study file or Python, becomes one StudyPlan.

    overlay (python -m study.run's options | study.plan's keywords)       overlay.py
      -> laid onto the study it changes (--sweep / --set / --models /       merge.py
         --lengths / --space / --solve-rule / ...), parsed once
      -> every default filled in, every trial's Config checked by palrnn    kinds/
      -> StudyPlan, with its SearchPlan; resources, devices, the folder,    build.py, plan.py,
         a resume checked; its --dry-run text                               kinds/search.py

Nothing here imports Ray or Optuna, and nothing is written: a bad input raises StudyError, whose
message is the one line the command prints. Running a plan is the entry layer's
(``study.run.run_plan``; what ``study.plan`` returns runs itself): nothing here imports upwards."""
