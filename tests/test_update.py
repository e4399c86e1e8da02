"""`make update`: new template versions reach every service, and nothing else moves."""

import os
import random
import shutil
import signal
import time
from pathlib import Path

import pytest

from hooks.answers import read_answers
from tests.helpers import (
    add_service,
    commit_all,
    edit,
    git,
    make,
    release,
    repo_with_services,
    start_make,
)

README_CHANGE = {"template/README.md.jinja": ("## Run it\n", "## Run it locally\n")}
DEPLOYMENT = "template/k8s/base/deployment.yaml.jinja"
HISTORY_CHANGE = {DEPLOYMENT: ("revisionHistoryLimit: 5", "revisionHistoryLimit: 3")}


def recorded(service: Path) -> str:
    return read_answers(service)["_commit"]


def row(output: str, name: str) -> list[str]:
    [line] = [line for line in output.splitlines() if line.startswith(name + " ")]
    return line.split()


def files(folder: Path) -> dict[Path, bytes]:
    """Every file of a service folder but its answers, by relative path."""
    return {
        p.relative_to(folder): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name != ".copier-answers.yml"
    }


def test_local_edits_of_every_kind_survive_an_update(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"orders": []})
    commit_all(repo, "add orders")
    orders = repo / "services" / "orders"
    edit(orders / "README.md", "## Layout", "## Layout\n\nOur on-call runbook: docs/notes.md")
    edit(orders / "k8s/base/deployment.yaml", "revisionHistoryLimit: 5", "revisionHistoryLimit: 10")
    (orders / "docs").mkdir()
    (orders / "docs/notes.md").write_text("our notes\n")
    (orders / ".dockerignore").unlink()
    edit(orders / "src/orders/main.py", "Which service and version answered.", "Our own words.")
    owned_before = (orders / "src/orders/main.py").read_text()
    commit_all(repo, "local edits")
    release(
        repo,
        "v0.2.0",
        {
            **README_CHANGE,
            **HISTORY_CHANGE,
            "template/.dockerignore": ("**/*.pyc\n", "**/*.pyc\n.pytest_cache\n"),
            "template/src/{{module_name}}/main.py.jinja": (
                "Which service and version answered.",
                "Service name and version.",
            ),
        },
    )

    result = make(repo, "update")

    assert result.returncode != 0  # a conflict is not a success
    assert row(result.stdout, "orders") == ["orders", "v0.1.0", "v0.2.0", "conflicts"]
    assert "orders: conflict in services/orders/k8s/base/deployment.yaml" in result.stdout
    readme = (orders / "README.md").read_text()
    assert "Our on-call runbook" in readme and "## Run it locally" in readme
    deployment = (orders / "k8s/base/deployment.yaml").read_text()
    assert "<<<<<<< " in deployment and "revisionHistoryLimit: 10" in deployment
    assert "revisionHistoryLimit: 3" in deployment
    assert (orders / "docs/notes.md").read_text() == "our notes\n"
    assert not (orders / ".dockerignore").exists()  # deleted by the user: stays deleted
    assert (orders / "src/orders/main.py").read_text() == owned_before
    assert recorded(orders) == "v0.2.0"
    assert git(repo, "diff", "--name-only", "--diff-filter=U") == ""  # markers stay, index clean


def release_a_rename(tmp_path: Path, declared: bool) -> tuple[Path, str]:
    """orders edits k8s/base/service.yaml; v0.2.0 renames it to svc.yaml (and changes it).

    Returns the service and `make update`'s output.
    """
    repo = repo_with_services(tmp_path, {"orders": []})
    commit_all(repo, "add orders")
    orders = repo / "services" / "orders"
    edit(
        orders / "k8s/base/service.yaml",
        "  type: ClusterIP",
        "  type: ClusterIP\n  sessionAffinity: ClientIP",
    )
    commit_all(repo, "local edit")
    rename_service_yaml(repo, declared)
    commit_all(repo, "rename service.yaml")
    git(repo, "tag", "v0.2.0")
    return orders, make(repo, "update").stdout


def rename_service_yaml(repo: Path, declared: bool) -> None:
    """A template change: k8s/base/service.yaml becomes svc.yaml (declared as a migration)."""
    base = repo / "template/k8s/base"
    (base / "service.yaml.jinja").rename(base / "svc.yaml.jinja")
    edit(base / "svc.yaml.jinja", "  type: ClusterIP", "  type: ClusterIP  # in-cluster only")
    edit(base / "kustomization.yaml.jinja", "  - service.yaml\n", "  - svc.yaml\n")
    if declared:
        (repo / "migrations.yml").write_text(
            "releases:\n  - version: 0.2.0\n    renames:\n"
            "      k8s/base/service.yaml: k8s/base/svc.yaml\n"
        )


