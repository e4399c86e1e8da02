"""A service with its own database (`database=postgres`) on a real cluster: `tilt ci` starts its
Postgres, then its migration Job, then the service, under restricted Pod Security and the
namespace's quota; its data outlives the service's pod and the database's; a database lost
while serving gives 503 without making the service unready or restarting it; a migration
that fails fails `tilt ci` with its reason; the prod overlay passes the apiserver's checks.

Runs against the cluster tests/support/livecluster.py finds, in namespaces of this run only,
deleted at the end; traffic goes to 127.0.0.1 (port-forwards) only.
"""

import json
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from hooks.core.answers import read_answers
from hooks.core.kube import kustomize_objects
from tests.support.engine import ensure_base_image, ensure_database_image
from tests.support.helpers import REPO, add_service, commit_all, edit, git, snapshot_repo
from tests.support.livecluster import LiveCluster, ready
from tests.support.net import free_ports, http_get, http_post, wait_for

RUN = uuid.uuid4().hex[:6]
NAMESPACE = f"mp-test-db-{RUN}"
PASSWORD = f"pw-{RUN}-not-for-logs"  # ledger's database password: never in any output
METRICS = REPO / ".cache" / "bench" / "database.json"
BROKEN = """\"\"\"A migration that cannot run.\"\"\"

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE no_such_table SET x = 1")


def downgrade() -> None:
    pass
"""


@dataclass
class DatabaseRepo:
    """A platform checkout with ledger (database=postgres) beside hello, which calls it."""

    path: Path
    ports: dict[str, int]


@pytest.fixture(scope="module")
def dbrepo(
    live_cluster: LiveCluster, engine: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseRepo]:
    usable, how = ensure_base_image("python:3.13-slim-trixie", "3.13")
    assert usable, how
    settings = yaml.safe_load((REPO / "platform/settings/settings.yaml").read_text())["data"]
    usable, how = ensure_database_image(settings["databases"]["postgres"]["image"])
    assert usable, how
    repo = snapshot_repo(tmp_path_factory.mktemp("database"))
    (repo / ".venv").symlink_to(sys.prefix)
    edit(repo / "platform/settings/settings.yaml", "default: apps", f"default: {NAMESPACE}")
    commit_all(repo, "this run's namespace")
    ports = dict(zip(("ledger", "hello"), free_ports(2), strict=True))
    add_service(repo, "ledger", ["database=postgres", f"dev_port={ports['ledger']}"])
    add_service(repo, "hello", ["calls=ledger", f"dev_port={ports['hello']}"])
    commit_all(repo, "ledger and hello")
    edit(repo / "services/ledger/.env.development", ":change-me@", f":{PASSWORD}@")
    yield DatabaseRepo(repo, ports)
    live_cluster.down(repo)
    live_cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)


@pytest.fixture(scope="module")
def up(live_cluster: LiveCluster, dbrepo: DatabaseRepo) -> str:
    """`tilt ci` to every resource ready, cold (nothing built or deployed yet), then warm;
    the cold run's output."""
    started = time.monotonic()
    cold = live_cluster.ci(dbrepo.path)
    record("tilt_ci_database_cold_s", time.monotonic() - started)
    output = cold.stdout + cold.stderr
    assert cold.returncode == 0, output[-6000:]
    started = time.monotonic()
    warm = live_cluster.ci(dbrepo.path)
    record("tilt_ci_database_warm_s", time.monotonic() - started)
    assert warm.returncode == 0, (warm.stdout + warm.stderr)[-4000:]
    return output + warm.stdout + warm.stderr


