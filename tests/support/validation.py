"""Render kustomizations with the pinned kubectl and validate them strictly, offline."""

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate

import hooks.core.kube
from tests.support.helpers import REPO, crd_venv

KUBERNETES_VERSIONS = ("1.30", "1.37")


def kustomize(directory: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize` output as parsed documents; a failure fails the test."""
    return hooks.core.kube.kustomize_objects(directory)


def validation_errors(documents: list[dict[str, Any]], version: str) -> list[str]:
    """Strict schema errors; an unknown kind is an error, not a warning."""
    errors = []
    for document in documents:
        name = f"{document.get('kind')}/{document.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{name}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{name}: no schema for this kind in Kubernetes {version}")
    return errors


PROMETHEUS_OPERATOR_KINDS = ("ServiceMonitor", "PodMonitor")


def crd_errors(documents: list[dict[str, Any]]) -> list[str]:
    """Errors of the Prometheus Operator objects among `documents`, against their CRD's
    schema (tests/crd_schema.py, in its own pinned venv)."""
    python = crd_venv()
    chosen = [d for d in documents if d["kind"] in PROMETHEUS_OPERATOR_KINDS]
    result = subprocess.run(
        [str(python), str(REPO / "tests" / "support" / "crd_schema.py")],
        input=json.dumps(chosen),
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(result.stdout))


def by_kind(documents: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The documents of one kind."""
    return [document for document in documents if document["kind"] == kind]


def quantity(text: str) -> float:
    """A Kubernetes quantity ("50m", "96Mi", "3Gi", "2") as a number."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text))
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {text}")
    return float(match.group(1)) * units.get(match.group(2), 1)