def test_a_declared_rename_keeps_the_users_edit_at_the_new_path(tmp_path: Path) -> None:
    orders, output = release_a_rename(tmp_path, declared=True)
    assert not (orders / "k8s/base/service.yaml").exists()
    moved = (orders / "k8s/base/svc.yaml").read_text()
    assert "sessionAffinity: ClientIP" in moved  # the user's edit, at the new path
    assert "# in-cluster only" in moved
    assert "orders: conflict in services/orders/k8s/base/svc.yaml" in output


def test_without_the_migration_the_same_rename_would_lose_the_edit(tmp_path: Path) -> None:
    # Why migrations.yml exists: copier drops an edit to a renamed file silently.
    orders, _ = release_a_rename(tmp_path, declared=False)
    assert "sessionAffinity" not in (orders / "k8s/base/svc.yaml").read_text()


def test_deletions_renames_and_additions_reach_every_service_and_nothing_else_moves(
    tmp_path: Path,
) -> None:
    names = ["alpha", "beta", "gamma", "delta", "epsilon"]
    repo = repo_with_services(tmp_path / "repo", {name: [] for name in names})
    commit_all(repo, "add services")
    edit(
        repo / "services/beta/k8s/base/deployment.yaml",
        "revisionHistoryLimit: 5",
        "revisionHistoryLimit: 9",
    )
    commit_all(repo, "beta's own setting")
    # v0.2.0 deletes a template file, renames another (declared) and adds a third.
    (repo / "template/.dockerignore").unlink()
    rename_service_yaml(repo, declared=True)
    (repo / "template/CODEOWNERS.jinja").write_text("* @{{ team }}\n")
    commit_all(repo, "v0.2.0")
    git(repo, "tag", "v0.2.0")
    # The user's work elsewhere: an unstaged deletion outside services/, and a refused service
    # with its own unstaged deletion.
    (repo / "docs/benchmarks.md").unlink()
    (repo / "services/delta/README.md").unlink()

    result = make(repo, "update")

    assert {name: row(result.stdout, name)[3] for name in names} == {
        "alpha": "updated",
        "beta": "updated",
        "gamma": "updated",
        "delta": "refused",
        "epsilon": "updated",
    }
    assert not (repo / "docs/benchmarks.md").exists()
    assert not (repo / "services/delta/README.md").exists()
    assert (repo / "services/delta/.dockerignore").exists()  # refused: untouched
    fresh = fresh_copies(repo, tmp_path / "fresh", ["alpha", "beta", "gamma", "epsilon"])
    for name, expected in fresh.items():
        actual = files(repo / "services" / name)
        assert sorted(actual) == sorted(expected), name
        differ = sorted(str(p) for p in expected if expected[p] != actual[p])
        assert differ == (["k8s/base/deployment.yaml"] if name == "beta" else []), name
    beta = (repo / "services/beta/k8s/base/deployment.yaml").read_text()
    assert "revisionHistoryLimit: 9" in beta  # its own edit, kept


def fresh_copies(repo: Path, clone: Path, names: list[str]) -> dict[str, dict[Path, bytes]]:
    """Each service generated afresh at the newest release, with the same answers."""
    git(repo, "clone", "-q", str(repo), str(clone))
    (clone / ".venv").symlink_to(repo / ".venv")
    copies = {}
    for name in names:
        answers = read_answers(repo / "services" / name)
        shutil.rmtree(clone / "services" / name)
        add_service(clone, name, [f"dev_port={answers['dev_port']}"])
        copies[name] = files(clone / "services" / name)
    return copies


def test_an_update_without_local_edits_equals_a_fresh_copy(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"orders": []})
    commit_all(repo, "add orders")
    (repo / "template/.dockerignore").unlink()
    rename_service_yaml(repo, declared=True)
    (repo / "template/CODEOWNERS.jinja").write_text("* @{{ team }}\n")
    release(repo, "v0.2.0", {**README_CHANGE, **HISTORY_CHANGE})
    assert make(repo, "update").returncode == 0
    commit_all(repo, "update orders")
    shutil.move(repo / "services" / "orders", tmp_path / "updated")
    commit_all(repo, "remove orders")
    add_service(repo, "orders")  # fresh, from the latest release
    fresh, updated = files(repo / "services" / "orders"), files(tmp_path / "updated")
    assert sorted(fresh) == sorted(updated)
    assert [str(p) for p in fresh if fresh[p] != updated[p]] == []


