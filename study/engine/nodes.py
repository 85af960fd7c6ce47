"""Before the first trial, one small Ray task on each alive node but the driver's (``failures``): can it
write, read back and remove a marker in --storage (``uses``), or, without, see the marker the driver
wrote into the study folder's nearest existing folder (``sees``)?"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from study.basics.errors import first_line
from study.basics.store import Store

TIMEOUT_S = 300.0  # a node that has to start a worker process first; a study waits this long at most


def other_nodes() -> list[dict[str, Any]]:
    here = ray.get_runtime_context().get_node_id()
    return [n for n in ray.nodes() if n.get("Alive") and n.get("NodeID") != here]


def failures(check: Any, *args: Any) -> list[tuple[str, str]]:
    """(node's address, what went wrong) for every other node where ``check(*args)``, run there, is not None."""
    nodes = other_nodes()
    task = ray.remote(num_cpus=0, max_retries=0)(check)
    refs = [task.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote(*args)
            for n in nodes]
    out = []
    for node, ref in zip(nodes, refs, strict=True):
        try:
            why = ray.get(ref, timeout=TIMEOUT_S)
        except Exception as exc:  # the task failed there, or the node did not answer in time
            why = f"the check failed there ({str(exc).splitlines()[0]})"
        if why is not None:
            out.append((str(node.get("NodeManagerAddress")), why))
    return out


def sees(path: str, token: str) -> str | None:
    try:
        return None if Path(path).read_text() == token else "another file at that path"
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def uses(uri: str) -> str | None:
    store, key = Store(uri), f".storage-check-{secrets.token_hex(6)}-{secrets.token_hex(4)}"
    try:
        store.write(key, key.encode())
        back = store.read(key)
        store.delete(key)
    except Exception as exc:
        return first_line(exc)
    return None if back == key.encode() else "it gave back other bytes than were written"
