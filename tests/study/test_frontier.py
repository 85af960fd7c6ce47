"""The memory frontier: the search against a stand-in trainable whose solve rate per T is known
(in-process, no Ray), its outputs and bad options; then one tiny real frontier on Ray."""

from __future__ import annotations

import json
import random
import statistics

import pandas as pd
import pytest
from ray import tune

from study.engine.search.frontier import FrontierCallback, FrontierSearcher
from study.engine.spec import TunerSpec
from study.engine.tuner import collect, run_tuner
from study.frontier.options import RULE_TEXT, FrontierOptions, check_frontier_options, frontier_cells, parse_solve_rule
from study.frontier.probe import MOOT, PASSED, RUNNING, SOLVED, UNSOLVED, Trial
from study.frontier.search import DONE, Frontier
from study.frontier.table import format_frontier, frontier_table, load_frontier
from study.report.frontier import plot_frontier, write_frontier

# ---- a stand-in trainable: seeds below solving(T) solve, the others do not --------------------

CELLS = [{"model": "RNN", "init": "default"}, {"model": "LSTM", "init": "default"},
         {"model": "RNN", "init": "seed"}, {"model": "LSTM", "init": "xavier"}]
# How many of seeds 0..4 solve at length T, per cell (monotone in T).
SOLVING = [
    lambda t: 5 if t <= 12 else 3 if t <= 20 else 0,  # 4/5 up to 12: frontier 12, first failure 13
    lambda t: 5 if t <= 40 else 0,  # frontier 40, first failure 41
    lambda t: 2,  # fails at the start length
    lambda t: 4,  # passes everywhere: frontier = max_length
]
TRUTH = [(12, 13), (40, 41), (None, 5), (100, None)]


def oracle(solving):
    def run(trial: Trial) -> tuple[bool, int | None]:
        solved = trial.seed < solving[trial.cell](trial.length)
        return solved, (100 * trial.length + trial.seed if solved else None)

    return run


def simulate(fr: Frontier, run, slots: int, rng: random.Random, running: dict[Trial, float] | None = None,
             stop_after: int | None = None, slow: float = 3.0) -> dict:
    """Drive ``fr`` as Ray would: up to ``slots`` trials at once; a trial ends ``duration`` after it
    starts (solved ones sooner, as palrnn stops at the target; random otherwise), in end order; the
    seeds of a probe once decided are stopped at once (the scheduler). Returns what happened and
    the trials still running when stopped after ``stop_after`` completions."""
    clock, events = 0.0, 0
    running = dict(running or {})
    launched, stopped, finished = [], [], set()
    status = None
    while True:
        while len(running) < slots:
            status = fr.next_trial()
            if not isinstance(status, Trial):
                break
            # Never a seed of a probe already decided, never a seed twice.
            assert not fr.decided(status.cell, status.length), status
            assert status not in running and status not in finished, status
            solved, _ = run(status)
            launched.append(status)
            running[status] = clock + (1.0 if solved else slow) + rng.random()
        if not running:
            assert status == DONE, "the frontier waits, but nothing runs"
            break
        trial = min(running, key=running.__getitem__)
        clock = running.pop(trial)
        solved, steps = run(trial)
        assert fr.record(*trial, solved, steps)
        finished.add(trial)
        events += 1
        for t in list(running):  # what FrontierScheduler does at a running trial's next report
            if fr.decided(t.cell, t.length):
                fr.stop(*t)
                running.pop(t)
                stopped.append(t)
        if stop_after is not None and events >= stop_after:
            break
    return {"launched": launched, "stopped": stopped, "running": running, "events": events}


def full_outcome(fr: Frontier, cell: int, length: int) -> str:
    return PASSED if SOLVING[cell](length) >= fr.k else "failed"


def check_against_truth(fr: Frontier, cells: range) -> None:
    assert fr.done and fr.next_trial() == DONE
    for c in cells:
        assert fr.frontier(c) == TRUTH[c], (c, fr.probes(c))
        for t in fr.probes(c):  # early decision gives the outcome all N seeds would give
            if fr.outcome(c, t) != MOOT:
                assert fr.outcome(c, t) == full_outcome(fr, c, t), (c, t)


# ---- the search ----------------------------------------------------------------------------