def test_a_broken_answers_file_fails_its_row_and_the_others_go_on(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"alpha": [], "beta": [], "gamma": []})
    commit_all(repo, "add services")
    release(repo, "v0.2.0", README_CHANGE)
    broken = {"beta": "{{{", "gamma": ""}
    for name, text in broken.items():
        (repo / f"services/{name}/.copier-answers.yml").write_text(text)
    commit_all(repo, "break two answers files")

    result = make(repo, "update")

    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert row(result.stdout, "alpha")[3] == "updated"
    assert row(result.stdout, "beta")[3] == row(result.stdout, "gamma")[3] == "failed"
    assert "beta/.copier-answers.yml is not valid YAML at line 1" in result.stdout
    assert "gamma/.copier-answers.yml holds no answers" in result.stdout
    assert "git checkout -- services/beta/.copier-answers.yml" in result.stdout
    service = make(repo, "service", "name=delta")  # the port picker skips the broken ones
    assert service.returncode == 0, service.stderr


def test_an_answer_changes_through_data_and_renders_everywhere(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"orders": [], "billing": []})
    commit_all(repo, "add services")
    result = make(repo, "update", "name=orders", "data=team=payments service_port=9000")
    assert result.returncode == 0, result.stdout + result.stderr
    orders = repo / "services/orders"
    answers = read_answers(orders)
    assert (answers["team"], answers["service_port"]) == ("payments", 9000)
    assert 'team: "payments"' in (orders / "k8s/components/metadata/kustomization.yaml").read_text()
    assert "containerPort: 9000" in (orders / "k8s/base/deployment.yaml").read_text()
    # The platform's part of the app and the image follow; the service's own files stay.
    assert "default=9000," in (orders / "src/orders/chassis.py").read_text()
    assert "PORT=9000" in (orders / "Dockerfile").read_text()
    assert git(repo, "status", "--porcelain", "services/billing") == ""


def test_a_fix_to_the_platforms_part_of_the_app_reaches_a_service_that_edited_its_own(
    tmp_path: Path,
) -> None:
    repo = repo_with_services(tmp_path, {"orders": []})
    orders = repo / "services/orders"
    with (orders / "src/orders/main.py").open("a") as main:
        main.write('\n\n@app.get("/orders")\ndef list_orders() -> list[str]:\n    return []\n')
    commit_all(repo, "orders' own route")
    release(
        repo,
        "v0.2.0",
        {
            "template/src/{{module_name}}/chassis.py.jinja": (
                '"""Liveness: the process answers. Never checks dependencies."""',
                '"""Liveness: the process answers (fixed in v0.2.0)."""',
            )
        },
    )
    assert make(repo, "update").returncode == 0
    assert "(fixed in v0.2.0)" in (orders / "src/orders/chassis.py").read_text()
    assert "def list_orders()" in (orders / "src/orders/main.py").read_text()


def test_a_hand_edited_answers_file_is_refused_with_the_supported_way(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"orders": []})
    commit_all(repo, "add orders")
    release(repo, "v0.2.0", README_CHANGE)
    edit(repo / "services/orders/.copier-answers.yml", "team: unassigned", "team: payments")
    result = make(repo, "update")
    assert row(result.stdout, "orders")[3] == "refused"
    assert 'make update name=orders data="KEY=VALUE"' in result.stdout


def test_a_pin_bump_reaches_the_lock(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"orders": []})
    commit_all(repo, "add orders")
    for name in ("requirements.lock", "requirements-dev.lock"):
        edit(repo / "template" / name, "uvicorn==0.54.0", "uvicorn==0.54.1")
    release(
        repo,
        "v0.2.0",
        {"template/pyproject.toml.jinja": ('"uvicorn==0.54.0"', '"uvicorn==0.54.1"')},
    )
    result = make(repo, "update")
    assert result.returncode == 0, result.stdout
    orders = repo / "services/orders"
    assert '"uvicorn==0.54.1"' in (orders / "pyproject.toml").read_text()
    for name in ("requirements.lock", "requirements-dev.lock"):
        assert "uvicorn==0.54.1" in (orders / name).read_text()
    assert "follow the template's new pins" in result.stdout


