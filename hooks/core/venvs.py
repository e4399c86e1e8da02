"""Venvs by requirements file: one per distinct file, reused while it is unchanged, and shared
by whatever needs that file's packages (the services that pin the same lock, the tests).

They live in `.cache/` of the repository, or in $PLATFORM_VENV_CACHE (the tests point it at
their session's cache, so that a throwaway repository reuses what is built)."""

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

CACHE_VARIABLE = "PLATFORM_VENV_CACHE"


def venv_cache(repo: Path) -> Path:
    return Path(os.environ.get(CACHE_VARIABLE) or repo / ".cache")


def cached_venv(cache: Path, name: str, requirements: Path, *pip_options: str) -> Path:
    """The python of a venv with `requirements` installed, reused while they are unchanged."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    venv = cache / f"{name}-{digest}"
    python = venv / "bin" / "python"
    cache.mkdir(parents=True, exist_ok=True)
    # Processes at once share the cache: one builds, the others wait for it.
    with open(cache / f"{name}-{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".complete").exists():
            _build(venv, requirements, *pip_options)
    return python


def locked_venv(cache: Path, lock: Path) -> Path:
    """The python of a venv with a service's hash-locked packages (its requirements-dev.lock)."""
    return cached_venv(cache, "service-venv", lock, "--require-hashes", "--no-deps")


def _build(venv: Path, requirements: Path, *pip_options: str) -> None:
    """A fresh venv with `requirements` installed, marked complete only once it is."""
    shutil.rmtree(venv, ignore_errors=True)
    made = [sys.executable, "-m", "venv", str(venv)]
    subprocess.run(made, check=True, capture_output=True, text=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *pip_options]
    subprocess.run([*pip, "-r", str(requirements)], check=True, capture_output=True, text=True)
    (venv / ".complete").touch()
