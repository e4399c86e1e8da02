"""`make engine` gives a Docker daemon that builds what Tilt builds, or says why it cannot."""

import stat
from pathlib import Path

import pytest

from hooks.errors import HookError
from tests.support import engine

# docker answers once dockerd ran; it has a bridge network unless dockerd got --bridge=none.
DOCKER = """#!/bin/sh
case "$1" in
  version) test -f "{state}/running" ;;
  network) ! grep -q -- --bridge=none "{state}/running" ;;
esac
"""
# Written whole (a rename), or docker would answer once the file exists, still empty.
DOCKERD = """#!/bin/sh
echo "dockerd $*" > "{state}/starting" && mv "{state}/starting" "{state}/running"
"""


def stand_in(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state, tools = tmp_path / "state", tmp_path / "bin"
    state.mkdir()
    tools.mkdir()
    stand_in(tools / "docker", DOCKER.format(state=state))
    stand_in(tools / "dockerd", DOCKERD.format(state=state))
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")
    monkeypatch.setattr(engine, "docker_client", lambda: str(tools / "docker"))
    return state


def test_the_daemon_it_starts_keeps_the_default_bridge(machine: Path, tmp_path: Path) -> None:
    said = engine.ensure_engine(tmp_path / "dockerd.log", wait_seconds=10)
    assert said.startswith("started dockerd")
    assert (machine / "running").read_text().split() == ["dockerd"]  # defaults: bridge, NAT


def test_a_running_daemon_without_a_bridge_is_refused_with_the_fix(
    machine: Path, tmp_path: Path
) -> None:
    (machine / "running").write_text("dockerd --bridge=none --iptables=false\n")
    with pytest.raises(HookError, match=r"has no `bridge` network .* Stop it, then rerun"):
        engine.ensure_engine(tmp_path / "dockerd.log", wait_seconds=10)
