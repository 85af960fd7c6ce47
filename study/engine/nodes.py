"""Before the first trial, one small Ray task on each alive node but the driver's: can it write, read
back and remove a marker in --storage (``storage_failures``), or, without, see the marker the driver
wrote into the study folder's nearest existing folder (``blind_nodes``)?"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from study.basics.store import Store

TIMEOUT_S = 300.0  # a node that has to start a worker process first; a study waits this long at most


def other_nodes() -> list[dict[str, Any]]:
    here = ray.get_runtime_context().get_node_id()
    return [n for n in ray.nodes() if n.get("Alive") and n.get("NodeID") != here]


def _on_each(fn: Any, *args: Any) -> list[tuple[str, Any]]:
    """(node's address, ``fn(*args)`` run there) for every other node; an error is returned as its text."""
    nodes = other_nodes()
    task = ray.remote(num_cpus=0, max_retries=0)(fn)
    refs = [task.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote(*args)
            for n in nodes]
    out = []
    for node, ref in zip(nodes, refs, strict=True):
        try:
            out.append((str(node.get("NodeManagerAddress")), ray.get(ref, timeout=TIMEOUT_S)))
        except Exception as exc:  # the task failed there, or the node did not answer in time
            out.append((str(node.get("NodeManagerAddress")), f"the check failed there ({str(exc).splitlines()[0]})"))
    return out


def _sees(path: str, token: str) -> str | None:
    try:
        return None if Path(path).read_text() == token else "another file at that path"
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def blind_nodes(marker: str | Path, token: str) -> list[tuple[str, str]]:
    """(node's address, why) of every other node that does not see ``marker`` holding ``token``."""
    return [(node, why) for node, why in _on_each(_sees, str(marker), token) if why is not None]


def _uses(uri: str, prefix: str) -> str | None:
    store, node_key = Store(uri), f"{prefix}-{secrets.token_hex(4)}"
    try:
        store.write(node_key, node_key.encode())
        back = store.read(node_key)
        store.delete(node_key)
    except Exception as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None if back == node_key.encode() else "it gave back other bytes than were written"


def storage_failures(uri: str) -> list[tuple[str, str]]:
    """(node's address, what went wrong) of every other node that cannot write and read ``uri``."""
    key = f".storage-check-{secrets.token_hex(6)}"
    return [(node, why) for node, why in _on_each(_uses, uri, key) if why is not None]
