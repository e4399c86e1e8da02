"""A service's released image and version: `k8s/overlays/prod/release/kustomization.yaml`, a
kustomize component of `images:` and a version label, written by the release step only. A
service with a database also gets its migration Job named after the release
(`<service>-migrate-<version>`): a Job's template cannot change in place, so each release
runs a Job of its own."""

import json
import re
from pathlib import Path

from hooks.core.answers import AnswersError, read_answers
from hooks.errors import HookError

RELEASE = Path("k8s") / "overlays" / "prod" / "release" / "kustomization.yaml"
# registry/name[:tag][@sha256:digest], as `docker push` and `crane digest` print them.
REFERENCE = re.compile(
    r"(?P<name>[a-z0-9]+(?:[._/:-][a-z0-9]+)*?)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?"
)
VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")  # a label value
# The Job controller labels its pods with the Job's name: a label value, so 63 at most.
JOB_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?")


def migration_job(service_name: str, version: str) -> str:
    """The name of a release's migration Job."""
    name = f"{service_name}-migrate-{re.sub(r'[^a-z0-9.-]', '-', version.lower())}"
    if not JOB_NAME.fullmatch(name):
        raise HookError(
            f"version '{version}' makes the migration Job's name '{name}', which is not a "
            "Kubernetes name of at most 63 characters ending in a letter or digit; use a "
            "shorter version, for example 1.4.2"
        )
    return name


def release_file(service_name: str, image: str, version: str, migrates: bool = False) -> str:
    """The component's text for a released `image` (pinned by digest) and `version`, with
    the migration Job's name when the service `migrates` (it has a database)."""
    match = REFERENCE.fullmatch(image)
    if match is None or not match["digest"]:
        raise HookError(
            f"image '{image}' is not a reference pinned by digest; give "
            "registry/name:tag@sha256:<64 hex digits> (the digest `docker push` printed)"
        )
    if not VERSION.fullmatch(version):
        raise HookError(f"version '{version}' is not a label value; for example 1.4.2")
    entry = {"name": service_name, "newName": match["name"], "digest": match["digest"]}
    if match["tag"]:
        entry["newTag"] = match["tag"]
    lines = [
        f"# The released image and version of {service_name}, written by make release-image.",
        "apiVersion: kustomize.config.k8s.io/v1alpha1",
        "kind: Component",
        "images:",
        *(
            f"  {'- ' if i == 0 else '  '}{k}: {json.dumps(v)}"
            for i, (k, v) in enumerate(entry.items())
        ),
        "labels:",
        "  - pairs:",
        f"      app.kubernetes.io/version: {json.dumps(version)}",
        "    includeSelectors: false",
        "    includeTemplates: true",
    ]
    if migrates:
        lines += [
            "# The migration Job of this release: the deploy step runs it before the rest.",
            "patches:",
            "  - target:",
            "      kind: Job",
            f"      name: {json.dumps(service_name + '-migrate')}",
            "    patch: |-",
            "      - op: replace",
            "        path: /metadata/name",
            f"        value: {json.dumps(migration_job(service_name, version))}",
        ]
    return "\n".join(lines) + "\n"


def write_release(service: Path, service_name: str, image: str, version: str) -> Path:
    try:
        migrates = str(read_answers(service, required=()).get("database") or "none") != "none"
    except AnswersError:  # no answers file: nothing says it has a database
        migrates = False
    path = service / RELEASE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(release_file(service_name, image, version, migrates))
    return path
