"""Template releases: `make release` tags them; `make update-check` and `make update` follow
them."""

from pathlib import Path

import pytest

from tests.support.helpers import commit_all, edit, git, make, release, repo_with_services
from tests.support.updates import README_CHANGE, recorded


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


@pytest.mark.parametrize(
    ("version", "changelog", "dirty", "message"),
    [
        ("0.2", True, False, "is not MAJOR.MINOR.PATCH"),
        ("01.2.0", True, False, "is not MAJOR.MINOR.PATCH in plain digits without leading"),
        ("0.\u0662.0", True, False, "is not MAJOR.MINOR.PATCH in plain digits"),
        ("0.0.9", True, False, "v0.0.9 is not above the latest release v0.1.0"),
        ("0.2.0", False, False, "CHANGELOG.md has no entry for v0.2.0"),
        ("0.2.0", True, True, "commit or stash these first"),
        ("0.1.0", True, False, "v0.1.0 already exists"),
    ],
    ids=[
        "bad-version",
        "leading-zero",
        "arabic-digit",
        "lower-than-latest",
        "no-changelog-entry",
        "dirty-tree",
        "existing-tag",
    ],
)
def test_release_refuses_what_would_be_a_bad_tag(
    tmp_path: Path, version: str, changelog: bool, dirty: bool, message: str
) -> None:
    repo = repo_with_services(tmp_path, {})
    empty_unreleased(repo)
    if changelog:
        with (repo / "CHANGELOG.md").open("a") as log:
            log.write(f"\n## v{version} - 2026-12-01\n\n- A change.\n")
        commit_all(repo, "changelog")
    if dirty:
        (repo / "wip.txt").write_text("wip")
    result = make(repo, "release", f"version={version}")
    assert result.returncode != 0 and message in result.stderr
    assert git(repo, "tag", "--list").split() == ["v0.1.0"]


def empty_unreleased(repo: Path) -> None:
    """CHANGELOG.md with nothing under `## Unreleased` (this repository's has changes)."""
    changelog = repo / "CHANGELOG.md"
    text = changelog.read_text()
    start = text.index("## Unreleased\n") + len("## Unreleased\n")
    changelog.write_text(text[:start] + "\n" + text[text.index("\n## v", start) + 1 :])
    commit_all(repo, "nothing unreleased")


def test_release_tags_a_version_with_its_changelog_entry(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {})
    empty_unreleased(repo)
    with (repo / "CHANGELOG.md").open("a") as log:
        log.write("\n## v0.2.0 - 2026-12-01\n\n- A change.\n")
    commit_all(repo, "changelog")
    result = make(repo, "release", "version=0.2.0")
    assert result.returncode == 0, result.stderr
    assert "v0.2.0" in git(repo, "tag", "--list").split()
    assert "Publish it: `git push origin v0.2.0`" in result.stdout  # nothing else was made


def test_a_fresh_clone_makes_its_first_release_in_one_command(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path / "repo", {}, tag=None)  # a clone: no tags
    made = make(repo, "service", "name=orders")
    assert made.returncode == 0, made.stderr
    assert "this repository has no release tag" in made.stdout
    assert "First release: make release version=0.2.0" in made.stdout
    commit_all(repo, "add orders")
    result = make(repo, "release", "version=0.2.0")
    assert result.returncode == 0, result.stderr
    changelog = (repo / "CHANGELOG.md").read_text()
    assert "## Unreleased\n\n## v0.2.0 - " in changelog  # the listed changes, now released
    assert git(repo, "describe", "--tags", "--exact-match", "HEAD").strip() == "v0.2.0"
    assert git(repo, "status", "--porcelain") == ""
    assert "`git push origin HEAD v0.2.0`" in result.stdout  # the changelog's commit too
    assert make(repo, "update-check").returncode != 0  # orders: HEAD~1 -> v0.2.0 available
    assert make(repo, "update").returncode == 0


def test_the_documented_release_flow_passes_make_check_with_its_tags(tmp_path: Path) -> None:
    # docs/updating.md: change the template, release, roll out, check, commit.
    repo = repo_with_services(tmp_path, {"orders": [], "billing": []})
    commit_all(repo, "add services")
    edit(repo / "template/README.md.jinja", "## Run it\n", "## Run it locally\n")
    with (repo / "CHANGELOG.md").open("r+") as changelog:
        text = changelog.read()
        changelog.seek(0)
        changelog.write(text.replace("## Unreleased\n", "## Unreleased\n\n- README wording.\n", 1))
    commit_all(repo, "template change")
    for command in (["release", "version=0.2.0"], ["update"]):
        result = make(repo, *command)
        assert result.returncode == 0, result.stdout + result.stderr
    assert {recorded(repo / f"services/{n}") for n in ("orders", "billing")} == {"v0.2.0"}
    check = make(repo, "check", "args=-k 'records_a_template_version or no_conflicts'")
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr
    assert "passed" in check.stdout


def test_make_services_lists_each_service_and_the_release_waiting_for_it(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path, {"orders": [], "billing": ["team=payments"]})
    commit_all(repo, "add services")
    release(repo, "v0.2.0", README_CHANGE)
    listed = make(repo, "services")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[1:]}
    assert rows["billing"][:6] == ["billing", "v0.1.0", "payments", "apps", "18001", "19001"]
    assert "v0.2.0 waiting: make update name=orders" in listed.stdout
    make(repo, "update")
    commit_all(repo, "update")
    assert make(repo, "services").stdout.count("current") == 2
