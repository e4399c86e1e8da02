"""Unique canary values planted in env files never appear in the output of any command that
reads them: make env, dev-manifests, tilt-plan (what the root Tiltfile runs), env-check,
make check, make scan, and real Tilt's evaluation of the root Tiltfile. Only a Secret's data
may carry one, base64-encoded."""

import base64
import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.support.helpers import REPO, git, make, repo_with_services
from tests.support.tiltfile import TiltfileError, tiltfile_result


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A repository whose services hold planted values, and those values."""
    repo = repo_with_services(tmp_path_factory.mktemp("canaries"), {s: [] for s in SERVICES})
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "add services")
    (repo / ".venv-checkov").symlink_to(REPO / ".venv-checkov")
    assert run(repo, sys.executable, "-m", "hooks", "env").returncode == 0  # the local files
    values = [v for name, plant in PLANTS.items() for v in plant(repo / "services" / name)]
    return repo, values


def canary() -> str:
    return f"Cn{uuid.uuid4().hex[:20]}Z9"  # mixed case and digits: a token's shape


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def plant_valid_secrets(service: Path) -> list[str]:
    """Real values where the contract puts them: every command succeeds."""
    values = [canary() for _ in range(3)]
    local = service / ".env.development"
    edit(local, "UPSTREAM_API_TOKEN=change-me", f"UPSTREAM_API_TOKEN={values[0]}")
    edit(local, "LOG_LEVEL=info", f"# @secret\nLOG_LEVEL={values[1]}")
    with local.open("a") as file:
        file.write(f"DB_PASSWORD={values[2]}\n")  # unknown to .env.example: a secret too
    return values


def plant_pasted_secrets(service: Path) -> list[str]:
    """A raw token line, a PEM body and a mistyped marker in the local file."""
    values = [canary() for _ in range(3)]
    body = base64.b64encode(os.urandom(96)).decode()
    values += textwrap.wrap(body, 32)
    pem = "\n".join(values[3:])
    with (service / ".env.development").open("a") as file:
        file.write(f"{values[0]}\n")
        file.write(f'TLS_KEY="-----BEGIN PRIVATE KEY-----\n{pem}\n-----END PRIVATE KEY-----"\n')
        file.write(f"#@secret\nDATABASE_URL=postgres://app:{values[1]}@db/app\n")
        file.write(f"{values[2]}==\n")
    return values


def plant_marker_typo(service: Path) -> list[str]:
    """Issue 13's first case: `# @Secret` in .env.example, a real value in the local file."""
    value = canary()
    edit(service / ".env.example", "# @secret\n", "# @Secret\n")
    edit(
        service / ".env.development", "UPSTREAM_API_TOKEN=change-me", f"UPSTREAM_API_TOKEN={value}"
    )
    return [value]


# service -> what is planted in it.
PLANTS: dict[str, Callable[[Path], list[str]]] = {
    "valid": plant_valid_secrets,
    "pasted": plant_pasted_secrets,
    "typo": plant_marker_typo,
}
SERVICES = tuple(PLANTS)
WORKING = ("valid",)  # the service whose env files are fine


def run(repo: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), cwd=repo, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


def without_secret_data(manifests: str) -> str:
    """The rendered stream minus Secret data, the one place a value belongs."""
    documents = [doc for doc in yaml.safe_load_all(manifests) if doc]
    for doc in documents:
        if doc["kind"] == "Secret":
            doc.pop("data")
    return yaml.safe_dump_all(documents)


def leaks(output: str, values: list[str]) -> list[str]:
    forms = {
        form
        for value in values
        for form in (value, value.upper(), value.lower(), base64.b64encode(value.encode()).decode())
    }
    return sorted(form for form in forms if form in output)


def test_no_command_that_reads_env_files_prints_a_planted_value(
    planted: tuple[Path, list[str]],
) -> None:
    repo, values = planted
    outputs = {}
    for name, result in {
        "make env": make(repo, "env"),
        "env-check": run(repo, sys.executable, "-m", "hooks", "env-check"),
        "make check": make(repo, "check", "args=-q -p no:cacheprovider"),
        "make scan": make(repo, "scan"),
        "tilt-plan": run(repo, sys.executable, "-m", "hooks", "tilt-plan"),
    }.items():
        outputs[name] = result.stdout + result.stderr
        # make scan reads what git would commit, not local env files: it may pass.
        assert result.returncode != 0 or name == "make scan", f"{name} passed broken env files"
    for service in SERVICES:
        result = run(repo, sys.executable, "-m", "hooks", "dev-manifests", f"services/{service}")
        assert (result.returncode == 0) == (service in WORKING), result.stderr
        shown = without_secret_data(result.stdout) if result.returncode == 0 else result.stdout
        outputs[f"dev-manifests {service}"] = shown + result.stderr
    result = run(repo, sys.executable, "-m", "hooks", "tilt-plan", *WORKING)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    for service in plan["services"]:
        service["manifests"] = without_secret_data(service["manifests"])
    outputs["tilt-plan of the working services"] = json.dumps(plan) + result.stderr

    assert {name: leaks(output, values) for name, output in outputs.items()} == {
        name: [] for name in outputs
    }
    example = (repo / "services/pasted/.env.example").read_text().splitlines()
    typo = (repo / "services/typo/.env.example").read_text().splitlines().index("# @Secret")
    for broken in (
        f"services/pasted/.env.development:{len(example) + 1}",  # the first pasted line
        f"services/typo/.env.example:{typo + 1}",
    ):
        assert broken in outputs["env-check"] and broken in outputs["make check"]


def test_tilt_shows_no_planted_value(planted: tuple[Path, list[str]]) -> None:
    repo, values = planted
    with pytest.raises(TiltfileError) as refused:
        tiltfile_result(repo)
    assert "services/" in str(refused.value)  # the file and line of the broken env file
    working = tiltfile_result(repo, args=WORKING)
    shown = [yaml.safe_dump(obj) for obj in working.objects("ConfigMap")]
    assert leaks("\n".join([str(refused.value), working.log, *shown]), values) == []
    assert len(working.objects("Secret")) == len(WORKING)
