"""docs/speed.md's tables are the benchmarks' own outputs: every row of results/bench/*.json,
written by `python -m palrnn.bench --json` and `python -m study.bench --json`, as
scripts/speed_tables.py renders it, stands in docs/speed.md between its speed markers; and the
README's quick start quotes the main job's wall time from the same file."""

import importlib.util
import json
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("speed_tables", ROOT / "scripts" / "speed_tables.py")
speed = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(speed)


def test_the_speed_page_is_rendered_from_the_benchmark_files():
    readme = (ROOT / "docs" / "speed.md").read_text()
    assert speed.START in readme and speed.END in readme
    shown = readme.split(speed.START, 1)[1].split(speed.END, 1)[0]
    assert speed.START + shown + speed.END == speed.block()


def test_the_benchmark_files_name_their_machine_and_commit():
    for name in ("palrnn-bench.json", "study-bench.json", "storage-bench.json"):
        data = json.loads((ROOT / "results" / "bench" / name).read_text())
        prov = data["machine"]
        assert prov["cpu_model"] and prov["commit"] and len(prov["commit"]) == 40, name
        assert prov["dirty"] is False, f"{name} was measured from a working tree with changes"
    rows = json.loads((ROOT / "results" / "bench" / "palrnn-bench.json").read_text())["rows"]
    assert {r["model"] for r in rows} == {"RNN", "LSTM", "GRU"} and all(r["examples_per_second"] > 0 for r in rows)
    figures = json.loads((ROOT / "results" / "bench" / "study-bench.json").read_text())["figures"]
    assert figures["trials"] == figures["planned"] == 36


def test_the_quick_start_quotes_the_main_jobs_benchmarked_wall_time():
    """The quick start's "about N min" for `--grid lengths` is study-bench.json's wall time, rounded."""
    figures = json.loads((ROOT / "results" / "bench" / "study-bench.json").read_text())["figures"]
    quick = (ROOT / "README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    line = next(x for x in quick.splitlines() if "study.run --grid lengths" in x)
    assert f"about {round(figures['wall_seconds'] / 60)} min on 2 cores" in line, line


def test_the_storage_rows_are_the_storage_benchmarks_own_numbers():
    """storage-bench.json (python -m study.bench --storage): its medians are its runs' medians, its
    ratios theirs, and docs/speed.md's storage rows show those numbers; no credential in it."""
    text = (ROOT / "results" / "bench" / "storage-bench.json").read_text()
    data = json.loads(text)
    assert "testing" not in text.lower() and "secret" not in text.lower()
    assert data["storage"]["scheme"] == "s3" and data["storage"]["endpoint"].startswith("http://")
    f, repeats = data["figures"], data["settings"]["repeats"]
    page = (ROOT / "docs" / "speed.md").read_text()
    rows = {line.split(" | ")[0].lstrip("| "): line for line in page.splitlines() if line.startswith("| ")}
    for arm, label in (("local", "a local folder"), ("storage", data["storage"]["uri"])):
        runs = [r for r in data["runs"] if r["arm"] == arm]
        assert len(runs) == repeats and all(r["trials"] == data["settings"]["trials"] for r in runs)
        assert sorted(r["repeat"] for r in runs) == list(range(1, repeats + 1))
        wall = statistics.median(r["wall_seconds"] for r in runs)
        tuning = statistics.median(r["tuning_seconds"] for r in runs)
        assert abs(f[arm]["wall_seconds_median"] - wall) < 1e-9 and abs(f[arm]["tuning_seconds_median"] - tuning) < 1e-9
        row = next(line for key, line in rows.items() if key.startswith(label))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == ", ".join(f"{r['wall_seconds']:.1f}" for r in runs) + " s", row
        assert cells[2:4] == [f"{wall:.1f} s", f"{tuning:.1f} s"], row
    ratio = [c.strip() for c in rows["storage / local"].strip("|").split("|")]
    assert abs(f["wall_seconds_ratio"] - f["storage"]["wall_seconds_median"] / f["local"]["wall_seconds_median"]) < 1e-9
    assert ratio[2:4] == [f"{f['wall_seconds_ratio']:.2f}×", f"{f['tuning_seconds_ratio']:.2f}×"], ratio
