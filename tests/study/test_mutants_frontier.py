"""study.frontier.search's planning numbers, exactly: the mutants that the frontier tests let through
(docs/testing.md, python scripts/mutation.py) each change one of these."""

import json

import pytest

from study.frontier.options import FrontierOptions
from study.frontier.probe import PASSED, RUNNING, SOLVED, Trial
from study.frontier.search import DONE, Frontier, frontier_doubling
from tests.study.frontier_oracle import frontier_max_trials


def test_doubling_is_capped_at_the_max_length():
    assert frontier_doubling(FrontierOptions(start=5, max_length=100)) == [5, 10, 20, 40, 80, 100]
    assert frontier_doubling(FrontierOptions(start=5, max_length=40)) == [5, 10, 20, 40]
    assert frontier_doubling(FrontierOptions(start=5, max_length=5)) == [5]


def test_max_trials_is_the_longest_path_times_seeds_cells_and_speculation():
    # 5 .. 8: a threshold of 6 or 7 probes every length (5, 8, then 6 and 7): 4 probes.
    assert frontier_max_trials(FrontierOptions(rule=(1, 1), start=5, max_length=8, speculate=0), 1) == 4
    assert frontier_max_trials(FrontierOptions(rule=(2, 3), start=5, max_length=8, speculate=1), 2) == 2 * 3 * 4 * 2
    assert frontier_max_trials(FrontierOptions(rule=(1, 1), start=5, max_length=5, speculate=0), 1) == 1


def _run(fr, solved_up_to):
    while (trial := fr.next_trial()) not in (DONE, None):
        fr.record(*trial, solved=trial.length <= solved_up_to)
    return fr


def test_progress_counts_every_ended_seed_and_save_makes_its_folders(tmp_path):
    fr = _run(Frontier([{"model": "RNN"}], rule=(1, 2), start=5, max_length=8, speculate=0), 6)
    ended, launched = fr.progress()
    assert ended == launched > len(fr.probes(0)) >= 3  # every launched seed recorded; 2 seeds a probe at most
    fr.save(tmp_path / "a" / "b" / "frontier.json")
    fr.save(tmp_path / "a" / "b" / "frontier.json")  # again, over the first
    back = Frontier.from_dict(json.loads((tmp_path / "a" / "b" / "frontier.json").read_text()))
    assert back.to_dict() == fr.to_dict() and back.progress() == fr.progress() and back.same_search(fr)


def test_an_older_state_has_the_defaults_and_another_version_is_refused():
    d = Frontier([{"model": "RNN"}], rule=(1, 1), start=5, max_length=8, speculate=0).to_dict()
    d.pop("speculate"), d.pop("launched")
    back = Frontier.from_dict(d)
    assert back.speculate == 1 and back.launched == 0 and back.to_dict()["rule_text"] == d["rule_text"]
    with pytest.raises(ValueError, match=r"^frontier state: version 99, this code reads 1$"):
        Frontier.from_dict(d | {"version": 99})


# -- the survivors of the first mutation run (docs/testing.md, "search.py") ----------------------


def test_a_setting_read_back_as_text_or_as_a_float_still_finds_its_cell():
    # trial_of: a config's setting is the cell's when equal, equal as numbers, or equal as text.
    fr = Frontier([{"model": "RNN", "lr": 0.001, "bidirectional": True},
                   {"model": "LSTM", "lr": 0.01, "bidirectional": True}])
    assert fr.trial_of({"model": "RNN", "lr": "1e-3", "bidirectional": True, "length": 5, "seed": 1}) == (0, 5, 1)
    assert fr.trial_of({"model": "LSTM", "lr": 0.01, "bidirectional": "True", "length": 5, "seed": 2}) == (1, 5, 2)
    assert fr.trial_of({"model": "LSTM", "lr": 0.01, "bidirectional": "False", "length": 5, "seed": 2}) is None
    assert fr.trial_of({"model": "GRU", "lr": 0.01, "bidirectional": True, "length": 5, "seed": 2}) is None


def test_max_trials_starts_at_the_start_length():
    # 2 .. 16: doubling 2, 4, 8, 16, then bisection of 8 .. 16 (12, 10, 9 or 11): 7 probes.
    assert frontier_max_trials(FrontierOptions(rule=(1, 1), start=2, max_length=16, speculate=0), 1) == 7


def test_the_defaults_and_the_same_cell_twice_in_another_key_order():
    assert Frontier([{"model": "RNN"}]).speculate == 1
    with pytest.raises(ValueError, match=r"^cells: the same cell twice: RNN init=xavier$"):
        Frontier([{"model": "RNN", "init": "xavier"}, {"init": "xavier", "model": "RNN"}])
    with pytest.raises(ValueError, match=r"^cells: the same cell twice: LSTM$"):  # the repeated one, not the first
        Frontier([{"model": "RNN"}, {"model": "LSTM"}, {"model": "LSTM"}])


