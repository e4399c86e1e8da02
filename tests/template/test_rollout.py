"""`make update` of many services: every change reaches each, and nothing else moves."""

from pathlib import Path

from tests.support.helpers import commit_all, edit, git, make, release, repo_with_services
from tests.support.updates import (
    README_CHANGE,
    files,
    fresh_copies,
    recorded,
    rename_service_yaml,
    row,
)


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


def test_an_update_that_writes_outside_its_service_fails_and_writes_nothing(
    tmp_path: Path,
) -> None:
    repo = repo_with_services(tmp_path, {"orders": []})
    commit_all(repo, "add orders")
    readme = (repo / "README.md").read_text()
    stray = (
        '["sh", "-c", "echo stray >> ../../README.md; mkdir -p ../../docs; '
        'touch ../../docs/stray.md"]'
    )
    edit(repo / "copier.yml", "_migrations:\n", f"_migrations:\n  - command: {stray}\n")
    release(repo, "v0.2.0", README_CHANGE)

    result = make(repo, "update")

    assert result.returncode != 0
    assert row(result.stdout, "orders")[3] == "failed"
    assert "wrote outside the service (not applied): README.md, docs/stray.md" in result.stdout
    assert (repo / "README.md").read_text() == readme
    assert not (repo / "docs" / "stray.md").exists()
    assert recorded(repo / "services/orders") == "v0.1.0"  # and the service as it was
    assert git(repo, "status", "--porcelain") == ""
