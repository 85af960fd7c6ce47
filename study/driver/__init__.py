"""The driver: runs a planned study on Ray (execute.py), keeps it safe while it runs (lock.py: one
driver per study, the dashboard's port; watch.py) and writes its tables, status and report (finish.py)."""
