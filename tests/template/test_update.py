"""`make update` of one service: new template versions reach it, its own edits stay."""

import shutil
from pathlib import Path

from hooks.core.answers import read_answers
from hooks.core.kube import kustomize_objects
from tests.support.helpers import (
    add_service,
    commit_all,
    edit,
    git,
    make,
    release,
    repo_with_services,
)
from tests.support.updates import (
    HISTORY_CHANGE,
    README_CHANGE,
    files,
    recorded,
    rename_service_yaml,
    row,
)


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
        edit(repo / "template" / "locks" / "base" / name, "uvicorn==0.54.0", "uvicorn==0.54.1")
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


def test_a_declared_rename_reaches_a_service_whose_name_has_a_hyphen(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"my-svc": []})
    commit_all(repo, "add my-svc")
    logs = repo / "services/my-svc/src/my_svc/logs.py"
    logs.write_text(logs.read_text() + "\n# our own note\n")
    commit_all(repo, "my-svc's edit")
    package = repo / "template/src/{{module_name}}"
    (package / "logs.py").rename(package / "log_format.py")
    for user in [*package.glob("*.jinja"), *(repo / "template/tests").glob("*.jinja")]:
        user.write_text(user.read_text().replace(".logs import", ".log_format import"))
    (repo / "migrations.yml").write_text(
        "releases:\n  - version: 0.2.0\n    renames:\n"
        "      template/src/{{module_name}}/logs.py: template/src/{{module_name}}/log_format.py\n"
    )
    release(repo, "v0.2.0", {})

    result = make(repo, "update")

    # As for every declared rename: the edit is merged at the new path, for review.
    assert row(result.stdout, "my-svc")[3] == "conflicts", result.stdout + result.stderr
    assert "renamed src/my_svc/logs.py -> src/my_svc/log_format.py, with your edits" in (
        result.stdout
    )
    moved = repo / "services/my-svc/src/my_svc/log_format.py"
    assert "# our own note" in moved.read_text()
    assert not logs.exists()


def test_a_rename_declared_with_a_path_no_template_had_fails_with_the_fix(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"orders": []})
    commit_all(repo, "add orders")
    (repo / "migrations.yml").write_text(
        "releases:\n  - version: 0.2.0\n    renames:\n"
        "      template/src/{service_name}/logs.py: template/src/{service_name}/log_format.py\n"
    )
    release(repo, "v0.2.0", README_CHANGE)

    result = make(repo, "update")

    assert row(result.stdout, "orders")[3] == "failed"
    assert "migrations.yml renames template/src/{service_name}/logs.py, which no version" in (
        result.stdout
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert recorded(repo / "services/orders") == "v0.1.0"


def test_a_service_cannot_be_renamed_through_its_answers(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"alpha": [], "beta": []})
    commit_all(repo, "add services")
    result = make(repo, "update", "name=alpha", "data=service_name=beta")
    assert row(result.stdout, "alpha")[3] == "refused"
    assert "a service's name is its folder's" in result.stdout
    assert "make service name=beta" in result.stdout
    assert git(repo, "status", "--porcelain") == ""  # src/alpha, the team's code, still there


def test_a_copied_service_folder_is_refused_with_how_to_generate_it(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"alpha": []})
    shutil.copytree(repo / "services/alpha", repo / "services/alpha2")
    commit_all(repo, "a copied folder")
    release(repo, "v0.2.0", README_CHANGE)
    result = make(repo, "update")
    assert row(result.stdout, "alpha2")[3] == "failed"
    assert "services/alpha2 records service_name 'alpha', not 'alpha2'" in result.stdout
    assert "make service name=alpha2" in result.stdout
    assert row(result.stdout, "alpha")[3] == "updated"


def test_a_release_that_replaces_the_release_file_carries_the_released_image(
    tmp_path: Path,
) -> None:
    # v0.1.0 keeps the released image in k8s/overlays/prod/release.yaml, as templates before
    # 0.2.0 did; v0.2.0 drops the file for the release/ component (migrations.yml: carry).
    repo = repo_with_services(tmp_path / "base", {}, tag=None)
    prod = repo / "template/k8s/overlays/prod"
    (prod / "release.yaml.jinja").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: release\n  annotations:\n"
        '    config.kubernetes.io/local-config: "true"\n'
        "data:\n  version: unreleased\n  image: {{ (service_name ~ ':unreleased') | to_json }}\n"
    )
    edit(
        prod / "kustomization.yaml.jinja",
        "  - horizontalpodautoscaler.yaml\n",
        "  - horizontalpodautoscaler.yaml\n  - release.yaml\n",
    )
    commit_all(repo, "template 0.1.0, with release.yaml")
    git(repo, "tag", "v0.1.0")
    add_service(repo, "orders")
    image = "registry.example.com/orders:1.4.2@sha256:" + "cd" * 32
    release_yaml = repo / "services/orders/k8s/overlays/prod/release.yaml"
    edit(release_yaml, "version: unreleased", "version: 1.4.2")
    edit(release_yaml, '"orders:unreleased"', image)
    commit_all(repo, "orders 1.4.2 released")
    (prod / "release.yaml.jinja").unlink()
    edit(prod / "kustomization.yaml.jinja", "  - release.yaml\n", "")
    release(repo, "v0.2.0", {})

    result = make(repo, "update")

    assert row(result.stdout, "orders")[3] == "updated", result.stdout + result.stderr
    assert not release_yaml.exists()
    prod_objects = kustomize_objects(repo / "services/orders/k8s/overlays/prod")
    [deployment] = [d for d in prod_objects if d["kind"] == "Deployment"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image
    assert deployment["metadata"]["labels"]["app.kubernetes.io/version"] == "1.4.2"
