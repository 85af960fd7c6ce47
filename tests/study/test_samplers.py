"""--sampler: Optuna's samplers, chosen on the command line, in a study file or from Python,
seeded, recorded, refused where they cannot search the space. Planning only (no Ray); a real
search with a sampler of its own: tests/study/test_study_ray.py."""

import pytest

import study
from study.engine.search.optuna import optuna_sampler
from study.run import main
from study.spec.fields import SAMPLERS

SPACE = {"lr": "loguniform:1e-4:3e-2", "hidden": "int:16:64", "init": "choice:default,xavier"}


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_sampler_plans_and_is_kept_in_study_json(sampler, no_ray):
    from study.planning.kinds.search import SearchPlan

    p = study.plan(search="optuna", model="RNN", length=5, num_samples=3, sampler=sampler, search_seed=7, space=SPACE)
    s = p.search.settings
    assert (s.sampler, s.seed) == (sampler, 7)
    meta = p.search.to_meta()
    assert meta["sampler"] == sampler
    again = SearchPlan.from_meta(meta, p.param_space)  # what --resume plans from study.json
    assert again.settings.sampler == sampler and again.settings.seed == 7


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_each_sampler_is_optunas_own_and_seeded(sampler):
    import optuna

    classes = {"tpe": "TPESampler", "random": "RandomSampler", "cmaes": "CmaEsSampler", "gp": "GPSampler",
               "qmc": "QMCSampler", "nsga2": "NSGAIISampler"}
    assert type(optuna_sampler(sampler, 3)).__name__ == classes[sampler]
    optuna.logging.set_verbosity(optuna.logging.ERROR)

    def first_params(seed):
        s = optuna.create_study(sampler=optuna_sampler(sampler, seed), direction="maximize")
        for _ in range(4):
            t = s.ask({"x": optuna.distributions.FloatDistribution(0, 1),
                       "y": optuna.distributions.FloatDistribution(0, 1),
                       "c": optuna.distributions.CategoricalDistribution(["a", "b"])})
            s.tell(t, t.params["x"])
        return [t.params for t in s.trials]

    assert first_params(3) == first_params(3)  # seeded: the same proposals again
    if sampler != "qmc":  # a scrambled Sobol sequence starts at the same point whatever the seed
        assert first_params(3) != first_params(4)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_each_sampler_survives_rays_pickle(sampler):
    """Ray pickles the searcher, sampler and all, into tuner.pkl and its saved state (--resume);
    Optuna 5.1's NSGA-II holds a thread lock, which failed the study before its first trial."""
    import optuna
    from ray import cloudpickle

    again = cloudpickle.loads(cloudpickle.dumps(optuna_sampler(sampler, 3)))
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    s = optuna.create_study(sampler=again, directions=["maximize", "minimize"] if sampler == "nsga2" else None)
    for _ in range(3):  # the unpickled sampler (and its lock) still works
        t = s.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
        s.tell(t, [t.params["x"], 1 - t.params["x"]] if sampler == "nsga2" else t.params["x"])
    assert len(s.trials) == 3


