"""Tiltfiles judged by the real Tilt: `tilt alpha tiltfile-result` evaluates one without a
cluster (a kubeconfig naming the context is enough) and prints what Tilt would run as JSON.

`tilt` is looked up on the PATH the tests were started with (the isolated test machine's
PATH has only the project's tools). Without it these tests skip, except in CI, where that
is a failure: the stand-in that judged Tiltfiles before was wrong about real Tilt.
"""

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from hooks.core.answers import read_answers
from hooks.devloop.manifests import dev_manifests
from hooks.devloop.plan import service_plan

TILT = os.environ.get("TILT") or shutil.which("tilt")


def kubeconfig(context: str) -> str:
    """A kubeconfig whose one context names a cluster nobody answers for."""
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
            "users": [{"name": "u", "user": {"token": "unused"}}],
            "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}],
            "current-context": context,
        }
    )


def require_tilt() -> str:
    """The tilt binary; a skip without it, a failure in CI."""
    if TILT is None:
        message = "tilt is not on PATH (`make doctor` says how to install it)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI always runs the Tiltfile tests with real Tilt")
        pytest.skip(f"{message}; CI always runs these")
    return TILT


class TiltfileError(Exception):
    """Tilt refused the Tiltfile (exit 5); the message is what Tilt printed."""


@dataclass
class Resource:
    """One Tilt resource (a manifest, in Tilt's words) of a Tiltfile result."""

    raw: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.raw["Name"])

    @property
    def deps(self) -> list[str]:
        return list(self.raw.get("ResourceDependencies") or [])

    @property
    def labels(self) -> list[str]:
        return sorted(self.raw.get("Labels") or {})

    @property
    def deploy(self) -> dict[str, Any]:
        return dict(self.raw.get("DeployTarget") or {})

    @property
    def objects(self) -> list[dict[str, Any]]:
        """The Kubernetes objects Tilt applies for this resource."""
        return [doc for doc in yaml.safe_load_all(self.deploy.get("yaml", "")) if doc]

    @property
    def forwards(self) -> list[dict[str, Any]]:
        return list((self.deploy.get("portForwardTemplateSpec") or {}).get("forwards") or [])

    @property
    def images(self) -> list[dict[str, Any]]:
        return list(self.raw.get("ImageTargets") or [])


@dataclass
class TiltResult:
    """What `tilt alpha tiltfile-result --verbose` printed: the result, and Tilt's log."""

    raw: dict[str, Any]
    log: str

    @property
    def resources(self) -> dict[str, Resource]:
        return {m["Name"]: Resource(m) for m in self.raw["Manifests"]}

    @property
    def watched(self) -> list[str]:
        return list(self.raw.get("ConfigFiles") or [])

    def objects(self, kind: str) -> list[dict[str, Any]]:
        return [o for r in self.resources.values() for o in r.objects if o["kind"] == kind]


def tiltfile_result(
    root: Path,
    args: tuple[str, ...] = (),
    context: str = "k3d-microplatform",
    env: dict[str, str] | None = None,
    tiltfile: str = "Tiltfile",
) -> TiltResult:
    """Evaluate root/tiltfile with real Tilt in the given kube context, no cluster needed."""
    tilt = require_tilt()
    config = root.parent / f".kubeconfig-{root.name}"
    config.write_text(kubeconfig(context))
    result = subprocess.run(
        [tilt, "alpha", "tiltfile-result", "--verbose", "--file", tiltfile, "--", *args],
        cwd=root,
        env={**os.environ, "KUBECONFIG": str(config), **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == 5:
        raise TiltfileError(result.stderr)
    assert result.returncode == 0, result.stderr
    return TiltResult(json.loads(result.stdout), result.stderr)


DRIVER = """
allow_k8s_contexts(k8s_context())
load_dynamic({fragment!r})['register_service'](decode_json(read_file({plan!r})))
"""


def load_fragment(service: Path, local_port: int = 18123) -> Resource:
    """Load the fragment through load_dynamic, then register_service() with what tilt-plan
    computes for it, as the root Tiltfile does."""
    answers = {**read_answers(service, required=()), "dev_port": local_port, "team": "team-label"}
    plan = service.parent / f"{service.name}.plan.json"
    plan.write_text(json.dumps(service_plan(service, answers, dev_manifests(service))))
    driver = service.parent / f"Tiltfile.{service.name}"
    driver.write_text(DRIVER.format(fragment=str(service / "Tiltfile"), plan=str(plan)))
    [resource] = tiltfile_result(service.parent, tiltfile=driver.name).resources.values()
    return resource
