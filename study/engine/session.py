"""The Ray session: start or join Ray (with Ray Tune's fixes applied: ``study.engine.ray_fixes``),
what the cluster holds, shut it down."""

from __future__ import annotations

import ray

from study.engine import ray_fixes


def init_ray(address: str | None, num_cpus: int | None, dashboard_host: str, dashboard_port: int,
             object_store_mb: int, num_gpus: int | None = None) -> str | None:
    """Connect to a cluster (``address``) or start a local Ray; return the dashboard's address. The
    local Ray is this study's own (``address="local"``) even where another Ray runs on the machine
    (``ray start``): Ray would join that one and refuse the CPUs asked for. The fixes to Ray Tune's
    controller, which runs in this process, are applied first (once: ``ray_fixes.apply``)."""
    ray_fixes.apply()
    if ray.is_initialized():
        return None
    if address:
        ctx = ray.init(address=address, log_to_driver=True)
    else:
        ctx = ray.init(address="local", num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=True,
                       dashboard_host=dashboard_host, dashboard_port=dashboard_port,
                       object_store_memory=object_store_mb * 1024**2, log_to_driver=True)
    return getattr(ctx, "dashboard_url", None) or None


def ray_running() -> bool:
    return ray.is_initialized()


def shutdown_ray() -> None:
    if ray.is_initialized():
        ray.shutdown()


def cluster_cpus() -> float:
    return float(ray.cluster_resources().get("CPU", 0))


def cluster_gpus() -> float:
    return float(ray.cluster_resources().get("GPU", 0))


def max_node_cpus() -> float:
    return max((float(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")), default=0.0)
