"""Ray Tune logger callbacks, one per file; their registry is callbacks.py's ``CALLBACKS``."""
