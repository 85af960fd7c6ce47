"""The driver: runs a planned study on Ray, one driver per study (execute.py), keeps it safe while it
runs (shared.py) and writes its tables, status and report (finish.py)."""
