"""Free ports for the tests' study drivers (their dashboards) and Ray nodes."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_port(cmd: list[str]) -> list[str]:
    """``cmd`` (a ``python -m study.run`` command) with another free ``--dashboard-port``: the Ray of
    a driver killed outright can hold its port a while after, and a study refuses a port in use."""
    i = cmd.index("--dashboard-port")
    return [*cmd[:i + 1], str(free_port()), *cmd[i + 2:]]