def test_tilt_ci_starts_the_database_then_the_migrations_then_the_service(
    live_cluster: LiveCluster, up: str
) -> None:
    labels = live_cluster.get("namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    [database] = live_cluster.pods(NAMESPACE, "postgres", "ledger-postgres")
    assert ready(database) and database["metadata"]["name"] == "ledger-postgres-0"
    assert database["spec"]["containers"][0]["image"].startswith(live_cluster.registry())
    [claim] = live_cluster.get("pvc", "-n", NAMESPACE)["items"]
    assert claim["status"]["phase"] == "Bound"
    job = live_cluster.get("job", "ledger-migrate", "-n", NAMESPACE)
    assert job["status"].get("succeeded") == 1
    migrated = live_cluster.kubectl("logs", "-n", NAMESPACE, "job/ledger-migrate").stdout
    assert "Running upgrade  -> 0001" in migrated and "migrated ledger@" in migrated
    for name in ("ledger", "hello"):
        [pod] = live_cluster.pods(NAMESPACE, name, name)
        assert ready(pod), name
    # Tilt ran them in this order: the Job after the database, the service after the Job.
    [migration] = live_cluster.pods(NAMESPACE, "ledger", "ledger-migrate")
    [service] = live_cluster.pods(NAMESPACE, "ledger", "ledger")
    finished = migration["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"]
    assert moment(database["status"]["startTime"]) <= moment(migration["status"]["startTime"])
    assert moment(finished) <= moment(service["status"]["startTime"])
    assert PASSWORD not in up  # Tilt hides the Secret's values; nothing else shows them


def test_the_database_settings_are_secret_and_point_at_its_own_postgres(
    live_cluster: LiveCluster, up: str
) -> None:
    [pod] = live_cluster.pods(NAMESPACE, "ledger", "ledger")
    env_from = pod["spec"]["containers"][0]["envFrom"]
    config = live_cluster.get("configmap", env_from[0]["configMapRef"]["name"], "-n", NAMESPACE)
    assert "DATABASE_URL" not in config["data"] and config["data"]["DATABASE_POOL_SIZE"] == "10"
    environment = live_cluster.kubectl(
        "exec", "-n", NAMESPACE, pod["metadata"]["name"], "--", "printenv", "DATABASE_URL"
    ).stdout.strip()
    host = f"ledger-postgres.{NAMESPACE}.svc.cluster.local:5432"
    assert environment == f"postgresql+asyncpg://ledger:{PASSWORD}@{host}/ledger"
    logs = live_cluster.kubectl("logs", "-n", NAMESPACE, "deployment/ledger").stdout
    assert PASSWORD not in logs and f"database ready: ledger@{host}/ledger" in logs


def test_an_item_outlives_the_services_pod_and_the_databases(
    live_cluster: LiveCluster, up: str
) -> None:
    with live_cluster.forwarded(NAMESPACE, "svc/ledger", 8000) as port:
        status, body = http_post(port, "/items", {"name": f"ledger book {RUN}"})
        assert status == 201, body
        item = json.loads(body)
        assert http_get(port, f"/items/{item['id']}") == (200, body)
        assert http_get(port, "/items/987654321")[0] == 404
        latencies = []
        for number in range(200):
            started = time.perf_counter()
            assert http_post(port, "/items", {"name": f"n{number}"})[0] == 201
            latencies.append(time.perf_counter() - started)
        record("post_items_s", latencies)

    [before] = live_cluster.pods(NAMESPACE, "ledger", "ledger")
    live_cluster.kubectl("delete", "pod", "-n", NAMESPACE, before["metadata"]["name"])
    renewed = wait_for(lambda: replaced(live_cluster, "ledger", before), 180, "a new ledger pod")
    with live_cluster.forwarded(NAMESPACE, f"pod/{renewed}", 8000) as port:
        assert http_get(port, f"/items/{item['id']}") == (200, body)

    [pod] = live_cluster.pods(NAMESPACE, "ledger", "ledger")
    restarts = pod["status"]["containerStatuses"][0]["restartCount"]
    seen: list[tuple[int, int]] = []
    with live_cluster.forwarded(NAMESPACE, f"pod/{pod['metadata']['name']}", 8000) as port:
        live_cluster.kubectl("delete", "pod", "-n", NAMESPACE, "ledger-postgres-0", "--wait=false")

        def served() -> bool:
            seen.append((http_get(port, f"/items/{item['id']}")[0], http_get(port, "/readyz")[0]))
            return seen[-1][0] == 200 and any(status == 503 for status, _ in seen)

        wait_for(served, 180, "the item, after the database's pod came back", interval=0.2)
        assert http_get(port, f"/items/{item['id']}") == (200, body)
    assert {ready for _, ready in seen} == {200}  # the database's absence never made it unready
    [after] = live_cluster.pods(NAMESPACE, "ledger", "ledger")
    assert after["metadata"]["name"] == pod["metadata"]["name"]
    assert after["status"]["containerStatuses"][0]["restartCount"] == restarts  # no restart


def moment(timestamp: str) -> float:
    return time.mktime(time.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ"))


def replaced(cluster: LiveCluster, name: str, old: dict[str, object]) -> str | None:
    fresh = [
        p
        for p in cluster.pods(NAMESPACE, name, name)
        if p["metadata"]["name"] != old["metadata"]["name"] and ready(p)  # type: ignore[index]
    ]
    return str(fresh[0]["metadata"]["name"]) if fresh else None


def test_the_prod_overlay_with_its_migration_job_passes_the_apiservers_checks(
    live_cluster: LiveCluster, dbrepo: DatabaseRepo
) -> None:
    documents = kustomize_objects(dbrepo.path / "services/ledger/k8s/overlays/prod")
    assert [d["metadata"]["name"] for d in documents if d["kind"] == "Job"] == [
        "ledger-migrate-unreleased"
    ]
    applied = live_cluster.dry_run_apply(documents, NAMESPACE, "--warnings-as-errors")
    assert applied.returncode == 0, applied.stderr
    # The deploy step's first half (docs/environment.md): everything but the Deployment.
    first = live_cluster.dry_run_apply(
        documents, NAMESPACE, "-l", "app.kubernetes.io/component!=server"
    )
    assert first.returncode == 0, first.stderr
    applied_first = first.stdout.splitlines()
    assert any(line.startswith("job.batch/ledger-migrate-unreleased") for line in applied_first)
    assert any(line.startswith("configmap/ledger-config-") for line in applied_first)
    assert not any(line.startswith("deployment.apps/") for line in applied_first)


def test_a_migration_that_fails_fails_tilt_ci_with_its_reason(
    live_cluster: LiveCluster, dbrepo: DatabaseRepo, up: str
) -> None:
    broken = dbrepo.path.parent / "broken-migration"
    git(dbrepo.path.parent, "clone", "-q", str(dbrepo.path), str(broken))
    (broken / ".venv").symlink_to(sys.prefix)
    [port] = free_ports(1)
    add_service(broken, "vault", ["database=postgres", f"dev_port={port}"])
    versions = broken / "services/vault/src/vault/migrations/versions"
    (versions / "0002_broken.py").write_text(BROKEN)
    assert read_answers(broken / "services/vault")["database"] == "postgres"
    result = live_cluster.ci(broken, "vault", timeout="6m")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Running upgrade 0001 -> 0002" in output
    assert "migration failed: vault@vault-postgres." in output
    assert 'relation "no_such_table" does not exist' in output
    # The service never started: Tilt deploys it only after its migration Job completed.
    deployment = live_cluster.kubectl("get", "deployment", "vault", "-n", NAMESPACE, check=False)
    assert deployment.returncode != 0 and "NotFound" in deployment.stderr


def record(name: str, value: float | list[float]) -> None:
    """A figure for `make bench` (never asserted: these machines are shared and noisy)."""
    METRICS.parent.mkdir(parents=True, exist_ok=True)
    figures = json.loads(METRICS.read_text()) if METRICS.exists() else {}
    figures[name] = value
    METRICS.write_text(json.dumps(figures, indent=2))
