"""study.frontier.search's planning numbers, exactly: the mutants that the frontier tests let through
(docs/testing.md, python scripts/mutation.py) each change one of these."""

import json

import pytest

from study.frontier.options import FrontierOptions
from study.frontier.search import DONE, Frontier, frontier_doubling, frontier_max_trials


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
