"""docs/speed.md's tables are the benchmarks' own outputs: every row of results/bench/*.json,
written by `python -m palrnn.bench --json` and `python -m study.bench --json`, as
scripts/speed_tables.py renders it, stands in docs/speed.md between its speed markers; and the
README's quick start quotes the main job's wall time from the same file."""

import importlib.util
import json
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
    for name in ("palrnn-bench.json", "study-bench.json"):
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