def test_a_relocked_service_is_told_how_to_bring_its_locks_to_the_pins(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"orders": []})
    orders = repo / "services/orders"
    (orders / "requirements.lock").write_text(
        (orders / "requirements.lock").read_text() + "# ours\n"
    )
    commit_all(repo, "orders re-locked")
    release(
        repo,
        "v0.2.0",
        {"template/pyproject.toml.jinja": ('"uvicorn==0.54.0"', '"uvicorn==0.54.1"')},
    )
    result = make(repo, "update")
    assert "uvicorn==0.54.1 in pyproject.toml, 0.54.0 in requirements.lock" in result.stdout
    assert "make lock name=orders" in result.stdout


def test_update_check_needs_a_release_and_lists_services_behind(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"alpha": [], "beta": []})
    commit_all(repo, "add services")
    assert make(repo, "update-check").returncode == 0
    release(repo, "v0.2.0", README_CHANGE)
    late = make(repo, "update-check")
    assert late.returncode != 0
    assert "alpha: v0.1.0 -> v0.2.0 available" in late.stdout and "beta:" in late.stdout
    make(repo, "update")
    commit_all(repo, "update")
    assert make(repo, "update-check").returncode == 0
    for tag in ("v0.1.0", "v0.2.0"):
        git(repo, "tag", "-d", tag)
    gone = make(repo, "update-check")
    assert gone.returncode != 0 and "there is no release yet" in gone.stderr


def test_services_generated_back_to_back_all_update(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"alpha": [], "beta": [], "gamma": []})  # no commits
    assert {recorded(p) for p in (repo / "services").glob("*/")} == {"v0.1.0"}
    commit_all(repo, "add services")
    release(repo, "v0.2.0", README_CHANGE)
    result = make(repo, "update")
    assert result.returncode == 0, result.stdout + result.stderr
    assert {row(result.stdout, n)[3] for n in ("alpha", "beta", "gamma")} == {"updated"}
    assert "Review the changes (git diff services/), run make check, then commit." in result.stdout


def test_a_second_update_finds_everything_current(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"alpha": []})
    commit_all(repo, "add alpha")
    release(repo, "v0.2.0", README_CHANGE)
    make(repo, "update")
    again = make(repo, "update", "name=alpha")  # not committed yet: current all the same
    assert again.returncode == 0
    assert row(again.stdout, "alpha")[3:] == ["already", "current"]
    assert "alpha: not committed yet" in again.stdout


def test_without_a_release_update_moves_to_the_committed_head(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"alpha": []}, tag=None)  # tags do not reach main
    commit_all(repo, "add alpha")
    edit(repo / "template/README.md.jinja", "## Run it\n", "## Run it (unreleased)\n")
    (repo / "scratch.txt").write_text("not a template file")
    dirty = make(repo, "update")
    assert dirty.returncode != 0 and "template/README.md.jinja" in dirty.stderr
    commit_all(repo, "unreleased change")
    assert make(repo, "update").returncode == 0
    head = git(repo, "rev-parse", "HEAD").strip()
    assert git(repo, "rev-parse", recorded(repo / "services/alpha")).strip() == head
    assert "## Run it (unreleased)" in (repo / "services/alpha/README.md").read_text()


def test_make_check_fails_while_a_conflict_remains(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"alpha": []})
    commit_all(repo, "add alpha")
    edit(
        repo / "services/alpha/k8s/base/deployment.yaml",
        "revisionHistoryLimit: 5",
        "revisionHistoryLimit: 7",
    )
    commit_all(repo, "edit")
    release(repo, "v0.2.0", HISTORY_CHANGE)
    make(repo, "update")
    check = make(repo, "check", "args=-k no_conflicts")
    assert check.returncode != 0
    assert "services/alpha/k8s/base/deployment.yaml" in check.stdout


@pytest.mark.parametrize(
    ("version", "changelog", "dirty", "message"),
    [
        ("0.2", True, False, "is not MAJOR.MINOR.PATCH"),
        ("0.2.0", False, False, "CHANGELOG.md has no entry for v0.2.0"),
        ("0.2.0", True, True, "commit or stash these first"),
        ("0.1.0", True, False, "v0.1.0 already exists"),
    ],
    ids=["bad-version", "no-changelog-entry", "dirty-tree", "existing-tag"],
)
def test_release_refuses_what_would_be_a_bad_tag(
    tmp_path: Path, version: str, changelog: bool, dirty: bool, message: str
) -> None:
    repo = repo_with_services(tmp_path, {})
    if changelog:
        with (repo / "CHANGELOG.md").open("a") as log:
            log.write(f"\n## v{version} - 2026-12-01\n\n- A change.\n")
        commit_all(repo, "changelog")
    if dirty:
        (repo / "wip.txt").write_text("wip")
    result = make(repo, "release", f"version={version}")
    assert result.returncode != 0 and message in result.stderr
    assert git(repo, "tag", "--list").split() == ["v0.1.0"]


