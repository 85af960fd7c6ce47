"""The dashboard of a Ray that study.run starts: on 127.0.0.1, token-protected, showing the trials."""

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import study
import study.engine  # noqa: F401  (sets Ray's environment before ray.init)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, token=None):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status, r.read().decode()


def test_dashboard_is_local_token_protected_and_shows_trials(tmp_path, capsys):
    port = _free_port()
    seen, refused = set(), []

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
            except (OSError, ValueError, KeyError):
                continue

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    study.run_study(grid="smoke", seeds=2, name="dash", results_dir=str(tmp_path), report=False,
                    set={"steps": 1500, "eval_every": 500}, dashboard_port=port)
    thread.join(timeout=5)
    out = capsys.readouterr().out
    assert f"Ray dashboard: http://127.0.0.1:{port}" in out and "~/.ray/auth_token" in out
    assert refused == [True]  # without the token the dashboard refuses
    assert any("ImplicitFunc" in name or "palrnn" in name for name in seen), seen  # the trials' actors
