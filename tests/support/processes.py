"""The processes of a running rollout, read from /proc: its workers and the rollout itself."""

import os
import time
from pathlib import Path


def processes_in(folder: Path) -> list[int]:
    """Processes whose working directory is inside `folder`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and folder in Path(os.readlink(entry / "cwd")).parents:
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def alive(pid: int) -> bool:
    """Running or stopped; a zombie, dead but not yet reaped, counts as gone."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def parent_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:  # gone meanwhile
        return 0


def is_worker(pid: int) -> bool:
    try:
        return b"hooks.update.parallel" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def rollout_workers(repo: Path, seconds: float = 60) -> tuple[int, list[int]]:
    """(the rollout's pid, its workers' pids) of the update running in `repo`, once seen.

    Only this repository's (tests run at once); a worker's child between its fork and its
    exec looks like a worker too, so the workers are the ones whose parent is not one."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen = [pid for pid in processes_in(repo / ".cache" / "scratch") if is_worker(pid)]
        parents = {pid: parent_of(pid) for pid in seen}
        workers = [pid for pid in seen if not is_worker(parents[pid])]
        if workers:
            return parents[workers[0]], [
                pid for pid in workers if parents[pid] == parents[workers[0]]
            ]
        time.sleep(0.01)
    raise AssertionError(f"no worker was seen preparing an update in {repo}")
