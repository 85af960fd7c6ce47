import os

# Tests share 2 cores with Ray workers; one torch thread each keeps them from fighting.
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)

import json  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture
def fault(request):
    """Record what a fault test injected and what it showed, for docs/reliability.md's table.

    ``fault(name, injected, outcome)``: after the test's assertions pass, one JSON line is added
    to the file named by $PALRNN_RELIABILITY (scripts/reliability.py sets it, runs the fault tests
    and writes the table from these lines); without the variable it records nothing."""
    rows = []

    def record(name: str, injected: int, outcome: str) -> None:
        assert injected >= 1, "a fault test that injected no fault proves nothing"
        rows.append({"fault": name, "injected": int(injected), "outcome": outcome, "test": request.node.nodeid})

    yield record
    log = os.environ.get("PALRNN_RELIABILITY")
    failed = getattr(request.node, "rep_call", None) is None or request.node.rep_call.failed
    if log and rows and not failed:
        with open(log, "a", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the test item, so that the fault fixture records passed tests only.
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report


@pytest.fixture
def no_ray(monkeypatch):
    """Ray's real entry point, watched: a test that uses this fails if anything starts Ray."""
    import ray

    def must_not_start(*args, **kwargs):
        raise AssertionError("Ray would have started")

    monkeypatch.setattr(ray, "init", must_not_start)
    yield
    assert not ray.is_initialized()


@pytest.fixture
def refused_by_run(tmp_path, capsys, no_ray, fault):
    """``refused_by_run(argv, words)``: ``python -m study.run`` with ``argv`` (results in tmp_path,
    name x) ends with one line holding ``words``, exit 2, nothing written, Ray not started; the
    fault is recorded for the Reliability table."""
    from study.run import main

    def check(argv, words):
        with pytest.raises(SystemExit) as exc:
            main([*argv, "--results-dir", str(tmp_path), "--name", "x"])
        err = capsys.readouterr().err.strip().splitlines()
        assert exc.value.code == 2 and len(err) == 1 and words in err[0], err
        assert not any(tmp_path.iterdir())
        fault("a bad value to `python -m study.run`", 1,
              "one line naming the option and what is allowed, exit 2, no traceback, nothing written, "
              "Ray not started")

    return check


# ---- Ray: one shared session, and a guard that keeps the `ray` marker honest ----------------

RAY_INIT = dict(num_cpus=2, include_dashboard=False, object_store_memory=80 * 1024**2, log_to_driver=False)


@pytest.fixture(scope="module")
def ray_session(request):
    """One local Ray for the module: 2 CPUs (a trial takes 1), an 80 MB object store, no dashboard.
    A module's ``RAY_ENV`` (a dict), if it has one, is set while Ray starts, so that its workers
    inherit it. A test that uses this fixture must be marked ``ray`` (pytest_runtest_setup below)."""
    import ray

    import study.engine  # noqa: F401  (sets Ray's environment before ray.init)

    with pytest.MonkeyPatch.context() as env:
        for key, value in getattr(request.module, "RAY_ENV", {}).items():
            env.setenv(key, value)
        ray.init(**RAY_INIT)
        try:
            yield
        finally:
            ray.shutdown()


@pytest.fixture(autouse=True)
def _ray_only_where_marked(request, monkeypatch):
    """A test not marked ``ray`` fails if it starts Ray in this process (``ray.init``, which Ray's
    own automatic start and Tune call too): the fast tier, ``-m "not ray and not fault"``, must
    not start Ray. (Ray started in a subprocess is not seen: mark those tests by hand.)"""
    if request.node.get_closest_marker("ray") is not None:
        return
    import ray

    def unmarked(*args, **kwargs):
        raise AssertionError(f"{request.node.nodeid} started Ray (ray.init) but is not marked ray: add "
                             "@pytest.mark.ray (or pytestmark = pytest.mark.ray for the module)")

    monkeypatch.setattr(ray, "init", unmarked)


def pytest_runtest_setup(item):
    # Before any fixture is set up: the Ray fixture (module-scoped, so set up ahead of the guard above)
    # in a test not marked ``ray`` fails the test before Ray starts.
    if "ray_session" in getattr(item, "fixturenames", ()) and item.get_closest_marker("ray") is None:
        pytest.fail(f"{item.nodeid} uses ray_session, which starts Ray, but is not marked ray: add "
                    "@pytest.mark.ray (or pytestmark = pytest.mark.ray for the module)", pytrace=False)


def pytest_collection_modifyitems(items):
    # The modules that start Ray (or inject faults) first, each in its own order: the suite's two
    # workers (pytest-xdist, --dist loadfile --no-loadscope-reorder) take modules in this order, so the
    # long ones start at once and the short ones fill in around them, instead of one long module running
    # alone at the end. A module with a test marked `alone` comes last: that test waits for the other
    # worker's test to end, a short one there, and the other worker may have nothing left to run anyway.
    def marked(*names):
        return {item.module.__name__ for item in items if any(item.get_closest_marker(n) for n in names)}

    slow, alone = marked("ray", "fault"), marked("alone")
    items.sort(key=lambda item: (item.module.__name__ in alone, item.module.__name__ not in slow))


from tests.alone import pytest_runtest_protocol  # noqa: E402, F401  (a test marked alone runs alone)
