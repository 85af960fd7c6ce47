"""The bottom layer: what every other layer uses and that imports no other study module (but each
other here). errors.py, layout.py (every file name a study folder holds), text.py (the one value
formatter), io.py (atomic writes), stats.py, provenance.py, tracking.py (the watching tools).
docs/design.md draws the layers."""
