"""The `database` answer: a service rendered with `database=postgres` passes its own tests
against a real, throwaway Postgres (run as an unprivileged user when the tests run as root),
its manifests are valid, restricted and accepted by the scanners, DATABASE_URL is a secret in
every place, the pools fit the server, the faults its tests stand for can fail them, `make run`
serves against a local Postgres, and `make update` gives a database to a service generated
before the question existed, its edits kept and its locks following the answer."""

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hooks.core.answers import read_answers
from hooks.devloop.manifests import dev_manifests
from hooks.devloop.places import cluster_secrets
from hooks.env.checks import check_service
from hooks.security.scan import scan_findings, unaccepted
from hooks.security.secrets import scan_secrets
from tests.support.helpers import (
    LONGEST_NAME,
    LONGEST_PEER,
    REPO,
    TEMPLATE_LOCKS,
    VENVS,
    commit_all,
    edit,
    git,
    hadolint,
    make,
    make_in_service,
    release,
    repo_with_services,
    service_venv,
)
from tests.support.net import free_port, http_get, http_post, wait_for
from tests.support.updates import row
from tests.support.validation import KUBERNETES_VERSIONS, by_kind, kustomize, validation_errors
from tests.support.workflows import tool

SETTINGS = yaml.safe_load((REPO / "platform/settings/settings.yaml").read_text())["data"]
OVERLAYS = ("base", "overlays/dev", "overlays/prod")
CANARY = "pw-canary-5d2e"


@pytest.fixture(scope="module")
def ledger(template_repo: Path, copie_session: Any) -> Path:
    """The template rendered with database=postgres."""
    result = copie_session.copy(
        extra_answers={"service_name": "ledger", "database": "postgres"},
        template_dir=template_repo,
    )
    assert result.exit_code == 0, result.exception
    return Path(result.project_dir)


@pytest.fixture
def copy(ledger: Path, tmp_path: Path) -> Path:
    """A copy of it to change."""
    return Path(shutil.copytree(ledger, tmp_path / "ledger", symlinks=True))


def servers_left() -> set[str]:
    """Postgres servers of throwaway folders still running (their data folders)."""
    found = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return set(re.findall(r"postgres -D (\S*postgres-\w+/data)", found))


def test_its_own_tests_pass_against_a_throwaway_postgres_removed_afterwards(ledger: Path) -> None:
    before = servers_left()
    result = make_in_service(ledger, "test", args="-rs", env={"CI": "1"})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    passed = int(re.search(r"(\d+) passed", output)[1])  # type: ignore[index]
    assert passed >= 90 and "skipped" not in output  # the database's own tests ran
    assert servers_left() == before  # the server of the run is gone, and its files with it
    if os.geteuid() == 0:  # CI: Postgres refuses root, so the tests ran it as another user
        assert "cannot be run as root" not in output


def test_ruff_is_clean(ledger: Path) -> None:
    result = make_in_service(ledger, "lint")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_longest_names_fit_ruff_and_yamllint(template_repo: Path, copie_session: Any) -> None:
    """Every part a service can have (a database, a peer), at the longest names."""
    result = copie_session.copy(
        extra_answers={"service_name": LONGEST_NAME, "calls": LONGEST_PEER, "database": "postgres"},
        template_dir=template_repo,
    )
    assert result.exit_code == 0, result.exception
    service = Path(result.project_dir)
    lint = make_in_service(service, "lint")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    documents = [str(path) for path in service.rglob("*.y*ml")]
    yamllint = tool("yamllint", "--strict", "-c", str(REPO / ".yamllint.yaml"), *documents)
    assert yamllint.returncode == 0, yamllint.stdout


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_document_validates_strictly(ledger: Path, overlay: str, version: str) -> None:
    assert validation_errors(kustomize(ledger / "k8s" / overlay), version) == []