def test_sequential_search_probes_doubling_then_bisection_and_launches_exactly_what_is_needed():
    fr = Frontier(CELLS[:2], rule=(4, 5), start=5, max_length=100, speculate=0)
    out = simulate(fr, oracle(SOLVING), slots=1, rng=random.Random(0))
    check_against_truth(fr, range(2))
    assert fr.probes(0) == [5, 10, 20, 15, 12, 13]
    assert fr.probes(1) == [5, 10, 20, 40, 80, 60, 50, 45, 42, 41]
    # Cell 0: 4 seeds per passing probe (5, 10, 12); 5 for each failing one with 3 of 5 solving
    # (20, 15, 13). Cell 1: 4 per passing probe (5..40), 2 per failing one (two failures decide).
    assert len(out["launched"]) == fr.launched == (3 * 4 + 3 * 5) + (4 * 4 + 6 * 2) == 55
    assert fr.launched < 16 * 5  # every probe run with all N seeds: 80
    assert not out["stopped"]  # one at a time: nothing runs when a probe is decided
    table = frontier_table(fr)
    row = table[(table["model"] == "LSTM") & (table["length"] == 80)].iloc[0]
    assert (row["k"], row["n"], row["outcome"]) == (0, 2, "failed")


@pytest.mark.parametrize("slots,speculate,seed", [(2, 0, 1), (2, 1, 2), (3, 1, 3), (5, 1, 4), (8, 2, 5),
                                                  (16, 1, 6), (4, 0, 7)])
def test_concurrent_search_in_any_order_finds_the_frontier_and_stops_decided_probes(slots, speculate, seed):
    fr = Frontier(CELLS, rule=(4, 5), start=5, max_length=100, speculate=speculate)
    out = simulate(fr, oracle(SOLVING), slots=slots, rng=random.Random(seed))
    check_against_truth(fr, range(4))
    probes = sum(len(fr.probes(c)) for c in range(4))
    assert fr.launched < probes * 5
    # Stopped seeds belong to probes decided or moot, and are not counted in k/n.
    table = frontier_table(fr)
    assert table["stopped"].sum() == len(out["stopped"])
    assert (table["n"] + table["stopped"] == table["launched"]).all()
    if slots >= 5:
        assert out["stopped"], "with spare CPUs some seeds run when their probe is decided"
    if speculate == 0:
        assert (table["outcome"] != MOOT).all()


def test_speculation_keeps_more_trials_running_than_sequential_probes():
    busy = {}
    for speculate in (0, 1):
        fr = Frontier(CELLS[1:2], rule=(4, 5), speculate=speculate)
        first = [fr.next_trial() for _ in range(8)]
        busy[speculate] = sum(isinstance(t, Trial) for t in first)
    assert busy[0] == 4  # the start probe's K seeds, then wait
    assert busy[1] == 8  # and the next doubling probe's 4 seeds, assuming the first passes


def test_non_monotone_rate_follows_the_stated_rule():
    # Passes at 5-7, fails at 8-10, passes again at 20. Solved seeds end sooner than unsolved
    # ones, so the speculative probe at 20 is decided (passed) before 10 fails.
    solving = [lambda t: 5 if t <= 7 or 15 <= t <= 30 else 0]
    fr = Frontier([{"model": "RNN"}], rule=(4, 5), start=5, max_length=100, speculate=1)
    simulate(fr, oracle(solving), slots=8, rng=random.Random(0), slow=10.0)
    assert fr.done
    assert fr.outcome(0, 20) == PASSED and fr.outcome(0, 10) == "failed"
    assert fr.frontier(0) == (7, 8)  # the pass at 20 lies above the failure at 10: not counted
    table = frontier_table(fr)
    row20 = table[table["length"] == 20].iloc[0]
    assert row20["outcome"] == PASSED and not row20["counted"]
    assert (table["longest_solved"] == 7).all() and (table["first_failed"] == 8).all()
    assert fr.outcome(0, 40) == MOOT  # speculated while 10 ran, moot once 10 failed
    text = format_frontier(table)
    assert "longest T remembered: 7  (first failure: 8; rule 4/5)" in text
    assert "passed above the failure, not counted: 20" in text
    assert f"rule: {RULE_TEXT}" in text