def test_release_tags_a_version_with_its_changelog_entry(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {})
    with (repo / "CHANGELOG.md").open("a") as log:
        log.write("\n## v0.2.0 - 2026-12-01\n\n- A change.\n")
    commit_all(repo, "changelog")
    result = make(repo, "release", "version=0.2.0")
    assert result.returncode == 0, result.stderr
    assert "v0.2.0" in git(repo, "tag", "--list").split()


def lock_holder(repo: Path) -> str:
    lock = repo / ".git" / "services.lock"
    return lock.read_text() if lock.exists() else ""


def test_a_second_rollout_refuses_while_the_first_runs(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path / "repo", {f"svc{n}": [] for n in range(4)})
    commit_all(repo, "add services")
    release(repo, "v0.2.0", README_CHANGE)
    first = start_make(repo, tmp_path, "update")
    deadline = time.monotonic() + 60
    while "make update" not in lock_holder(repo) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = make(repo, "update")
    output, _ = first.communicate(timeout=300)
    assert second.returncode != 0 and "Traceback" not in second.stderr
    assert "is changing this repository's services; wait for it to finish" in second.stderr
    assert first.returncode == 0, output
    assert {row(output, f"svc{n}")[3] for n in range(4)} == {"updated"}


@pytest.mark.parametrize("seed", [1, 2])
def test_an_interrupted_rollout_leaves_each_service_whole_and_the_rerun_converges(
    tmp_path: Path, seed: int
) -> None:
    names = [f"svc{n}" for n in range(3)]
    repo = repo_with_services(tmp_path / "repo", {name: [] for name in names})
    commit_all(repo, "add services")
    release(repo, "v0.2.0", {**README_CHANGE, **HISTORY_CHANGE})
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    chance = random.Random(seed)  # noqa: S311 - spreads the signals, not security
    stops = [(signal.SIGINT, 1), (signal.SIGTERM, 2), (signal.SIGINT, 3), (signal.SIGTERM, 1)]
    states = set()
    for sig, step in stops:
        process = start_make(repo, tmpdir, "update")
        assert process.stdout is not None
        for line in process.stdout:  # the signal lands while that service is being updated
            if line.startswith(f"[{step}/3]") and "updating" in line:
                break
        time.sleep(chance.uniform(0, 1.5))
        os.killpg(process.pid, sig)
        _, errors = process.communicate(timeout=120)
        assert "Traceback" not in errors
        assert list(tmpdir.iterdir()) == [] and not (repo / ".cache/scratch").exists()
        assert git(repo, "diff", "--cached", "--name-only") == ""  # the user's index, kept
        for name in names:
            service = repo / "services" / name
            if recorded(service) == "v0.2.0":  # fully updated ...
                assert "## Run it locally" in (service / "README.md").read_text()
                assert (
                    "revisionHistoryLimit: 3" in (service / "k8s/base/deployment.yaml").read_text()
                )
            else:  # ... or untouched
                assert git(repo, "status", "--porcelain", "--", f"services/{name}") == ""
        states.add(tuple(recorded(repo / "services" / name) for name in names))
    assert len(states) > 1  # the signals landed at different points of the rollout
    rerun = make(repo, "update")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert {recorded(repo / "services" / name) for name in names} == {"v0.2.0"}
    assert list(tmpdir.iterdir()) == []


def test_an_update_that_touches_a_path_outside_its_service_fails_and_restores_it(
    tmp_path: Path,
) -> None:
    repo = repo_with_services(tmp_path, {"orders": []})
    commit_all(repo, "add orders")
    readme = (repo / "README.md").read_text()
    stray = '["sh", "-c", "echo stray >> ../../README.md && touch ../../docs/stray.md"]'
    edit(repo / "copier.yml", "_migrations:\n", f"_migrations:\n  - command: {stray}\n")
    release(repo, "v0.2.0", README_CHANGE)

    result = make(repo, "update")

    assert result.returncode != 0
    assert row(result.stdout, "orders")[3] == "failed"
    assert "changed paths outside it (restored): README.md, docs/stray.md" in result.stdout
    assert (repo / "README.md").read_text() == readme
    assert not (repo / "docs" / "stray.md").exists()
    assert recorded(repo / "services/orders") == "v0.1.0"  # and the service as it was
    assert git(repo, "status", "--porcelain") == ""
