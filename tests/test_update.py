"""`make update`: new template versions reach services without losing local work."""

import filecmp
import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import git
from tests.platform_repo import add_service, repo_with_services
from tests.update_helpers import commit_all, edit, make, release

README_CHANGE = {"template/README.md.jinja": ("## Run it\n", "## Run it locally\n")}
DEPLOYMENT = "template/k8s/base/deployment.yaml.jinja"
HISTORY_CHANGE = {DEPLOYMENT: ("revisionHistoryLimit: 5", "revisionHistoryLimit: 3")}


def recorded(service: Path) -> str:
    return yaml.safe_load((service / ".copier-answers.yml").read_text())["_commit"]


def row(output: str, name: str) -> list[str]:
    [line] = [line for line in output.splitlines() if line.startswith(name + " ")]
    return line.split()


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
    base = repo / "template/k8s/base"
    (base / "service.yaml.jinja").rename(base / "svc.yaml.jinja")
    edit(base / "svc.yaml.jinja", "  type: ClusterIP", "  type: ClusterIP  # in-cluster only")
    edit(base / "kustomization.yaml.jinja", "  - service.yaml\n", "  - svc.yaml\n")
    if declared:
        (repo / "migrations.yml").write_text(
            "releases:\n  - version: 0.2.0\n    renames:\n"
            "      k8s/base/service.yaml: k8s/base/svc.yaml\n"
        )
    commit_all(repo, "rename service.yaml")
    git(repo, "tag", "v0.2.0")
    return orders, make(repo, "update").stdout


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


def test_an_update_without_local_edits_equals_a_fresh_copy(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"orders": []})
    commit_all(repo, "add orders")
    release(repo, "v0.2.0", {**README_CHANGE, **HISTORY_CHANGE})
    assert make(repo, "update").returncode == 0
    commit_all(repo, "update orders")
    shutil.move(repo / "services" / "orders", tmp_path / "updated")
    commit_all(repo, "remove orders")
    add_service(repo, "orders")  # fresh, from the latest release
    fresh, updated = repo / "services" / "orders", tmp_path / "updated"
    files = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
    assert files == {p.relative_to(updated) for p in updated.rglob("*") if p.is_file()}
    different = [str(p) for p in files if not filecmp.cmp(fresh / p, updated / p, shallow=False)]
    assert different == []


def test_ten_services_one_dirty_one_conflicting_the_other_eight_update(tmp_path: Path) -> None:
    names = [f"svc{number:02d}" for number in range(10)]
    repo = repo_with_services(tmp_path, {name: [] for name in names})
    commit_all(repo, "add services")
    edit(
        repo / "services/svc03/k8s/base/deployment.yaml",
        "revisionHistoryLimit: 5",
        "revisionHistoryLimit: 9",
    )
    commit_all(repo, "svc03 edit")
    release(repo, "v0.2.0", {**README_CHANGE, **HISTORY_CHANGE})
    (repo / "services/svc07/README.md").write_text("uncommitted work\n")

    result = make(repo, "update")

    assert result.returncode != 0
    results = {name: row(result.stdout, name)[3] for name in names}
    assert results.pop("svc03") == "conflicts"
    assert results.pop("svc07") == "refused"
    assert set(results.values()) == {"updated"}
    assert "svc07: uncommitted changes in services/svc07" in result.stdout
    assert (repo / "services/svc07/README.md").read_text() == "uncommitted work\n"
    assert recorded(repo / "services/svc07") == "v0.1.0"
    for name in results:
        assert "## Run it locally" in (repo / f"services/{name}/README.md").read_text()
    assert len(re.findall(r"^\[\d+/10\] svc\d\d: updating", result.stdout, re.M)) == 10


def test_services_generated_back_to_back_all_update(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"alpha": [], "beta": [], "gamma": []})  # no commits
    assert {recorded(p) for p in (repo / "services").glob("*/")} == {"v0.1.0"}
    commit_all(repo, "add services")
    release(repo, "v0.2.0", README_CHANGE)
    result = make(repo, "update")
    assert result.returncode == 0, result.stdout + result.stderr
    assert {row(result.stdout, n)[3] for n in ("alpha", "beta", "gamma")} == {"updated"}


def test_a_second_update_finds_everything_current(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"alpha": []})
    commit_all(repo, "add alpha")
    release(repo, "v0.2.0", README_CHANGE)
    make(repo, "update")
    commit_all(repo, "update")
    again = make(repo, "update", "name=alpha")
    assert again.returncode == 0
    assert row(again.stdout, "alpha")[3:] == ["already", "current"]


def test_ref_head_updates_to_a_commit_that_exists(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"alpha": []})
    commit_all(repo, "add alpha")
    edit(repo / "template/README.md.jinja", "## Run it\n", "## Run it (unreleased)\n")
    (repo / "scratch.txt").write_text("not a template file")
    dirty = make(repo, "update", "ref=HEAD")
    assert dirty.returncode != 0 and "template/README.md.jinja" in dirty.stderr
    commit_all(repo, "unreleased change")
    assert make(repo, "update", "ref=HEAD").returncode == 0
    head = git(repo, "rev-parse", "HEAD").strip()
    assert git(repo, "rev-parse", recorded(repo / "services/alpha")).strip() == head


def test_update_check_lists_services_behind(tmp_path: Path) -> None:
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