def test_the_dry_run_names_the_sampler_and_what_it_samples_at_random(capsys, no_ray):
    assert main(["--search", "optuna", "--model", "RNN", "--length", "5", "--num-samples", "3", "--sampler",
                 "cmaes", "--space", "lr=loguniform:1e-4:3e-2", "--space", "init=choice:default,xavier",
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "CMA-ES seed 0" in out
    assert "init (choices) are sampled at random" in out.replace("\n  ", " ")


def test_a_study_files_search_block_takes_a_sampler(tmp_path, no_ray):
    path = tmp_path / "s.toml"
    path.write_text('name = "s"\n[fixed]\nmodel = "RNN"\nlength = 5\n[search]\nnum_samples = 2\nsampler = "gp"\n'
                    '[search.space]\nlr = "loguniform:1e-4:3e-2"\n')
    assert study.plan(path).search.settings.sampler == "gp"


@pytest.mark.parametrize("argv, words", [
    (["--sampler", "annealing"], "--sampler: must be one of tpe, random, cmaes, gp, qmc, nsga2, got 'annealing'"),
    (["--sampler", "cmaes", "--space", "init=choice:default,xavier", "--space", "optimizer=choice:adam,sgd"],
     "--sampler: cmaes samples numbers only, and this space has only choices (init, optimizer)"),
    (["--sampler", "tpe"], "--sampler: only with --search"),
])
def test_bad_samplers_are_one_line_exit_2_nothing_written(argv, words, refused_by_run):
    base = ["--search", "optuna"] if "only with" not in words else ["--grid", "smoke"]
    refused_by_run([*base, *argv], words)


@pytest.mark.parametrize("given, name, kind", [
    ("asha", "asha", "AsyncHyperBandScheduler"), ("hyperband", "hyperband", "HyperBandScheduler"),
    ("median", "median", "MedianStoppingRule"), ("none", "none", None), ("on", "asha", "AsyncHyperBandScheduler"),
    ("off", "none", None), (True, "asha", "AsyncHyperBandScheduler"), (False, "none", None)])
def test_every_scheduler_plans_and_builds_on_the_steps(given, name, kind, tmp_path, no_ray):
    from study.engine.schedulers import scheduler
    from study.engine.spec import TunerSpec
    from study.planning.kinds.search import SearchPlan

    p = study.plan(search="optuna", model="RNN", length=5, num_samples=3, scheduler=given, space=SPACE,
                   results_dir=str(tmp_path), set={"steps": 900, "eval_every": 100})
    assert p.search.settings.scheduler == name
    assert SearchPlan.from_meta(p.search.to_meta(), p.param_space).settings.scheduler == name  # --resume
    built = scheduler(TunerSpec(p))
    assert (type(built).__name__ if built is not None else None) == kind
    if built is not None:
        assert built._time_attr == "step"  # training steps, not Ray's report count


def test_an_unknown_scheduler_names_the_new_spellings(capsys, tmp_path, no_ray):
    with pytest.raises(SystemExit) as exc:
        main(["--search", "optuna", "--scheduler", "fifo", "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and not any(tmp_path.iterdir())
    assert err[0] == ("python -m study.run: error: --scheduler: must be one of asha, hyperband, median, pbt, none "
                      "(on and off, True and False still mean asha and none), got 'fifo'")


PBT_REFUSALS = [
    (["--perturbation-interval", "0"], "--perturbation-interval: must be a positive integer (training steps), "
                                        "got '0'"),
    (["--perturbation-interval", "1.5"], "--perturbation-interval: must be a positive integer (training steps), "
                                          "got '1.5'"),
    (["--perturbation-interval", "20000"], "--perturbation-interval: must be below the trial's steps (10000), "
                                            "got 20000"),
    (["--perturbation-interval", "150"], "--perturbation-interval: must be a multiple of eval_every (500)"),
    (["--perturb", "hidden"], "--perturb: PBT can change only lr and max_norm while a trial trains, got 'hidden'"),
    (["--perturb", "lr", "--space", "hidden=int:8:64"], "--perturb: lr is not searched; PBT perturbs fields of the "
                                                         "space (searched: hidden)"),
    (["--space", "hidden=int:8:64"], "--perturb: nothing to perturb: PBT changes lr or max_norm, and neither is "
                                     "searched (searched: hidden); add one to --space"),
    (["--sampler", "random"], "--sampler: Ray Tune draws PBT's first configs at random itself"),
    (["--metric", "eval_accuracy:max", "--metric", "params:min"], "--metric: pbt ranks trials by one metric, and 2 "
                                                                  "are given"),
]


@pytest.mark.parametrize("argv,words", PBT_REFUSALS)
def test_bad_pbt_settings_are_one_line_exit_2_nothing_written(argv, words, refused_by_run):
    refused_by_run(["--search", "optuna", "--scheduler", "pbt", *argv], words)


def test_pbt_settings_without_pbt_are_refused(refused_by_run):
    refused_by_run(["--search", "optuna", "--scheduler", "asha", "--perturbation-interval", "100"],
                   "--perturbation-interval: only with --scheduler pbt (the scheduler is asha)")


def test_a_study_files_search_block_takes_pbt_and_the_dry_run_says_what_it_does(tmp_path, capsys, no_ray):
    path = tmp_path / "s.toml"
    path.write_text('name = "s"\n[fixed]\nmodel = "RNN"\nlength = 5\nsteps = 1000\neval_every = 100\n[search]\n'
                    'num_samples = 8\nscheduler = "pbt"\nperturbation_interval = 200\nperturb = ["lr"]\n'
                    '[search.space]\nlr = "loguniform:1e-4:3e-2"\nmax_norm = "uniform:0.5:5"\n')
    plan = study.plan(path)
    s = plan.search.settings
    assert (s.scheduler, s.perturbation_interval, s.perturb) == ("pbt", 200, ("lr",))
    assert main(["--study", str(path), "--dry-run", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.replace("\n  ", " ")
    assert ("PBT: the bottom quarter by eval_accuracy take the top quarter's weights every 200 steps, "
            "lr perturbed") in out
    assert "Ray's random first configs (PBT's population)" in out
    bad = tmp_path / "bad.toml"
    bad.write_text(path.read_text().replace("perturbation_interval = 200", "perturbation_interval = -3"))
    with pytest.raises(Exception, match=r"\[search\] perturbation_interval: must be a positive integer"):
        study.plan(bad)


@pytest.mark.parametrize("search, words, journal", [
    ({"sampler": "cmaes", "scheduler": "median"}, "Optuna, CMA-ES, the median stopping rule", True),
    ({"sampler": "gp", "scheduler": "none"}, "Optuna, Gaussian process, no scheduler", True),
    ({"scheduler": True}, "Optuna, TPE, ASHA", True),  # a study.json from before samplers
    ({"sampler": "tpe", "scheduler": "pbt"}, "Population Based Training", False),
])
def test_the_report_names_how_a_search_searched(search, words, journal):
    from study.planning.kinds.search import method_text, uses_optuna

    assert method_text({"search": search}) == words
    assert uses_optuna(search) is journal  # the start lines name optuna-dashboard only where a journal is kept
