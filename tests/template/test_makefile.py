"""Makefile targets with stand-in docker, k3d, minikube, kubectl, tilt and ctlptl on PATH."""

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.helpers import VENVS, repo_with_services

VENV = Path(sys.prefix)
VERSIONS = {
    "docker": "27.1.0",
    "k3d": "k3d version v5.9.0",
    "minikube": "v1.36.0",
    "kubectl": "Client Version: v1.33.0",
    "tilt": "v0.37.6, built 2026-01-01",
    "ctlptl": "v0.9.3, built 2026-01-01",
}
# Each stand-in logs its arguments; ctlptl keeps the cluster's existence in a state file.
STAND_IN = """#!/bin/sh
echo "{name} $*" >> "$CALLS"
case "{name} $1" in
  "ctlptl get") test -f "$STATE/cluster" ;;
  "ctlptl apply") cat > "$STATE/cluster" ;;
  "ctlptl delete") rm -f "$STATE/cluster" ;;
  "docker network") test ! -f "$STATE/no-bridge" ;;
  "tilt get") test ! -f "$STATE/tilt-stopped" ;;
  *" version") echo "{version}" ;;
esac
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return repo_with_services(tmp_path / "repo", {"orders": []})


def stand_ins(directory: Path, missing: tuple[str, ...] = ()) -> Path:
    directory.mkdir()
    for name, version in VERSIONS.items():
        if name not in missing:
            path = directory / name
            path.write_text(STAND_IN.format(name=name, version=version))
            path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return directory


ESSENTIALS = (
    *("make", "sh", "bash", "git", "grep", "awk", "cat", "rm", "touch", "mkdir", "env"),
    "install",  # a service's Makefile creates its env files with it (mode 600)
)


def essentials(directory: Path) -> Path:
    """Only what make itself needs: a real docker, tilt, ... on the machine must not count."""
    directory.mkdir(exist_ok=True)
    for name in ESSENTIALS:
        found = shutil.which(name, path="/usr/bin:/bin")
        if found and not (directory / name).exists():
            (directory / name).symlink_to(found)
    return directory


def make(repo: Path, tools: Path, *args: str) -> subprocess.CompletedProcess[str]:
    state = repo.parent / "state"
    state.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PATH": f"{tools}:{VENV / 'bin'}:{essentials(repo.parent / 'essentials')}",
        "CALLS": str(repo.parent / "calls.log"),
        "STATE": str(state),
    }
    return subprocess.run(
        ["make", "--no-print-directory", *VENVS, *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def calls(repo: Path) -> list[str]:
    log = repo.parent / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def help_groups(text: str) -> dict[str, list[str]]:
    """`make help` as {heading: [target, ...]}, in order ('' for the lines before a heading)."""
    groups: dict[str, list[str]] = {"": []}
    heading = ""
    for line in text.splitlines():
        if line.startswith("  make "):
            groups[heading].append(line.split()[1])
        elif line.strip():
            heading = line.strip()
            groups[heading] = []
    return groups


def test_help_is_the_default_and_groups_every_target(repo: Path, tmp_path: Path) -> None:
    result = make(repo, stand_ins(tmp_path / "bin"))
    groups = help_groups(result.stdout)
    assert groups.pop("") == ["help"]
    headings = list(groups)
    # What a service developer types every day comes first; maintainers' and CI's last.
    assert {"service", "run", "test", "lint"} <= set(groups[headings[0]])
    assert {"dev", "down", "doctor", "env"} <= set(groups[headings[1]])
    assert {"engine", "lock", "bench", "release"} <= set(groups[headings[-1]])
    listed = [target for targets in groups.values() for target in targets]
    defined = re.findall(r"^([a-z-]+):", (repo / "Makefile").read_text(), re.MULTILINE)
    assert sorted(listed) == sorted(set(defined) - {"help"})


def test_make_dev_runs_doctor_cluster_env_then_tilt_up(repo: Path, tmp_path: Path) -> None:
    env_file = repo / "services" / "orders" / ".env.development"
    env_file.unlink()
    result = make(repo, stand_ins(tmp_path / "bin"), "dev", "services=orders")
    assert result.returncode == 0, result.stderr
    log = calls(repo)
    order = [line.split()[0] for line in log]
    doctor_done = order.index("ctlptl", order.index("tilt"))  # version checks come first
    assert "ctlptl apply -f -" in log[doctor_done:]
    assert log[-1] == "tilt up --context k3d-microplatform --port 10350 -- orders"
    assert env_file.exists()
    assert "k3d-microplatform" in (tmp_path / "state" / "cluster").read_text()


def test_make_cluster_twice_creates_once(repo: Path, tmp_path: Path) -> None:
    tools = stand_ins(tmp_path / "bin")
    first, second = make(repo, tools, "cluster"), make(repo, tools, "cluster")
    assert first.returncode == second.returncode == 0
    assert [line for line in calls(repo) if line.startswith("ctlptl apply")] == [
        "ctlptl apply -f -"
    ]
    assert "already running; nothing to do" in second.stdout


def test_minikube_is_the_alternative(repo: Path, tmp_path: Path) -> None:
    result = make(repo, stand_ins(tmp_path / "bin"), "cluster", "cluster=minikube")
    assert result.returncode == 0, result.stderr
    created = (tmp_path / "state" / "cluster").read_text()
    assert "product: minikube" in created and "--cni=calico" in created


@pytest.mark.parametrize("tool", ["tilt", "ctlptl", "k3d", "docker"])
def test_a_missing_tool_stops_make_dev_before_anything_is_created(
    repo: Path, tmp_path: Path, tool: str
) -> None:
    result = make(repo, stand_ins(tmp_path / "bin", missing=(tool,)), "dev")
    assert result.returncode != 0
    assert f"[MISSING] {tool} is not installed" in result.stdout
    assert "-> install it: " in result.stdout
    assert not any(line.startswith(("ctlptl apply", "tilt up")) for line in calls(repo))
    assert not (tmp_path / "state" / "cluster").exists()


def test_a_docker_daemon_that_cannot_build_is_reported_with_the_fix(
    repo: Path, tmp_path: Path
) -> None:
    (repo.parent / "state").mkdir()
    (repo.parent / "state" / "no-bridge").touch()  # a daemon started with --bridge=none
    result = make(repo, stand_ins(tmp_path / "bin"), "dev")
    assert result.returncode != 0
    assert "[MISSING] docker has no `bridge` network (started with --bridge=none?)" in (
        result.stdout
    )
    assert "start `dockerd` without --bridge=none" in result.stdout
    assert not any(line.startswith(("ctlptl apply", "tilt up")) for line in calls(repo))


def test_an_old_tool_is_reported_with_the_upgrade(repo: Path, tmp_path: Path) -> None:
    tools = stand_ins(tmp_path / "bin")
    (tools / "tilt").write_text(STAND_IN.format(name="tilt", version="v0.20.1, built 2021"))
    result = make(repo, tools, "doctor")
    assert result.returncode != 0
    assert "tilt 0.20.1 is older than" in result.stdout and "upgrade it:" in result.stdout


def test_make_down_stops_what_the_last_make_dev_here_started(repo: Path, tmp_path: Path) -> None:
    tools = stand_ins(tmp_path / "bin")
    assert make(repo, tools, "dev", "cluster=minikube").returncode == 0
    (repo.parent / "calls.log").unlink()
    down = make(repo, tools, "down")  # no arguments: the cluster make dev used
    assert down.returncode == 0, down.stderr
    assert calls(repo) == ["tilt down --context microplatform"]


def test_make_down_before_any_make_dev_says_what_to_type(repo: Path, tmp_path: Path) -> None:
    down = make(repo, stand_ins(tmp_path / "bin"), "down")
    assert down.returncode != 0
    assert "it started nothing here yet" in down.stderr
    assert "make down cluster=k3d" in down.stderr
    assert make(repo, stand_ins(tmp_path / "bin2"), "down", "cluster=k3d").returncode == 0
    assert calls(repo) == ["tilt down --context k3d-microplatform"]


def test_make_logs_follows_tilts_stream_of_the_service(repo: Path, tmp_path: Path) -> None:
    tools = stand_ins(tmp_path / "bin")
    assert make(repo, tools, "dev").returncode == 0
    (repo.parent / "calls.log").unlink()
    logs = make(repo, tools, "logs", "name=orders")
    assert logs.returncode == 0, logs.stderr
    assert calls(repo)[-1] == "tilt logs --follow orders --port 10350"


def test_make_logs_falls_back_to_kubectl_when_tilt_is_not_running(
    repo: Path, tmp_path: Path
) -> None:
    tools = stand_ins(tmp_path / "bin")
    assert make(repo, tools, "dev").returncode == 0
    (repo.parent / "state" / "tilt-stopped").touch()
    logs = make(repo, tools, "logs", "name=orders")
    assert "Tilt is not running orders: kubectl's logs from k3d-microplatform" in logs.stdout
    assert "tilt logs" not in "\n".join(calls(repo))
    unknown = make(repo, tools, "logs", "name=nope")
    assert "there is no service 'nope' under services/" in unknown.stderr


def test_an_existing_cluster_needs_its_context_named(repo: Path, tmp_path: Path) -> None:
    result = make(repo, stand_ins(tmp_path / "bin"), "dev", "cluster=existing")
    assert result.returncode != 0
    assert "cluster=existing needs the kube context of your cluster" in result.stderr
    assert not any(line.startswith(("ctlptl", "tilt up")) for line in calls(repo))


def test_an_existing_cluster_that_does_not_answer_stops_make_dev(
    repo: Path, tmp_path: Path
) -> None:
    result = make(repo, stand_ins(tmp_path / "bin"), "dev", "cluster=existing", "context=nope")
    assert result.returncode != 0
    assert "[MISSING] the cluster of kube context nope does not answer" in result.stdout
    assert not any(line.startswith(("ctlptl", "tilt up")) for line in calls(repo))


def test_an_existing_cluster_is_never_deleted(repo: Path, tmp_path: Path) -> None:
    result = make(
        repo, stand_ins(tmp_path / "bin"), "cluster-down", "cluster=existing", "context=x"
    )
    assert result.returncode == 0
    assert "the platform leaves it running" in result.stdout
    assert calls(repo) == []
