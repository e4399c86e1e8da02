"""Each service's .env.development reaches its pod as a ConfigMap plus a Secret, in real Tilt."""

import base64
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import repo_with_services
from tests.support.tiltfile import tiltfile_result

CANARY = "canary-4b1d9e7f-secret"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = repo_with_services(tmp_path_factory.mktemp("env"), {"alpha": [], "beta": []})
    for name, level in (("alpha", "debug"), ("beta", "warning")):
        env = repo / "services" / name / ".env.development"
        env.write_text(
            env.read_text()
            .replace("LOG_LEVEL=info", f"LOG_LEVEL={level}")
            .replace("UPSTREAM_API_TOKEN=change-me", f"UPSTREAM_API_TOKEN={CANARY}-{name}")
        )
    return repo


def objects(repo: Path, service: str) -> dict[str, dict[str, Any]]:
    """The objects Tilt applies for one service, by kind."""
    return {o["kind"]: o for o in tiltfile_result(repo).resources[service].objects}


def test_secret_keys_go_to_the_secret_and_never_the_configmap(repo: Path) -> None:
    for name, level in (("alpha", "debug"), ("beta", "warning")):
        found = objects(repo, name)
        config, secret = found["ConfigMap"]["data"], found["Secret"]["data"]
        assert config["LOG_LEVEL"] == level  # per service, not process-global
        assert "UPSTREAM_API_TOKEN" not in config
        assert CANARY not in str(found["ConfigMap"])
        assert base64.b64decode(secret["UPSTREAM_API_TOKEN"]).decode() == f"{CANARY}-{name}"


def test_the_pod_reads_both_under_their_generated_names(repo: Path) -> None:
    found = objects(repo, "alpha")
    env_from = found["Deployment"]["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert env_from[0]["configMapRef"]["name"] == found["ConfigMap"]["metadata"]["name"]
    assert env_from[1]["secretRef"]["name"] == found["Secret"]["metadata"]["name"]


def test_secret_values_stay_out_of_tilts_log(repo: Path) -> None:
    result = tiltfile_result(repo)
    assert "Successfully loaded Tiltfile" in result.log
    assert CANARY not in result.log


def test_a_changed_value_renames_the_configmap_so_pods_roll(repo: Path) -> None:
    before = objects(repo, "beta")["ConfigMap"]["metadata"]["name"]
    env = repo / "services" / "beta" / ".env.development"
    original = env.read_text()
    env.write_text(original.replace("LOG_LEVEL=warning", "LOG_LEVEL=error"))
    try:
        after = objects(repo, "beta")["ConfigMap"]["metadata"]["name"]
    finally:
        env.write_text(original)
    assert before != after


def test_tilt_watches_each_services_env_files(repo: Path) -> None:
    watched = tiltfile_result(repo).watched
    for name in ("alpha", "beta"):
        assert str(repo / "services" / name / ".env.development") in watched
        assert str(repo / "services" / name / ".env.example") in watched
