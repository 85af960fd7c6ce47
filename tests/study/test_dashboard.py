"""The dashboard of a Ray that study.run starts: on 127.0.0.1, token-protected, showing the trials."""

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import study
import study.engine  # noqa: F401  (sets Ray's environment before ray.init)
from tests.ports import free_port

pytestmark = pytest.mark.ray


def _get(url, token=None):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status, r.read().decode()


def _listening(port):
    """The local addresses of the TCP sockets that listen on ``port``, from the kernel's own tables
    (/proc/net/tcp and tcp6; no packet is sent anywhere)."""
    import ipaddress

    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            address, _, hex_port = local.partition(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # The kernel writes each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            found.add(str(ipaddress.ip_address(raw)))
    return found


def test_dashboard_is_local_token_protected_and_shows_trials(tmp_path, capsys):
    port = free_port()
    seen, refused, bound = set(), [], set()

    def watch():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not seen:
            time.sleep(1)
            token_file = Path.home() / ".ray" / "auth_token"
            try:
                if not refused:
                    try:
                        _get(f"http://127.0.0.1:{port}/api/v0/actors")
                        refused.append(False)
                    except urllib.error.HTTPError as e:
                        refused.append(e.code in (401, 403))
                status, body = _get(f"http://127.0.0.1:{port}/api/v0/actors?limit=200",
                                    token_file.read_text().strip())
                actors = json.loads(body)["data"]["result"]["result"]
                seen.update(a.get("class_name", "") for a in actors if a.get("state") == "ALIVE")
                seen.discard("")
                bound.update(_listening(port))
            except (OSError, ValueError, KeyError):
                continue

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    study.run_study(grid="smoke", seeds=1, name="dash", results_dir=str(tmp_path), report=False,
                    set={"steps": 1500, "eval_every": 500}, dashboard_port=port)
    thread.join(timeout=5)
    out = capsys.readouterr().out
    assert f"Ray dashboard: http://127.0.0.1:{port}" in out and "~/.ray/auth_token" in out
    assert refused == [True]  # without the token the dashboard refuses
    # Bound to the loopback address alone: no other address of the machine (0.0.0.0, ::, its own
    # network addresses) has the port, so nothing beyond this machine can reach it.
    assert bound == {"127.0.0.1"}, bound
    assert any("ImplicitFunc" in name or "palrnn" in name for name in seen), seen  # the trials' actors
