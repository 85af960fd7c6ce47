"""Write docs/speed.md's tables from the benchmarks' own outputs, results/bench/*.json:

    python -m palrnn.bench --json results/bench/palrnn-bench.json
    python -m study.bench --grid lengths --json results/bench/study-bench.json
    python scripts/moto_server.py -- python -m study.bench --storage s3://palrnn-bench/studies \
        --json results/bench/storage-bench.json      # --storage against a local folder, on a local S3 server
    python scripts/speed_tables.py        # rewrites docs/speed.md between its speed markers

tests/test_speed_tables.py checks that docs/speed.md's tables are these files' rows.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "results" / "bench"
PAGE = ROOT / "docs" / "speed.md"
START = "<!-- speed: start (scripts/speed_tables.py writes this part from results/bench/*.json) -->"
END = "<!-- speed: end -->"


def machine_line(m: dict) -> str:
    state = "" if m.get("dirty") is False else ", with uncommitted changes" if m.get("dirty") else ""
    commit = (m.get("commit") or "unknown")[:7]
    return (f"CPU \"{m['cpu_model']}\", {m.get('cpu_count') or m.get('cpus')} CPUs, torch {m['torch']}, "
            f"Python {m['python']}, commit {commit}{state}, {m['date']}")


def model_rows(data: dict) -> list[str]:
    rows = ["| model | backend | threads | examples/s | GFLOP/s | of peak |", "|---|---|---|---|---|---|"]
    for r in data["rows"]:
        mark = "*" if r["default"] else ""
        rows.append(f"| {r['model']} | {r['backend']}{mark} | {r['threads']} | {r['examples_per_second']:,.0f} | "
                    f"{r['gflops']:.1f} | {r['gflops'] / r['peak_gflops']:.0%} |")
    return rows


def study_rows(data: dict) -> list[str]:
    f = data["figures"]
    return ["| figure | value | goal |", "|---|---|---|",
            f"| wall time, Ray start to shutdown | {f['wall_seconds']:.0f} s | < 600 s |",
            f"| trials' own training time, summed | {f['training_seconds']:.0f} s "
            f"({f['training_seconds'] / max(f['trials'], 1):.1f} s per trial) | |",
            f"| Ray's overhead per trial in the tuning loop, (loop × concurrency − training) / trials | "
            f"{f['overhead_per_trial']:.2f} s | < 1 s |",
            f"| the same with Ray's start and shutdown | {f['overhead_per_trial_with_start']:.2f} s | |",
            f"| CPU busy over the run | {f['cpu_busy']:.0%} of {f['cpus']} CPUs | both busy |",
            f"| peak memory, driver + Ray + workers (sum of PSS) | {f['peak_memory_gib']:.2f} GiB | < 4 GiB |"]


def storage_rows(data: dict) -> list[str]:
    """storage-bench.json (python -m study.bench --storage): each arm's medians, and their ratio."""
    f, where = data["figures"], data["storage"]
    name = {"local": "a local folder", "storage": f"{where['uri']} ({where['scheme']}"
            + (f", endpoint {where['endpoint']})" if where["endpoint"] else ")")}
    rows = ["| the trials' files in | runs: wall time | wall time, median | tuning loop, median | "
            "checkpoints each run left |", "|---|---|---|---|---|"]
    for arm in ("local", "storage"):
        runs = [r for r in data["runs"] if r["arm"] == arm]
        kept = sorted({f"{r['kept']['checkpoints']} ({r['kept']['checkpoint_bytes'] / 1e3:,.0f} kB)" for r in runs})
        walls = ", ".join(f"{r['wall_seconds']:.1f}" for r in runs)
        rows.append(f"| {name[arm]} | {walls} s | "
                    f"{f[arm]['wall_seconds_median']:.1f} s | {f[arm]['tuning_seconds_median']:.1f} s | "
                    f"{' / '.join(kept)} |")
    rows.append(f"| storage / local | | {f['wall_seconds_ratio']:.2f}× | {f['tuning_seconds_ratio']:.2f}× | |")
    return rows


def _peaks(data: dict, threads: int) -> str:
    peaks = sorted({r["peak_gflops"] for r in data["rows"] if r["threads"] == threads})
    return f"{peaks[0]:.0f}" if len(peaks) == 1 or peaks[-1] - peaks[0] < 0.5 else f"{peaks[0]:.0f}–{peaks[-1]:.0f}"


def _ratio(data: dict, model: str, threads: int) -> str:
    rate = {r["backend"]: r["examples_per_second"] for r in data["rows"] if r["model"] == model
            and r["threads"] == threads}
    return f"{rate['fused'] / rate['scratch']:.1f}×" if "fused" in rate and "scratch" in rate else "n/a"


def block() -> str:
    model = json.loads((BENCH / "palrnn-bench.json").read_text())
    study = json.loads((BENCH / "study-bench.json").read_text())
    s = model["settings"]
    threads = sorted({r["threads"] for r in model["rows"]})
    lines = [START, "",
             f"**One model** (`{model['command']}`: T = {s['length']}, batch {s['batch_size']}, hidden {s['hidden']}, "
             f"whole training steps, median of {s['repeats']} timings of {s['steps']} steps; \"of peak\" is the "
             "recurrent matrix products' GFLOP/s as a fraction of the same three products timed bare in the same "
             f"run; `*` is the default backend). {machine_line(model['machine'])}:", "",
             *model_rows(model), "",
             "Peak, the bare products: " + ", ".join(f"{_peaks(model, t)} GFLOP/s on {t} thread{'s' * (t > 1)}"
                                                      for t in threads)
             + ". Fused over scratch: " + ", ".join(f"{m} {_ratio(model, m, t)} on {t}" for m in ("RNN", "LSTM", "GRU")
                                                    for t in threads) + ".", "",
             f"**A study** (`{study['command']}`: the default main job, {study['figures']['trials']} trials, "
             f"3 seeds, early stop at 0.99). {machine_line(_study_machine(study['machine']))}:", "",
             *study_rows(study), ""]
    storage = json.loads((BENCH / "storage-bench.json").read_text())
    s = storage["settings"]
    lines += [f"**What storage costs** (`{storage['command']}`): the {s['what']} grid, {s['trials']} trials a run, "
              f"each run a whole study as `study.run` runs it (Ray's start and shutdown included; the tuning loop "
              f"is Tuner.fit alone), {s['repeats']} runs with the trials' checkpoints and Ray's experiment in the "
              f"storage and {s['repeats']} in a local folder, in {s['order'].replace(':', ' order:')}. "
              f"{machine_line(_study_machine(storage['machine']))}:", "", *storage_rows(storage), "", END]
    return "\n".join(lines)


def _study_machine(prov: dict) -> dict:
    """A study's provenance (study.basics.provenance) in the benchmark's machine terms."""
    return {"cpu_model": prov["cpu_model"], "cpu_count": prov["cpu_count"], "torch": prov["versions"]["torch"],
            "python": prov["python"], "commit": prov["commit"], "dirty": prov["dirty"],
            "date": prov["started"][:10]}


def main() -> int:
    text = PAGE.read_text()
    if START not in text or END not in text:
        print(f"docs/speed.md has no {START} ... {END} markers", file=sys.stderr)
        return 1
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    PAGE.write_text(head + block() + tail)
    print("docs/speed.md: Speed tables written from results/bench/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
