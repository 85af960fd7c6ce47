"""The bottom layer (docs/design.md): what every other layer uses; imports no other study module. errors.py,
layout.py, text.py, io.py, stats.py, provenance.py, tracking.py, store.py."""