def test_the_database_runs_in_dev_only_and_every_pod_is_restricted(ledger: Path) -> None:
    dev = kustomize(ledger / "k8s/overlays/dev")
    prod = kustomize(ledger / "k8s/overlays/prod")
    assert not by_kind(prod, "StatefulSet") and not by_kind(prod, "PersistentVolumeClaim")
    [database] = by_kind(dev, "StatefulSet")
    uid = SETTINGS["databases"]["postgres"]["uid"]
    for workload in [*by_kind(dev, "Deployment"), database, *by_kind(dev, "Job")]:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert context["runAsUser"] >= 10000
            assert set(container["resources"]["requests"]) >= {"cpu", "memory"}
            assert set(container["resources"]["limits"]) >= {"cpu", "memory"}
            if workload["kind"] != "Deployment":  # Tilt syncs into the service's only
                assert context["readOnlyRootFilesystem"] is True
    pod = database["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert pod["securityContext"]["runAsUser"] == uid and pod["enableServiceLinks"] is False
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    [pgdata] = [e["value"] for e in container["env"] if e["name"] == "PGDATA"]
    [claim] = database["spec"]["volumeClaimTemplates"]
    assert mounts[str(Path(pgdata).parent)] == claim["metadata"]["name"]  # a folder of the volume
    assert "storageClassName" not in claim["spec"]  # the cluster's default StorageClass
    assert {"/var/run/postgresql", "/tmp"} <= set(mounts)
    policies = {d["metadata"]["name"]: d for d in by_kind(dev, "NetworkPolicy")}
    [admitted] = policies["ledger-postgres"]["spec"]["ingress"]
    ours = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "ledger"}}}
    assert admitted["from"] == [ours]  # the service's pods and its migration Job's only


def test_the_scanners_accept_every_overlay_and_the_dockerfile(ledger: Path) -> None:
    findings = scan_findings(REPO, {"ledger": ledger}, platform=False)
    assert any("dev.yaml" in f.target for f in findings)  # it was scanned
    assert [str(f) for f in unaccepted(findings, REPO)] == []


def test_the_platforms_postgres_image_passes_hadolint() -> None:
    result = hadolint(REPO / "platform/postgres/Dockerfile")
    assert result.returncode == 0, result.stdout


def test_database_url_is_a_secret_in_every_place(copy: Path) -> None:
    example = (copy / ".env.example").read_text()
    assert re.search(r"# @secret\nDATABASE_URL=postgresql\+asyncpg://", example)
    assert "DATABASE_URL" not in (copy / "k8s/base/config.env").read_text()
    git(copy, "init", "-q")  # its ignore rules are checked too
    assert check_service(copy) == []  # documented, read by the settings, not in the ConfigMap
    env = copy / ".env.development"
    env.write_text(env.read_text().replace(":change-me@", f":{CANARY}@"))
    documents = dev_manifests(copy)
    text = yaml.safe_dump_all(documents)
    secrets = {d["metadata"]["name"]: d for d in by_kind(documents, "Secret")}
    config_maps = by_kind(documents, "ConfigMap")
    assert not any(CANARY in yaml.safe_dump(d) for d in config_maps)
    assert all("DATABASE_URL" not in d["data"] for d in config_maps)
    [own] = [d for name, d in secrets.items() if name.startswith("ledger-secrets-")]
    [server] = [d for name, d in secrets.items() if name.startswith("ledger-postgres-")]
    assert set(own["data"]) >= {"DATABASE_URL"} and set(server["data"]) == {"POSTGRES_PASSWORD"}
    assert CANARY not in text  # in the Secrets, base64 only
    given = {"DATABASE_URL": f"postgresql+asyncpg://ledger:{CANARY}@localhost:5432/ledger"}
    host = "ledger-postgres.apps.svc.cluster.local:5432"
    cluster = f"postgresql+asyncpg://ledger:{CANARY}@{host}/ledger"
    assert cluster_secrets(copy, given) == {"DATABASE_URL": cluster}
    [job] = by_kind(documents, "Job")
    [container] = job["spec"]["template"]["spec"]["containers"]
    secret_ref = container["envFrom"][1]["secretRef"]["name"]
    assert secret_ref == own["metadata"]["name"]  # the migration reads the service's Secret


def test_a_database_url_the_cluster_cannot_use_is_refused_without_showing_it(copy: Path) -> None:
    env = copy / ".env.development"
    for value, said in [
        (f"postgresql+asyncpg://ledger@db/{CANARY}", "names no password"),
        (f"mysql://ledger:{CANARY}@db/x", "is not a Postgres URL"),
        ("", "is missing or empty"),
    ]:
        env.write_text(re.sub(r"DATABASE_URL=.*", f"DATABASE_URL={value}", env.read_text()))
        with pytest.raises(Exception) as refused:
            dev_manifests(copy)
        assert said in str(refused.value) and CANARY not in str(refused.value)