def test_settings_that_json_cannot_write_are_compared_as_text(tmp_path):
    # a cell's or the base's value such as a path: the duplicate check and same_search compare its text
    cells = [{"model": "RNN", "data": tmp_path / "a"}, {"model": "RNN", "data": tmp_path / "b"}]
    one = Frontier(cells, base={"out": tmp_path})
    assert one.same_search(Frontier(cells, base={"out": tmp_path}))
    assert not one.same_search(Frontier(cells, base={"out": tmp_path / "c"}))
    with pytest.raises(ValueError, match=r"^cells: the same cell twice"):
        Frontier([cells[0], dict(cells[0])])


def test_a_cell_that_does_not_exist_is_refused_with_its_number():
    fr = Frontier([{"model": "RNN"}, {"model": "LSTM"}])
    for cell in (2, -1):
        with pytest.raises(ValueError, match=rf"^cell: no cell {cell}$"):
            fr.record(cell, 5, 0, solved=True)


def test_an_unknown_probe_has_no_outcome_and_its_seeds_no_state():
    fr = Frontier([{"model": "RNN"}])
    assert fr.outcome(0, 5) is None and fr.seed_state(Trial(0, 5, 0)) is None
    fr.next_trial()
    assert fr.outcome(0, 7) is None and fr.seed_state(Trial(0, 7, 0)) is None
    assert fr.seed_state(Trial(0, 5, 0)) == RUNNING and fr.seed_state(Trial(0, 5, 1)) is None


def test_probes_are_listed_in_the_order_they_were_made_with_older_results_and_a_resume():
    fr = Frontier([{"model": "RNN"}], rule=(1, 1), start=5, max_length=100, speculate=0)
    for _ in range(2):  # 5, 10
        fr.record(*fr.next_trial(), solved=True)
    fr.record(0, 7, 0, solved=True)  # a result of a probe this state never made (an older state's)
    fr.record(*fr.next_trial(), solved=True)  # 20
    assert fr.probes(0) == [5, 10, 7, 20]
    back = Frontier.from_dict(json.loads(json.dumps(fr.to_dict())))
    back.record(*back.next_trial(), solved=True)  # 40, after a resume
    fr.record(*fr.next_trial(), solved=True)
    assert back.probes(0) == fr.probes(0) == [5, 10, 7, 20, 40]


def test_an_older_failure_above_the_start_is_bisected_down_to_the_start():
    # a failure at 20 recorded before anything passed: bisection between start - 1 and 20 finds 5
    fr = Frontier([{"model": "RNN"}], rule=(1, 1), start=5, max_length=100, speculate=0)
    fr.record(0, 20, 0, solved=False)
    _run(fr, 5)
    assert fr.frontier(0) == (5, 6) and 5 in fr.probes(0)


def test_progress_counts_errored_and_stopped_seeds():
    fr = Frontier([{"model": "RNN"}], rule=(1, 3), start=5, max_length=5, speculate=1)
    trials = [fr.next_trial() for _ in range(3)]  # seed 0 needed, seeds 1 and 2 spare
    assert [t.seed for t in trials] == [0, 1, 2] and fr.progress() == (0, 3)
    fr.record(*trials[1], solved=False, error=True)
    assert fr.progress() == (1, 3)
    fr.record(*trials[0], solved=True)  # decided: passed
    fr.stop(*trials[2])
    assert fr.stopped() == [trials[2]] and fr.progress() == (3, 3)


def test_a_duplicate_report_is_refused_and_changes_nothing():
    fr = Frontier([{"model": "RNN"}], rule=(2, 3), start=5, max_length=5, speculate=0)
    t = fr.next_trial()
    assert fr.record(*t, solved=True, steps_to_target=100) is True
    assert fr.record(*t, solved=False) is False and fr.record(*t, solved=False, error=True) is False
    assert fr.seed_state(t) == SOLVED and fr.outcome(0, 5) is None and fr.ended() == [t]
    assert fr.record(*fr.next_trial(), solved=True) is True and fr.outcome(0, 5) == PASSED  # the first once


def test_stop_and_release_touch_only_running_seeds():
    fr = Frontier([{"model": "RNN"}], rule=(2, 3), start=5, max_length=5, speculate=0)
    a, b = fr.next_trial(), fr.next_trial()
    fr.record(*a, solved=True)
    for act in (fr.stop, fr.release):
        act(*a)  # a finished seed
        act(0, 5, 2)  # a seed never launched
        act(0, 40, 0)  # a probe never made
    assert fr.seed_state(a) == SOLVED and fr.seed_state(Trial(0, 5, 2)) is None and fr.probes(0) == [5]
    fr.stop(*b)  # a running seed of an undecided probe: released, launched again
    assert fr.seed_state(b) is None and fr.next_trial() == b
    fr.release(*b)
    assert fr.seed_state(b) is None and fr.next_trial() == b and fr.launched == 4


def test_a_state_without_its_settings_order_and_with_another_start_reads_back():
    fr = Frontier([{"model": "RNN", "init": "xavier", "bias": 1}], rule=(1, 1), start=3, max_length=8, speculate=0)
    d = fr.to_dict()
    d.pop("settings")
    back = Frontier.from_dict(json.loads(json.dumps(d, sort_keys=True)))
    assert back.cells == fr.cells and back.start == 3 and back.same_search(fr)
    assert back.next_trial() == (0, 3, 0)
