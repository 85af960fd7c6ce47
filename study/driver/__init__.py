"""The driver: runs a planned study on Ray (execute.py), keeps it safe while it runs (lock.py,
watch.py, ports.py) and writes its tables, status and report (finish.py)."""
