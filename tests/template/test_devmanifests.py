"""hooks.devloop.manifests: what Tilt deploys; a secret value reaches the Secret or nothing."""

import base64
import shutil
from pathlib import Path

import pytest
import yaml

from hooks.core.render import render_service as render
from hooks.devloop.manifests import dev_manifests
from hooks.env.parser import EnvFileError

CANARY = "cn-4f3e2d1c0b9a-Zq8v"  # a planted value: it may only appear base64-encoded in a Secret


@pytest.fixture
def service(tmp_path: Path, rendered_services: dict[str, Path]) -> Path:
    copy = tmp_path / "svc"
    shutil.copytree(rendered_services["defaults"], copy)
    return copy


def document_key(service: Path, marker: str) -> int:
    """Add DATABASE_URL (a name that does not say it is secret) with `marker` above it.

    Returns the marker's line number in .env.example.
    """
    line = len((service / ".env.example").read_text().splitlines()) + 3
    with (service / ".env.example").open("a") as example:
        example.write(f"\n# Database URL, with its password.\n{marker}\nDATABASE_URL=\n")
    with (service / ".env.development").open("a") as local:
        local.write(f"DATABASE_URL=postgres://app:{CANARY}@db/app\n")
    return line


def by_kind(documents: list[dict]) -> dict[str, dict]:
    return {doc["kind"]: doc for doc in documents}


def secret_values(documents: list[dict]) -> dict[str, str]:
    data = by_kind(documents)["Secret"]["data"]
    return {key: base64.b64decode(value).decode() for key, value in data.items()}


@pytest.mark.parametrize("typo", ["#@secret", "# @Secret", "#  @secret", "# @secret: token"])
def test_a_marker_typo_stops_the_render_instead_of_publishing_the_value(
    service: Path, typo: str
) -> None:
    line = document_key(service, typo)
    with pytest.raises(EnvFileError) as error:
        dev_manifests(service)
    assert f".env.example:{line}: this comment looks like a secret marker" in str(error.value)
    assert CANARY not in str(error.value)


def test_the_exact_marker_puts_the_value_in_the_secret_only(service: Path) -> None:
    document_key(service, "# @secret")
    documents = dev_manifests(service)
    assert CANARY in secret_values(documents)["DATABASE_URL"]
    assert CANARY not in yaml.safe_dump(by_kind(documents)["ConfigMap"])


def test_a_sensitive_name_left_unmarked_stops_the_render(service: Path) -> None:
    example = service / ".env.example"
    example.write_text(example.read_text().replace("# @secret\n", ""))
    with pytest.raises(EnvFileError, match="UPSTREAM_API_TOKEN looks sensitive"):
        dev_manifests(service)


def test_keys_marked_locally_or_unknown_to_the_example_are_secret(service: Path) -> None:
    local = service / ".env.development"
    local.write_text(
        local.read_text().replace("LOG_LEVEL=info", f"# @secret\nLOG_LEVEL={CANARY}")
        + f"DB_PASSWORD={CANARY}\n"
    )
    documents = dev_manifests(service)
    assert secret_values(documents)["LOG_LEVEL"] == CANARY
    assert secret_values(documents)["DB_PASSWORD"] == CANARY
    assert CANARY not in yaml.safe_dump(by_kind(documents)["ConfigMap"])


def test_a_secret_key_in_config_env_never_reaches_the_configmap(service: Path) -> None:
    with (service / "k8s" / "base" / "config.env").open("a") as config:
        config.write(f"UPSTREAM_API_TOKEN={CANARY}\n")
    config_map = by_kind(dev_manifests(service))["ConfigMap"]
    assert "UPSTREAM_API_TOKEN" not in config_map["data"]
    assert CANARY not in yaml.safe_dump(config_map)


@pytest.mark.parametrize("description", ["=", "<<"])
def test_a_description_yaml_1_1_reads_as_a_tag_reaches_the_dev_manifests(
    plain_template: Path, tmp_path: Path, description: str
) -> None:
    # kustomize writes these bare (YAML 1.2 strings); PyYAML alone reads tags it cannot build.
    service = render(plain_template, tmp_path / "svc", {"description": description})
    shutil.copy(service / ".env.example", service / ".env.development")
    annotations = {doc["metadata"]["annotations"]["description"] for doc in dev_manifests(service)}
    assert annotations == {description}
