"""Where and with what a study was made: study.json's ``provenance`` (its keys: docs/study.md, "What a study
leaves behind"), and the report's line of it. Studies made before provenance was kept have none."""

from __future__ import annotations

import datetime as dt
import os
import platform
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from palrnn.provenance import cpu_model, git_state, package_version

PACKAGES = ("torch", "ray", "optuna", "pandas", "numpy", "palrnn")
PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the study package (study/basics/../..)
NOT_RECORDED = "provenance not recorded (study made before provenance was kept)"


def provenance(argv: list[str] | None, threads_per_trial: int | None = None, repo: Path | None = None) -> dict:
    """This run's provenance, JSON-ready; ``argv`` None: the interpreter's own; ``commit`` and ``dirty`` (untracked
    files too) None outside a git checkout; ``repo``: the project's root (default: ``PROJECT_ROOT``)."""
    commit, dirty = git_state(PROJECT_ROOT if repo is None else Path(repo))
    return {
        "argv": [str(a) for a in (sys.orig_argv if argv is None else argv)],
        "executable": sys.executable,
        "python": platform.python_version(),
        "versions": {name: package_version(name) for name in PACKAGES},
        "commit": commit,
        "dirty": dirty,
        "host": socket.gethostname(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpus": gpu_names(),
        "threads_per_trial": None if threads_per_trial is None else int(threads_per_trial),
        "started": dt.datetime.now().isoformat(timespec="seconds"),
    }


def gpu_names() -> list[str]:
    """Names of the CUDA devices torch sees here ([] without torch, CUDA or a device)."""
    try:
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return [torch.cuda.get_device_name(i) for i in range(count)]
    except Exception:  # a broken driver must not stop a study: it has no GPU to record
        return []


def provenance_line(meta: Mapping[str, Any]) -> str:
    """One line for people: commit, torch, ray, Python, host, CPU, GPUs, and when it ran, from a study.json or a
    provenance dict itself; ``NOT_RECORDED`` (and the times study.json has) for a study made before."""
    prov = meta.get("provenance") if "provenance" in meta else (meta if "versions" in meta else None)
    when = _when(meta, prov if isinstance(prov, Mapping) else {})
    if not isinstance(prov, Mapping):
        return " · ".join([NOT_RECORDED, *([when] if when else [])])
    versions, commit, count = prov.get("versions") or {}, prov.get("commit"), prov.get("cpu_count")
    parts = [f"commit {str(commit)[:7]}" + (" (dirty)" if prov.get("dirty") else "") if commit
             else "not a git checkout", *(f"{n} {versions.get(n) or 'not installed'}" for n in ("torch", "ray")),
             f"Python {prov.get('python') or '?'}", f"host {prov.get('host') or '?'}",
             f"{prov.get('cpu_model') or 'unknown CPU'} × {count if count is not None else '?'} CPUs"]
    threads = prov.get("threads_per_trial")
    if threads is not None:
        parts.append(f"{threads} torch thread{'s' if threads != 1 else ''} per trial")
    parts.append(_gpus(list(prov.get("gpus") or [])))
    return " · ".join(parts + ([when] if when else []))


def _gpus(gpus: list[str]) -> str:
    if not gpus:
        return "no GPU"
    if len(set(gpus)) == 1:
        return f"{len(gpus)} × {gpus[0]}" if len(gpus) > 1 else gpus[0]
    return ", ".join(gpus)


def _when(meta: Mapping[str, Any], prov: Mapping[str, Any]) -> str:
    """"2026-11-29 02:00 → 02:10 (8 min)": start, end, and the wall time the study ran (resumes summed)."""
    start = _time(meta.get("started")) or _time(prov.get("started"))
    if start is None:
        return ""
    end = _time(meta.get("finished"))
    text = start.strftime("%Y-%m-%d %H:%M")
    if end is not None:
        text += " → " + end.strftime("%H:%M" if end.date() == start.date() else "%Y-%m-%d %H:%M")
    elif "finished" in meta:  # a study.json whose study has not finished (a bare provenance has no end)
        text += " → not finished"
    seconds = meta.get("wall_seconds")
    if seconds is None and end is not None:
        seconds = (end - start).total_seconds()
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        return text
    return f"{text} ({duration_text(seconds)})"


def _time(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def duration_text(seconds: float) -> str:
    """42 s, 8 min, 1 h 05 min."""
    seconds = max(0.0, seconds)
    if seconds < 59.5:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