def test_a_probe_decides_as_soon_as_its_outcome_is_known():
    fr = Frontier([{"model": "LSTM"}], rule=(4, 5), speculate=0)
    seeds = [fr.next_trial() for _ in range(5)]
    assert [t.seed for t in seeds[:4]] == [0, 1, 2, 3] and seeds[4] is None  # only K launched
    fr.record(0, 5, 0, False)
    assert not fr.decided(0, 5)
    assert fr.next_trial() == Trial(0, 5, 4)  # one failure: seed 4 is needed now
    fr.record(0, 5, 1, False)  # two failures: 4/5 is out of reach
    assert fr.decided(0, 5) and fr.outcome(0, 5) == "failed"
    fr.stop(0, 5, 2)
    fr.record(0, 5, 3, True, 500)  # finished anyway after the decision: counted, outcome unchanged
    row = frontier_table(fr).iloc[0]
    assert (row["k"], row["n"], row["stopped"], row["launched"], row["outcome"]) == (1, 3, 1, 5, "failed")
    assert fr.done and fr.frontier(0) == (None, 5)
    fr.stop(0, 99, 0)  # a trial of a probe the state does not know: nothing is made up
    assert fr.probes(0) == [5]


def test_resume_after_an_interruption_reruns_no_finished_probe():
    reference = Frontier(CELLS, rule=(4, 5), speculate=1)
    simulate(reference, oracle(SOLVING), slots=4, rng=random.Random(11))
    for lost in (False, True):
        fr = Frontier(CELLS, rule=(4, 5), speculate=1)
        first = simulate(fr, oracle(SOLVING), slots=4, rng=random.Random(11), stop_after=25)
        assert first["running"] and not fr.done
        state = json.loads(json.dumps(fr.to_dict()))  # what a killed driver left on disk
        finished = {Trial(c, t, s) for c in range(4) for t in fr.probes(c) for s in range(5)
                    if fr.seed_state(Trial(c, t, s)) in (SOLVED, UNSOLVED)}
        decided = {(c, t) for c in range(4) for t in fr.probes(c) if fr.decided(c, t)}
        resumed = Frontier.from_dict(state)
        assert resumed.to_dict() == fr.to_dict() and resumed.running() == fr.running()
        assert {resumed.seed_state(t) for t in resumed.running()} == {RUNNING}
        if lost:  # Ray lost the running trials: they are handed out again
            for t in resumed.running():
                resumed.release(*t)
            running = {}
        else:  # Ray resumes them, and they report when they end
            running = first["running"]
        second = simulate(resumed, oracle(SOLVING), slots=4, rng=random.Random(12), running=running)
        assert not finished & set(second["launched"])
        assert not {(t.cell, t.length) for t in second["launched"]} & decided
        if lost:
            assert set(first["running"]) <= set(second["launched"])
        else:
            assert not set(first["running"]) & set(second["launched"])
        check_against_truth(resumed, range(4))
        assert [resumed.frontier(c) for c in range(4)] == [reference.frontier(c) for c in range(4)]


def test_state_of_a_seed_running_in_an_older_state_is_adopted_not_launched_twice():
    fr = Frontier([{"model": "LSTM"}], rule=(2, 3), speculate=0)
    assert fr.adopt(0, 5, 0) and not fr.adopt(0, 5, 0)
    assert fr.next_trial() == Trial(0, 5, 1)
    assert fr.next_trial() is None  # seeds 0 and 1 run: enough for 2/3


# ---- outputs -------------------------------------------------------------------------------


