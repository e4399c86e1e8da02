"""Local env files: each service's .env.development and .env.test start as .env.example."""

import shutil
from pathlib import Path

LOCAL_ENV_FILES = (".env.development", ".env.test")


def create_local_env_files(service_dir: Path) -> list[Path]:
    """Copy .env.example to each missing local env file; never overwrite. Returns those made."""
    example = service_dir / ".env.example"
    if not example.is_file():
        return []
    created = []
    for name in LOCAL_ENV_FILES:
        target = service_dir / name
        if not target.exists():
            shutil.copyfile(example, target)
            target.chmod(0o600)  # local values may be real secrets
            created.append(target)
    return created
