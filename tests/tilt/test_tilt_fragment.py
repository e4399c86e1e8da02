"""Each rendered service's Tilt fragment, loaded by real Tilt the way the root Tiltfile does."""

import re
from pathlib import Path
from typing import Any

import pytest

from hooks.core.answers import read_answers
from tests.support.tiltfile import TiltfileError, load_fragment, tiltfile_result


def answers(service: Path) -> dict[str, Any]:
    return read_answers(service)


def test_the_image_built_is_the_image_deployed(service: Path) -> None:
    resource = load_fragment(service)
    [image] = resource.images
    [deployment] = [o for o in resource.objects if o["kind"] == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    # Tilt matches a ref without a tag by repository name (tilt internal/container/selector.go).
    assert container["image"].split(":")[0] == image["selector"]
    assert resource.deploy["imageMaps"] == [image["selector"]]


def test_it_builds_the_dev_target_from_the_service_folder_only(service: Path) -> None:
    [image] = load_fragment(service).images
    build = image["BuildDetails"]
    assert (build["context"], build["target"]) == (str(service), "dev")
    assert build["dockerfileContents"] == (service / "Dockerfile").read_text()
    [only] = [i for i in build["contextIgnores"] if i.get("patterns", [""])[0] == "**"]
    for pattern in only["patterns"][1:]:
        assert (service / pattern.lstrip("!")).exists(), f"only= names a missing path: {pattern}"


def test_live_update_syncs_source_reinstalls_deps_and_falls_back_on_dockerfile(
    service: Path,
) -> None:
    [image] = load_fragment(service).images
    spec = image["LiveUpdateSpec"]
    base = Path(spec["basePath"])
    assert [base / p for p in spec["stopPaths"]] == [service / "Dockerfile"]
    syncs = {str(base / s["localPath"]): s["containerPath"] for s in spec["syncs"]}
    assert syncs[str(service / "src")] == "/app/src"
    [reinstall] = spec["execs"]
    assert str(service / "requirements-dev.lock") in reinstall["triggerPaths"]
    for trigger in reinstall["triggerPaths"]:  # Tilt only runs triggers that a sync covers
        assert any(trigger.startswith(local) for local in syncs)


def test_it_forwards_the_local_port_and_groups_every_object(service: Path) -> None:
    resource = load_fragment(service, local_port=18123)
    given = answers(service)
    [forward] = resource.forwards
    assert (forward["localPort"], forward["containerPort"]) == (18123, given["service_port"])
    assert {o["kind"] for o in resource.objects} >= {"ServiceAccount", "ConfigMap", "Secret"}
    assert all("18123" in link["URL"]["Host"] for link in resource.deploy["Links"])
    assert resource.labels == ["team-label"]


def test_a_fragment_defining_settings_fails_after_the_roots_parse(tmp_path: Path) -> None:
    # Why fragments take everything as arguments: the root Tiltfile has parsed its config
    # by the time it registers them (tilt-dev/tilt#3787).
    fragment = tmp_path / "svc" / "Tiltfile"
    fragment.parent.mkdir()
    fragment.write_text("def register():\n    config.define_string('x')\n")
    (tmp_path / "Tiltfile").write_text(
        "config.define_string_list('services', args=True)\nconfig.parse()\n"
        f"load_dynamic({str(fragment)!r})['register']()\n"
    )
    with pytest.raises(TiltfileError, match=re.escape("cannot be called after config.parse")):
        tiltfile_result(tmp_path)
