"""Finding a study's trial workers, to kill them (tests/study/test_chaos.py, test_pbt.py)."""

from pathlib import Path


def workers(root: int) -> list[int]:
    """The pids of the trial workers (Ray's ImplicitFunc actors) among the descendants of ``root``:
    whatever each is doing, starting a trial, training, saving, or idle between two trials."""
    children: dict[int, list[int]] = {}
    titles: dict[int, str] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid = int(stat.parent.name)
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            titles[pid] = (stat.parent / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            todo.append(pid)
            if titles.get(pid, "").startswith("ray::ImplicitFunc"):
                found.append(pid)
    return found
