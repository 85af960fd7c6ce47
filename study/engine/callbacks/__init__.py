"""Ray Tune callbacks other than loggers, one per file: frontier.py (``tune.Callback``)."""
