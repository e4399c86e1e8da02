"""Each service's Tilt fragment, evaluated against Tilt's API as a root Tiltfile loads it."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.kube import by_kind
from tests.tilt import TiltfileError, TiltRun

DRIVER = """
register = load_dynamic('{fragment}')['register']
register(service_dir='{service_dir}', local_port={local_port}, resource_deps=['platform'])
"""


def evaluate(service: Path, local_port: int = 18080) -> TiltRun:
    """Load the fragment the way the root Tiltfile does: load_dynamic, then register()."""
    driver = service.parent / f"Tiltfile.{service.name}"
    driver.write_text(
        DRIVER.format(fragment=service / "Tiltfile", service_dir=service, local_port=local_port)
    )
    return TiltRun(root=service.parent).run(driver.name)


def answers(service: Path) -> dict[str, Any]:
    return yaml.safe_load((service / ".copier-answers.yml").read_text())


def test_the_image_built_is_the_image_deployed(service: Path) -> None:
    run = evaluate(service)
    [build] = run.named("docker_build")
    [deploy] = run.named("k8s_yaml")
    documents = [doc for doc in yaml.safe_load_all(deploy.kwargs["yaml"]) if doc]
    [deployment] = by_kind(documents, "Deployment")
    images = [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]]
    # Tilt matches a ref without a tag by repository name (tilt internal/container/selector.go).
    assert [image.split(":")[0] for image in images] == [build.kwargs["ref"]]


def test_it_builds_the_dev_target_from_the_service_folder(service: Path) -> None:
    [build] = evaluate(service).named("docker_build")
    assert build.kwargs["target"] == "dev"
    assert build.kwargs["context"] == str(service)
    assert build.kwargs["dockerfile"] == str(service / "Dockerfile")
    for path in build.kwargs["only"]:
        assert (service / path).exists(), f"only= names a missing path: {path}"


def test_live_update_syncs_source_reinstalls_deps_and_falls_back_on_dockerfile(
    service: Path,
) -> None:
    [build] = evaluate(service).named("docker_build")
    steps = build.kwargs["live_update"]
    assert steps[0]["step"] == "fall_back_on"
    assert steps[0]["files"] == [str(service / "Dockerfile")]
    syncs = {step["local"]: step["remote"] for step in steps if step["step"] == "sync"}
    assert syncs[str(service / "src")] == "/app/src"
    [reinstall] = [step for step in steps if step["step"] == "run"]
    assert str(service / "requirements-dev.lock") in reinstall["trigger"]
    for trigger in reinstall["trigger"]:  # Tilt only runs triggers that a sync covers
        assert any(trigger.startswith(local) for local in syncs)


def test_it_deploys_the_dev_overlay_with_a_port_forward(service: Path) -> None:
    run = evaluate(service, local_port=18123)
    [kustomize] = run.named("kustomize")
    assert kustomize.kwargs["path"] == str(service / "k8s" / "overlays" / "dev")
    [resource] = run.named("k8s_resource")
    given = answers(service)
    assert resource.kwargs["workload"] == given["service_name"]
    [forward] = resource.kwargs["port_forwards"]
    assert (forward["local_port"], forward["container_port"]) == (18123, given["service_port"])
    assert resource.kwargs["resource_deps"] == ["platform"]
    assert all("18123" in link["url"] for link in resource.kwargs["links"])


def run_fragment(tmp_path: Path, body: str) -> TiltRun:
    fragment = tmp_path / "svc" / "Tiltfile"
    fragment.parent.mkdir()
    fragment.write_text(f"def register(service_dir):\n    {body}\n")
    (tmp_path / "Tiltfile").write_text(
        f"load_dynamic('{fragment}')['register']('{fragment.parent}')\n"
    )
    return TiltRun(root=tmp_path).run()


def test_a_fragment_calling_config_is_refused_as_tilt_would(tmp_path: Path) -> None:
    # The real fragments above load through this same guard.
    with pytest.raises(TiltfileError, match="root Tiltfile"):
        run_fragment(tmp_path, "config.parse()")


def test_a_typo_in_a_tilt_call_is_caught(tmp_path: Path) -> None:
    with pytest.raises(TiltfileError, match="port_forward"):
        run_fragment(tmp_path, "k8s_resource('x', port_forward=1)")