def test_table_figure_and_printed_frontier(tmp_path, capsys):
    fr = Frontier(CELLS, rule=(4, 5), speculate=1, base={"target": 0.99, "steps": 3000})
    simulate(fr, oracle(SOLVING), slots=3, rng=random.Random(4))
    table = write_frontier(tmp_path, fr)
    on_disk = pd.read_csv(tmp_path / "frontier.csv")
    assert list(on_disk.columns) == list(table.columns) and len(on_disk) == len(table)
    assert {"model", "init", "length", "k", "n", "solved_low", "solved_high", "steps_to_target_median",
            "outcome", "longest_solved", "first_failed"} <= set(table.columns)
    assert (tmp_path / "figures" / "frontier.png").stat().st_size > 10_000
    lstm = table[(table["model"] == "LSTM") & (table["init"] == "default")]
    assert set(lstm["longest_solved"]) == {40} and set(lstm["first_failed"]) == {41}
    row = lstm[lstm["length"] == 5].iloc[0]
    assert row["k"] == row["n"] and row["solved_high"] == 1.0 and 0 < row["solved_low"] < 0.6  # Wilson
    solved = [500 + s for s in range(5) if fr.seed_state(Trial(1, 5, s)) == SOLVED]
    assert len(solved) == row["k"] and row["steps_to_target_median"] == statistics.median(solved)
    assert row["outcome"] == PASSED and row["counted"]
    failed = table[table["outcome"] == "failed"]
    assert (failed["k"] < 4).all() and failed["solved_low"].le(failed["solved_high"]).all()
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("memory frontier: the longest T at which >= 4/5 seeds reach held-out accuracy "
                                 "0.99 within 3,000 steps")
    assert "LSTM init=default  longest T remembered: 40  (first failure: 41; rule 4/5)" in printed
    assert "RNN init=seed      longest T remembered: none  (fails at the start length 5; rule 4/5)" in printed
    assert any(line.startswith("LSTM init=xavier") and ">= 100" in line for line in printed)
    assert printed[-1] == f"rule: {RULE_TEXT}"
    # The state and the table come back from the folder alone (what study.report reads).
    fr.save(tmp_path / "frontier" / "state.json")
    pd.testing.assert_frame_equal(frontier_table(load_frontier(tmp_path)), table)
    pd.testing.assert_frame_equal(frontier_table(tmp_path), table)
    with pytest.raises(FileNotFoundError):
        frontier_table(tmp_path / "figures")
    ax = plot_frontier(table)
    assert "4/5" in ax.get_title() and "0.99" in ax.get_title() and "3,000" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()][:4] == list(table["cell"].unique())


def test_unfinished_search_prints_and_draws_what_it_has():
    fr = Frontier(CELLS[:2], rule=(4, 5))
    t = fr.next_trial()
    fr.record(*t, True, 100)
    table = frontier_table(fr)
    assert list(table["outcome"]) == ["running", "not probed"] and not table["done"].any()
    assert "search unfinished (5: running)" in format_frontier(table)
    plot_frontier(table)
    empty = frontier_table(Frontier(CELLS[:1]))
    assert len(empty) == 1 and pd.isna(empty["length"].iloc[0])
    assert "search unfinished (nothing probed)" in format_frontier(empty)


def test_frontier_cells_from_a_grid():
    base, cells = frontier_cells({"model": ["RNN", "LSTM"], "init": ["default", "xavier"], "hidden": 16,
                                  "length": [5, 6], "seed": 0}, ["model", "init", "length"])
    assert base == {"hidden": 16}
    assert cells == [{"model": "RNN", "init": "default"}, {"model": "RNN", "init": "xavier"},
                     {"model": "LSTM", "init": "default"}, {"model": "LSTM", "init": "xavier"}]
    base, cells = frontier_cells({"model": "LSTM", "forget_bias": [0.0, 1.0]}, ["forget_bias"])
    assert base == {} and cells == [{"model": "LSTM", "forget_bias": 0.0}, {"model": "LSTM", "forget_bias": 1.0}]
    fr = Frontier(cells, base={"hidden": 16})
    assert fr.config(Trial(1, 20, 3)) == {"hidden": 16, "model": "LSTM", "forget_bias": 1.0, "length": 20, "seed": 3}
    assert fr.trial_of({"model": "LSTM", "forget_bias": 1, "length": 20, "seed": 3}) == Trial(1, 20, 3)
    assert fr.label(1) == "LSTM forget_bias=1"


# ---- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["5/4", "0/5", "x", "4/5/6", "", "4/", "-1/5", "4.5/5"])
def test_bad_solve_rule_is_one_line_naming_the_option(text):
    with pytest.raises(ValueError) as err:
        parse_solve_rule(text)
    assert str(err.value) == f"--solve-rule: must be K/N with 1 <= K <= N, got {text!r}"