def test_the_pools_of_every_pod_fit_the_servers_max_connections(ledger: Path) -> None:
    """copier.yml's sum: pool size x (the HPA's maxReplicas + the rollout's surge pod) + the
    migration Job < max_connections - the superusers' reserved 3."""

    def fits(pool_size: int) -> bool:
        prod = kustomize(ledger / "k8s/overlays/prod")
        [autoscaler] = by_kind(prod, "HorizontalPodAutoscaler")
        [deployment] = by_kind(prod, "Deployment")
        [database] = by_kind(kustomize(ledger / "k8s/overlays/dev"), "StatefulSet")
        arguments = database["spec"]["template"]["spec"]["containers"][0]["args"]
        limit = int(next(a.split("=")[1] for a in arguments if a.startswith("max_connections=")))
        pods = (
            autoscaler["spec"]["maxReplicas"]
            + deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
        )
        return bool(pods * pool_size + 1 < limit - 3)

    config = dict(
        line.split("=", 1) for line in (ledger / "k8s/base/config.env").read_text().split()
    )
    assert fits(int(config["DATABASE_POOL_SIZE"]))
    assert not fits(14)  # a bigger pool would not: raise max_connections with it


def run_one(service: Path, test: str) -> subprocess.CompletedProcess[str]:
    return make_in_service(service, "test", args=f"-x tests/{test}")


def test_two_migration_heads_fail_its_tests_and_so_make_check(copy: Path) -> None:
    versions = copy / "src/ledger/migrations/versions"
    for branch in ("a", "b"):  # two branches, each adding a migration after 0001
        (versions / f"0002{branch}_{branch}.py").write_text(
            (versions / "0001_items.py")
            .read_text()
            .replace('revision: str = "0001"', f'revision: str = "0002{branch}"')
            .replace("down_revision: str | Sequence[str] | None = None", 'down_revision = "0001"')
            .replace(
                'op.create_table(\n        "items",', f'op.create_table(\n        "t{branch}",'
            )
            .replace('op.drop_table("items")', f'op.drop_table("t{branch}")')
        )
    result = run_one(copy, "test_api.py")  # any of them: the run stops before the first
    said = [line for line in result.stderr.splitlines() if "the migrations have" in line]
    assert result.returncode != 0
    assert said and "the migrations have 2 heads (0002a, 0002b)" in said[0]
    assert 'alembic merge -m "merge" heads' in said[0]


def test_a_model_without_its_migration_fails_its_tests(copy: Path) -> None:
    edit(
        copy / "src/ledger/models.py",
        "    name: Mapped[str] = mapped_column(String(200))\n",
        "    name: Mapped[str] = mapped_column(String(200))\n"
        "    price: Mapped[int] = mapped_column(default=0)\n",
    )
    result = run_one(copy, "test_migrations.py")
    assert result.returncode != 0
    assert "models.py and the migrations differ: make migration" in result.stdout
    assert "'add_column'" in result.stdout and "price" in result.stdout


def test_without_server_binaries_one_line_says_what_to_install(copy: Path) -> None:
    # A plugin (src/ is on the service's PYTHONPATH) makes this machine one without them.
    (copy / "src" / "no_postgres_here.py").write_text(
        "import os, sys\n\nsys.path.insert(0, os.getcwd())\n"
        "import scripts.postgres as postgres\n\n\n"
        "def nowhere():\n    raise postgres.NoServer(postgres.INSTALL)\n\n\n"
        "postgres.server_binaries = nowhere\n"
    )
    result = make_in_service(copy, "test", args="-p no_postgres_here")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    [line] = [line for line in output.splitlines() if "no PostgreSQL server here" in line]
    assert "apt-get install postgresql" in line and "brew install postgresql@17" in line


# make run and make update, from a platform checkout ---------------------------------------


