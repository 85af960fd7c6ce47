"""The Ray dashboard's port and host."""

from __future__ import annotations

from study.basics.errors import StudyError
from study.planning.plan import DASHBOARD_PORT


def dashboard_port_for(host: str, port: int | None, tries: int = 100) -> int:
    """The dashboard's port: ``port`` if it is free, refused (StudyError) if it is not; without a
    ``port``, Ray's default or the next free one, so that a second study on the same machine starts
    its own Ray beside the first instead of failing on the port."""
    if port is not None:
        if not _port_free(host, port):
            raise StudyError(f"--dashboard-port: {port} on {host} is in use (another study's Ray?); "
                             "choose a free port, or leave the option out to take the next free one")
        return port
    for candidate in range(DASHBOARD_PORT, DASHBOARD_PORT + tries):
        if _port_free(host, candidate):
            return candidate
    raise StudyError(f"--dashboard-port: ports {DASHBOARD_PORT}..{DASHBOARD_PORT + tries - 1} on {host} are all "
                     "in use; choose a free one")


def _port_free(host: str, port: int) -> bool:
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            sock.bind((host, port))
    except OSError:
        return False
    return True


def dashboard_warning(host: str, address: str | None) -> str | None:
    """The dashboard can submit jobs that run code: say so when it listens beyond this machine."""
    if address or host in ("127.0.0.1", "localhost", "::1"):
        return None
    return (f"warning: the Ray dashboard will listen on {host}, reachable from other machines; only Ray's "
            "token protects it (prefer 127.0.0.1 and an ssh tunnel)")
