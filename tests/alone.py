"""A test marked ``alone`` runs with no other test at the same time (it times itself).

The suite's workers (pytest-xdist) share a lock file of their run: every test holds it shared,
from its setup (module fixtures included) to its teardown; a test marked ``alone`` holds it
exclusively. A turnstile, taken briefly by every test and held by an ``alone`` test until it has
the lock, stops new tests from starting while it waits, so that it does not wait for ever.
tests/conftest.py takes the hook; tests/test_alone.py shows it."""

import fcntl
import os
import tempfile

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run:  # one process: nothing runs beside any test
        return (yield)
    alone = item.get_closest_marker("alone") is not None
    base = os.path.join(tempfile.gettempdir(), f"palrnn-tests-{run}")
    with open(base + ".turnstile", "a") as turnstile, open(base + ".lock", "a") as lock:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        if not alone:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        if alone:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            return (yield)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