def start_run(repo: Path, name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["make", "--no-print-directory", *VENVS, "run", f"name={name}"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stop_run(server: subprocess.Popen[str]) -> str:
    os.killpg(server.pid, signal.SIGINT)
    try:
        return server.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        return server.communicate()[0]


def test_make_run_serves_against_a_local_postgres_that_keeps_its_data(tmp_path: Path) -> None:
    port = free_port()
    repo = repo_with_services(
        tmp_path / "repo", {"ledger": ["database=postgres", f"dev_port={port - 1000}"]}
    )
    venv = service_venv(TEMPLATE_LOCKS / "postgres" / "requirements-dev.lock").parent.parent
    (venv / ".installed").touch()
    (repo / "services/ledger/.venv").symlink_to(venv)
    outputs, places = [], set()
    try:
        for attempt in range(2):
            server = start_run(repo, "ledger")
            try:

                def answers(server: subprocess.Popen[str] = server) -> bool:
                    assert server.poll() is None, server.communicate()[0]
                    return http_get(port, "/readyz")[0] == 200

                wait_for(answers, 90, "make run ready with its database")
                if attempt == 0:
                    status, body = http_post(port, "/items", {"name": "kept"})
                    assert status == 201, body
                assert http_get(port, "/items/1") == (200, '{"id":1,"name":"kept"}')
            finally:
                outputs.append(stop_run(server))
            places |= set(re.findall(r"data in (\S+)", outputs[-1]))
    finally:
        for place in places:
            shutil.rmtree(place, ignore_errors=True)
    assert "Running upgrade  -> 0001" in outputs[0]  # migrated before it served
    assert "Running upgrade" not in outputs[1]  # the second run found its schema current
    assert len(places) == 1 and not any(p in servers_left() for p in places)


def test_make_update_gives_a_database_to_a_service_from_before_the_question(
    tmp_path: Path,
) -> None:
    repo = repo_with_services(tmp_path / "repo", {}, tag=None)
    newest = git(repo, "rev-parse", "HEAD").strip()
    copier_yml, template = repo / "copier.yml", repo / "template"
    asked = copier_yml.read_text()
    start, end = asked.index("database:\n"), asked.index("python_version:\n")
    copier_yml.write_text(
        asked[:start] + "database: {type: str, when: false, default: none}\n" + asked[end:]
    )
    for name in ("requirements.lock", "requirements-dev.lock"):  # one lock, before variants
        (template / f"{name}.jinja").unlink()
        shutil.copyfile(TEMPLATE_LOCKS / "base" / name, template / name)
    commit_all(repo, "0.1.0: no database question, one pair of locks")
    git(repo, "tag", "v0.1.0")
    assert make(repo, "service", "name=ledger").returncode == 0
    ledger = repo / "services/ledger"
    edit(
        ledger / "src/ledger/main.py",
        '@app.get("/")',
        '@app.get("/ours")\ndef ours() -> str:\n    return "ours"\n\n\n@app.get("/")',
    )
    edit(ledger / "README.md", "## Run it", "Our own note.\n\n## Run it")
    commit_all(repo, "ledger, with edits of its team")
    assert "database" not in read_answers(ledger)
    git(repo, "checkout", newest, "--", "copier.yml", "template")
    git(repo, "rm", "-q", "template/requirements.lock", "template/requirements-dev.lock")
    release(repo, "v0.2.0", {})

    result = make(repo, "update", "name=ledger", "data=database=postgres")

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "database: not asked by v0.1.0; the newest template asks it" in output
    assert row(result.stdout, "ledger")[2:] == ["v0.2.0", "updated"]
    assert "requirements.lock and requirements-dev.lock follow the template's new pins" in output
    assert read_answers(ledger)["database"] == "postgres"
    for name in ("requirements.lock", "requirements-dev.lock"):  # the locks follow the answer
        assert (ledger / name).read_text() == (TEMPLATE_LOCKS / "postgres" / name).read_text()
    for plumbing in ("database.py", "migrate.py", "migrations/env.py", "models.py", "items.py"):
        assert (ledger / "src/ledger" / plumbing).is_file(), plumbing
    assert (ledger / "src/ledger/migrations/versions/0001_items.py").is_file()
    main = (ledger / "src/ledger/main.py").read_text()
    assert '@app.get("/ours")' in main and "add_items" not in main  # main.py stays the team's
    assert "Our own note." in (ledger / "README.md").read_text()  # an edit, merged
    assert "DATABASE_URL" in (ledger / ".env.example").read_text()
    assert "migrate-job.yaml" in (ledger / "k8s/base/kustomization.yaml").read_text()
    commit_all(repo, "ledger has a database")
    edit(
        ledger / "src/ledger/main.py",
        'app = create_app(title="ledger", lifespan=lifespan)\n',
        'app = create_app(title="ledger", lifespan=lifespan)\nadd_items(app)\n',
    )
    edit(
        ledger / "src/ledger/main.py",
        "from ledger.chassis import create_app\n",
        "from ledger.chassis import create_app\nfrom ledger.items import add_items\n",
    )
    tested = make_in_service(ledger, "test", args="-rs")
    assert tested.returncode == 0, (tested.stdout + tested.stderr)[-3000:]
    assert "skipped" not in tested.stdout  # the example served, and tested


def test_the_committed_secret_scan_finds_nothing_in_a_database_service(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path / "repo", {"ledger": ["database=postgres"]})
    commit_all(repo, "ledger")
    (repo / ".venv-checkov").symlink_to(REPO / ".venv-checkov")
    assert [str(f) for f in scan_secrets(repo)] == []  # the URL's placeholder password included