def test_bad_frontier_options_name_the_option():
    assert parse_solve_rule(" 4/5 ") == (4, 5) and parse_solve_rule("1/1") == (1, 1)
    assert check_frontier_options() == FrontierOptions((4, 5), 5, 100, 1)
    assert check_frontier_options("2/3", "5", "12", "0") == FrontierOptions((2, 3), 5, 12, 0)
    cases = [
        (dict(start_length=5, max_length=4), "--max-length: must be >= --start-length (5), got 4"),
        (dict(max_length="x"), "--max-length: must be an integer >= 2, got 'x'"),
        (dict(start_length=1), "--start-length: must be an integer >= 2, got 1"),
        (dict(start_length="5.5"), "--start-length: must be an integer >= 2, got '5.5'"),
        (dict(speculate=-1), "--speculate: must be an integer >= 0, got -1"),
        (dict(solve_rule="5/4"), "--solve-rule: must be K/N with 1 <= K <= N, got '5/4'"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError) as err:
            check_frontier_options(**kwargs)
        assert str(err.value) == message and "\n" not in message
    with pytest.raises(ValueError, match="^--max-length: must be >= --start-length"):
        Frontier(CELLS, start=10, max_length=8)
    with pytest.raises(ValueError, match="^cells: "):
        Frontier([])
    with pytest.raises(ValueError, match="^cells: the same cell twice: RNN"):
        Frontier([{"model": "RNN"}, {"model": "RNN"}])


# ---- the Ray adapter's bookkeeping, without a Ray cluster -------------------------------------


def _result(config, step, steps_to_target=None, **more):
    """A result as Ray hands it to a searcher: flattened, the config under config/."""
    return {"step": step, "steps_to_target": steps_to_target, "diverged": False, "stopped_early": False,
            **{f"config/{k}": v for k, v in config.items()}, **more}


def test_searcher_reads_results_as_solved_unsolved_stopped_or_error(tmp_path):

    searcher = FrontierSearcher(Frontier([{"model": "LSTM"}], rule=(2, 3), speculate=0,
                                                   base={"steps": 1000}), tmp_path)
    configs = {f"t{i}": searcher.suggest(f"t{i}") for i in range(3)}
    assert configs["t0"] == {"steps": 1000, "model": "LSTM", "length": 5, "seed": 0} and configs["t2"] is None
    # A seed counts as solved at its first result at the target, while its trial runs on.
    searcher.observe("t0", _result(configs["t0"], 300, 300))
    assert searcher.frontier.seed_state(Trial(0, 5, 0)) == SOLVED and not searcher.should_stop("t0")
    searcher.on_trial_complete("t1", _result(configs["t1"], 1000))  # all its steps: not solved
    assert searcher.frontier.seed_state(Trial(0, 5, 1)) == UNSOLVED and not searcher.frontier.decided(0, 5)
    t2 = searcher.suggest("t2")
    searcher.on_trial_complete("t2", error=True)  # Ray gave up on it: counted as not solved
    assert searcher.frontier.outcome(0, 5) == "failed"
    assert searcher.suggest("t3") == tune.search.Searcher.FINISHED  # start length failed
    assert t2["seed"] == 2
    searcher.on_trial_complete("t0", _result(configs["t0"], 400, 300, stopped_early=True))  # its own end
    row = pd.read_csv(tmp_path / "frontier.csv").iloc[0]
    assert (row["k"], row["n"], row["errors"]) == (1, 3, 1)
    assert load_frontier(tmp_path).to_dict() == searcher.frontier.to_dict()


def test_searcher_resumes_from_the_newer_state_and_reruns_no_finished_seed(tmp_path):
    from types import SimpleNamespace


    def searcher():
        return FrontierSearcher(Frontier(CELLS[:2], rule=(4, 5), speculate=0, base={"steps": 1000}),
                                          tmp_path)

    first = searcher()
    configs = {f"t{i}": first.suggest(f"t{i}") for i in range(8)}  # both cells' start probes, seeds 0-3
    assert all(configs.values()) and first.suggest("t8") is None
    first.save(str(tmp_path / "ray-searcher.json"))  # Ray's snapshot: every few minutes only
    for i in range(4):  # cell 0's start probe passes
        first.on_trial_complete(f"t{i}", _result(configs[f"t{i}"], 200, 200, stopped_early=True))
    first.on_trial_complete("t4", _result(configs["t4"], 1000))  # cell 1 seed 0 fails: seed 4 needed
    later = {f"t{i}": first.suggest(f"t{i}") for i in range(8, 13)}
    assert [(c["model"], c["length"], c["seed"]) for c in later.values()] == [  # needed seeds first
        ("LSTM", 5, 4), ("RNN", 10, 0), ("RNN", 10, 1), ("RNN", 10, 2), ("RNN", 10, 3)]
    finished = {(0, 5, s) for s in range(4)} | {(1, 5, 0)}
    # The driver is killed. Ray restores its older snapshot: its searcher state and the trials
    # t0-t7 as running (they resume from their checkpoints); t8-t12 it never heard of.
    second = searcher()
    second.restore(str(tmp_path / "ray-searcher.json"))
    assert second.frontier.progress() < first.frontier.progress()
    held = [SimpleNamespace(trial_id=t, status="PENDING", config=configs[t], last_result={}) for t in configs]
    FrontierCallback(second).on_step_begin(0, held)
    assert second.frontier.progress() == first.frontier.progress()  # the study folder's state, newer
    assert {tuple(k) for k in second.trials.values()} == {(1, 5, 1), (1, 5, 2), (1, 5, 3)}
    relaunched = [second.suggest(f"r{i}") for i in range(6)]
    assert [(c["model"], c["length"], c["seed"]) for c in relaunched[:5]] == [  # needed seeds, cells in order
        ("RNN", 10, 0), ("RNN", 10, 1), ("RNN", 10, 2), ("RNN", 10, 3), ("LSTM", 5, 4)] and relaunched[5] is None
    assert not finished & {second._key(f"r{i}") for i in range(5)}
    # A resumed trial of a finished seed reports its end again: nothing changes.
    before = second.frontier.to_dict()
    second.on_trial_complete("t0", _result(configs["t0"], 200, 200, stopped_early=True))
    assert second.frontier.to_dict() == before


def test_a_seed_finished_after_rays_last_snapshot_is_replayed_for_the_tables_not_trained(tmp_path):
    """The driver is killed seconds after a trial Ray's saved state never saw has finished: the
    Frontier (the study folder's newer state) counts the seed, Ray's restored trials lack it. The
    resumed searcher hands that seed out once more, before anything new, so that its trial finds
    its checkpoint at its end and reports it to the tables; the Frontier does not change."""
    from types import SimpleNamespace


    def searcher():
        return FrontierSearcher(Frontier(CELLS[:2], rule=(4, 5), speculate=0, base={"steps": 1000}),
                                          tmp_path)

    first = searcher()
    configs = {f"t{i}": first.suggest(f"t{i}") for i in range(8)}
    first.save(str(tmp_path / "ray-searcher.json"))  # Ray's snapshot knows t0-t7
    for i in range(4):
        first.on_trial_complete(f"t{i}", _result(configs[f"t{i}"], 200, 200, stopped_early=True))
    first.on_trial_complete("t4", _result(configs["t4"], 1000))  # LSTM T=5 seed 0 fails: seed 4 is needed
    configs["t8"] = first.suggest("t8")
    assert (configs["t8"]["model"], configs["t8"]["length"], configs["t8"]["seed"]) == ("LSTM", 5, 4)
    first.on_trial_complete("t8", _result(configs["t8"], 300, 300, stopped_early=True))  # unknown to Ray
    second = searcher()
    second.restore(str(tmp_path / "ray-searcher.json"))
    held = [SimpleNamespace(trial_id=t, status="TERMINATED" if t in ("t0", "t1", "t2", "t3", "t4") else "PENDING",
                            config=configs[t], last_result={}) for t in list(configs)[:8]]
    FrontierCallback(second).on_step_begin(0, held)
    assert second.replay == [[1, 5, 4]]  # finished, and held by no trial of Ray's
    before = second.frontier.to_dict()
    again = second.suggest("r0")
    assert again == configs["t8"] and second.replay == []
    second.on_trial_complete("r0", _result(again, 300, 300, stopped_early=True))
    assert second.frontier.to_dict() == before  # counted once
    nxt = second.suggest("r1")
    assert nxt is None or (nxt["model"], nxt["length"], nxt["seed"]) != ("LSTM", 5, 4)


def test_a_seed_stopped_after_rays_last_snapshot_is_replayed_for_its_row_and_stopped_again(tmp_path):
    """Seeds stopped because their probe was decided, in trials Ray's saved state never saw (the
    driver is killed seconds later): the resumed searcher hands them out once more with the
    finished ones, the scheduler stops each at its first result, and the Frontier does not change;
    their rows reach the tables."""
    def searcher():
        return FrontierSearcher(Frontier(CELLS[:2], rule=(4, 5), speculate=0, base={"steps": 1000}), tmp_path)

    first = searcher()
    first.save(str(tmp_path / "ray-searcher.json"))  # Ray's snapshot, older than every trial
    configs = {f"t{i}": first.suggest(f"t{i}") for i in range(8)}
    for t in ("t0", "t1"):  # cell 0's seeds 0 and 1 fail: at most 3 of 5 can pass, the probe fails
        first.on_trial_complete(t, _result(configs[t], 1000))
    for t in ("t2", "t3"):
        assert first.should_stop(t, _result(configs[t], 300))
        first.on_trial_complete(t, _result(configs[t], 300))  # stopped short: STOPPED, not counted
    stopped = {tuple(k) for k in first.frontier.stopped()}
    assert stopped == {tuple(first._key(t, _result(configs[t], 300))) for t in ("t2", "t3")}

    second = searcher()
    second.restore(str(tmp_path / "ray-searcher.json"))
    FrontierCallback(second).on_step_begin(0, [])  # Ray holds no trial of theirs
    assert stopped <= {tuple(k) for k in second.replay}
    before = second.frontier.to_dict()
    replays = len(second.replay)
    for i in range(replays):
        config = second.suggest(f"r{i}")
        key = second._key(f"r{i}")
        result = _result(config, 300)
        if tuple(key) in stopped:
            assert second.should_stop(f"r{i}", result)  # stopped at its first result, trains no further
        second.on_trial_complete(f"r{i}", result if tuple(key) in stopped else _result(config, 1000))
    assert second.frontier.to_dict() == before and second.replay == []


# ---- a real frontier on Ray ----------------------------------------------------------------


def _none(value):
    return None if pd.isna(value) else int(value)


def _spec(results_dir, param_space, axes, options):
    """A TunerSpec of a frontier study (TunerSpec wraps the planner's StudyPlan) under ``options``."""
    from study.planning.plan import StudyPlan

    plan = StudyPlan(name="frontier", results_dir=str(results_dir), kind="frontier", grid=None, axes=axes,
                     param_space=param_space, grid_axes=axes, n_trials=0, frontier=options.to_dict())
    return TunerSpec(plan=plan, verbose=0)


@pytest.mark.ray
def test_tiny_frontier_on_ray_writes_a_complete_frontier_csv_and_figure(ray_session, tmp_path, capsys):

    # 600 steps at lr 1e-2: the LSTM solves T = 5 on 2 of 3 seeds, so the search doubles, bisects
    # and stops decided and moot probes (at 300 steps and lr 3e-3 no seed solves T = 5).
    spec = _spec(tmp_path, {"model": ["RNN", "LSTM"], "init": "default", "hidden": 16, "steps": 600,
                            "eval_every": 50, "lr": 1e-2, "target": 0.99, "patience": 2}, ["model"],
                 check_frontier_options("2/3", 5, 12))
    results = run_tuner(spec)  # its kind's searcher, scheduler and callback (study.engine.tuner)
    folder = tmp_path / "frontier"
    fr = load_frontier(folder)
    assert fr is not None and fr.done and fr.running() == [] and fr.rule == (2, 3)
    live = pd.read_csv(folder / "frontier.csv")  # written by the searcher as the search went
    table = write_frontier(folder)
    assert set(table["model"]) == {"RNN", "LSTM"} and table["done"].all() and len(live) == len(table)
    assert set(table["outcome"]) <= {"passed", "failed", "moot"}
    on_disk = pd.read_csv(folder / "frontier.csv")
    assert list(on_disk.columns) == list(table.columns) and len(on_disk) == len(table)
    assert (folder / "figures" / "frontier.png").stat().st_size > 10_000
    printed = capsys.readouterr().out
    for model, rows in table.groupby("model"):
        assert rows["length"].between(5, 12).all() and (rows["n"] + rows["stopped"] == rows["launched"]).all()
        failed = rows.loc[rows["outcome"] == "failed", "length"]
        first = int(failed.min()) if len(failed) else None
        passed = rows.loc[(rows["outcome"] == "passed") & (first is None or rows["length"] < first), "length"]
        longest = int(passed.max()) if len(passed) else None
        assert _none(rows["first_failed"].iloc[0]) == first and _none(rows["longest_solved"].iloc[0]) == longest
        assert f"{model:<4}  longest T remembered: " in printed
    # Every trial Ray ran is one seed of the frontier; k counts exactly those that reached 0.99.
    trials, _ = collect(results, ["model", "length", "seed", "steps"], folder)
    assert len(trials) == fr.launched and set(trials["status"]) == {"TERMINATED"}
    assert not trials.duplicated(["model", "length", "seed"]).any()
    assert table["k"].sum() == trials["steps_to_target"].notna().sum()
    assert table["stopped"].sum() == (trials["stopped_by"] == "scheduler").sum()
