"""Each service's .env.development reaches its pod as a ConfigMap plus a Secret."""

import base64
from pathlib import Path

import pytest
import yaml

from tests.platform_repo import repo_with_services
from tests.tilt import TiltRun

SECRET = "s3cr3t-token-9f8e7d"  # noqa: S105 - a planted test value


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = repo_with_services(tmp_path_factory.mktemp("env"), {"alpha": [], "beta": []})
    for name, level in (("alpha", "debug"), ("beta", "warning")):
        env = repo / "services" / name / ".env.development"
        env.write_text(
            env.read_text()
            .replace("LOG_LEVEL=info", f"LOG_LEVEL={level}")
            .replace("UPSTREAM_API_TOKEN=change-me", f"UPSTREAM_API_TOKEN={SECRET}-{name}")
        )
    return repo


def objects(run: TiltRun, service: str) -> dict[str, dict]:
    """The ConfigMap, Secret and Deployment handed to Tilt for one service, by kind."""
    found = {}
    for call in run.named("k8s_yaml"):
        for doc in yaml.safe_load_all(call.kwargs["yaml"]):
            if doc and doc["metadata"]["name"].startswith(service):
                found[doc["kind"]] = doc
    return found


def test_secret_keys_go_to_the_secret_and_never_the_configmap(repo: Path) -> None:
    run = TiltRun(root=repo).run()
    for name, level in (("alpha", "debug"), ("beta", "warning")):
        found = objects(run, name)
        config, secret = found["ConfigMap"]["data"], found["Secret"]["data"]
        assert config["LOG_LEVEL"] == level  # per service, not process-global
        assert "UPSTREAM_API_TOKEN" not in config
        assert SECRET not in yaml.safe_dump(found["ConfigMap"])
        assert base64.b64decode(secret["UPSTREAM_API_TOKEN"]).decode() == f"{SECRET}-{name}"


def test_the_pod_reads_both_under_their_generated_names(repo: Path) -> None:
    found = objects(TiltRun(root=repo).run(), "alpha")
    env_from = found["Deployment"]["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert env_from[0]["configMapRef"]["name"] == found["ConfigMap"]["metadata"]["name"]
    assert env_from[1]["secretRef"]["name"] == found["Secret"]["metadata"]["name"]


def test_secret_values_stay_out_of_tilts_log(repo: Path) -> None:
    run = TiltRun(root=repo).run()
    for call in run.named("local"):
        if "dev-manifests" in call.kwargs["command"]:
            assert call.kwargs["quiet"] and call.kwargs["echo_off"]


def test_a_changed_value_renames_the_configmap_so_pods_roll(repo: Path) -> None:
    before = objects(TiltRun(root=repo).run(), "beta")["ConfigMap"]["metadata"]["name"]
    env = repo / "services" / "beta" / ".env.development"
    original = env.read_text()
    env.write_text(original.replace("LOG_LEVEL=warning", "LOG_LEVEL=error"))
    try:
        after = objects(TiltRun(root=repo).run(), "beta")["ConfigMap"]["metadata"]["name"]
    finally:
        env.write_text(original)
    assert before != after


def test_tilt_watches_each_services_env_files(repo: Path) -> None:
    watched = {call.kwargs["path"] for call in TiltRun(root=repo).run().named("watch_file")}
    assert str(repo / "services" / "alpha" / ".env.development") in watched
