"""A two-node Ray cluster on one machine (ray.cluster_utils.Cluster): trials land on both nodes."""

import pytest

import study
from study import trainable  # noqa: F401


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": 80 * 1024**2,
                                                      "include_dashboard": False})
    c.add_node(num_cpus=1, object_store_memory=80 * 1024**2)
    c.wait_for_nodes()
    yield c
    c.shutdown()


def test_trials_are_placed_on_both_nodes(cluster, tmp_path):
    tables = study.run_study(grid="smoke", seeds=2, name="two-nodes", results_dir=str(tmp_path),
                             address=cluster.address, echo=False, report=False,
                             set={"steps": 300, "eval_every": 100})
    trials = tables["trials"]
    assert len(trials) == 8 and set(trials["status"]) == {"TERMINATED"}
    assert trials["node"].nunique() == 2  # the node of each trial is a column of trials.csv
    import ray

    assert not ray.is_initialized()  # run_study connected, and let go of the cluster when done
