"""`make changed base=REF`: which services a change touches, on crafted histories.

Three services, then one commit of each kind (a service's code, the template, the platform
settings, a rename, a deletion, docs), each checked against the commit before it, as CI
checks a push; then ranges, diverged branches, linked services and bad bases.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import commit_all, edit, git, make, repo_with_services

THREE = {"alpha": [], "beta": [], "gamma": []}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return repo_with_services(tmp_path_factory.mktemp("generated") / "repo", THREE)


@pytest.fixture
def repo(generated: Path, tmp_path: Path) -> Path:
    destination = tmp_path / "repo"
    subprocess.run(["cp", "-a", str(generated), str(destination)], check=True)
    commit_all(destination, "three services")
    return destination


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def changed(repo: Path, base: str, *extra: str) -> dict[str, Any]:
    result = make(repo, "changed", f"base={base}", *extra)
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def test_each_kind_of_commit_touches_what_it_should(repo: Path) -> None:
    steps: list[tuple[str, dict[str, Any]]] = []

    def step(message: str) -> dict[str, Any]:
        before = head(repo)
        commit_all(repo, message)
        found = changed(repo, before)
        steps.append((message, found))
        return found

    edit(repo / "services/alpha/src/alpha/main.py", '"""', '"""Alpha. ')
    one = step("a change in one service")
    assert (one["platform"], one["services"]) == (False, ["alpha"])
    assert one["deleted"] == [] and one["renamed"] == {}

    edit(repo / "template/README.md.jinja", "## Layout\n", "## Layout\n\nNew.\n")
    template = step("a change in the template")
    assert (template["platform"], template["services"]) == (True, ["alpha", "beta", "gamma"])
    assert "template/README.md.jinja" in template["reason"]

    edit(repo / "platform/settings/settings.yaml", "  default_team:", "  # who\n  default_team:")
    settings = step("a change in platform settings")
    assert (settings["platform"], settings["services"]) == (True, ["alpha", "beta", "gamma"])
    assert "platform/settings/settings.yaml" in settings["reason"]

    git(repo, "mv", "services/beta", "services/delta")
    edit(repo / "services/delta/.copier-answers.yml", "service_name: beta", "service_name: delta")
    renamed = step("a rename")
    assert (renamed["platform"], renamed["services"]) == (False, ["delta"])
    assert (renamed["renamed"], renamed["deleted"]) == ({"beta": "delta"}, [])

    git(repo, "rm", "-rq", "services/gamma")
    deleted = step("a deletion")
    assert (deleted["platform"], deleted["services"], deleted["deleted"]) == (False, [], ["gamma"])

    (repo / "docs" / "notes.md").write_text("# Notes\n")
    edit(repo / "services/README.md", "\n", "\n\nMore.\n")
    docs = step("docs only")
    assert (docs["platform"], docs["services"], docs["deleted"]) == (False, [], [])
    assert docs["reason"] == "no file of a service or of the platform changed"
    assert [found["base"] for _, found in steps] == [
        git(repo, "rev-parse", f"HEAD~{n}").strip() for n in range(len(steps), 0, -1)
    ]


@pytest.mark.parametrize(
    "path",
    [
        "copier.yml",
        "migrations.yml",
        "hooks/ci/changed.py",
        "Tiltfile",
        "Makefile",
        "requirements.txt",
        ".github/workflows/ci.yml",
        "security/suppressions.yml",
    ],
)
def test_every_platform_path_touches_every_service(repo: Path, path: str) -> None:
    before = head(repo)
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a") as appended:
        appended.write("\n# changed\n")
    commit_all(repo, f"change {path}")
    found = changed(repo, before)
    assert (found["platform"], found["services"]) == (True, ["alpha", "beta", "gamma"])


def test_a_range_of_commits_is_their_union_and_a_renamed_service_counts_once(repo: Path) -> None:
    start = head(repo)
    edit(repo / "services/alpha/src/alpha/main.py", '"""', '"""Alpha. ')
    commit_all(repo, "alpha")
    git(repo, "mv", "services/gamma", "services/omega")
    commit_all(repo, "rename gamma")
    edit(repo / "services/omega/README.md", "\n", "\n\nOmega.\n")
    commit_all(repo, "edit the renamed one")
    found = changed(repo, start)
    assert found["services"] == ["alpha", "omega"]
    assert (found["renamed"], found["deleted"]) == ({"gamma": "omega"}, [])


def test_a_pull_request_counts_its_own_commits_not_those_of_its_base(repo: Path) -> None:
    git(repo, "switch", "-qc", "feature")
    edit(repo / "services/alpha/src/alpha/main.py", '"""', '"""Alpha. ')
    commit_all(repo, "feature: alpha")
    git(repo, "switch", "-q", "main")
    edit(repo / "services/beta/README.md", "\n", "\n\nBeta.\n")
    edit(repo / "template/README.md.jinja", "## Layout\n", "## Layout\n\nNew.\n")
    commit_all(repo, "main moved on: beta and the template")
    git(repo, "switch", "-q", "feature")
    found = changed(repo, "main")
    assert (found["platform"], found["services"]) == (False, ["alpha"])
    assert found["base"] == git(repo, "merge-base", "main", "feature").strip()


def test_a_linked_service_is_listed_apart_and_never_tested_here(repo: Path, tmp_path: Path) -> None:
    own = tmp_path / "linked"
    subprocess.run(["cp", "-a", str(repo / "services" / "gamma"), str(own)], check=True)
    edit(own / ".copier-answers.yml", "service_name: gamma", "service_name: linked")
    git(own, "init", "-q")
    commit_all(own, "a service of its own")
    (repo / "services" / "linked").symlink_to(own)
    with (repo / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write("services/linked\n")
    (repo / "services" / "cloned").mkdir()
    subprocess.run(["cp", "-a", f"{own}/.", str(repo / "services" / "cloned")], check=True)
    edit(
        repo / "services/cloned/.copier-answers.yml", "service_name: linked", "service_name: cloned"
    )
    with (repo / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write("services/cloned\n")
    before = head(repo)
    edit(repo / "Makefile", "\n", "\n# a platform change\n")
    commit_all(repo, "platform change")
    found = changed(repo, before)
    assert found["platform"] is True
    assert found["services"] == ["alpha", "beta", "gamma"]
    assert set(found["linked"]) == {"linked", "cloned"}
    assert found["linked"]["linked"].startswith("links to ")
    assert found["linked"]["cloned"] == "has a .git of its own"


def test_a_link_committed_to_git_is_listed_apart(repo: Path) -> None:
    before = head(repo)
    (repo / "services" / "elsewhere").symlink_to("../../elsewhere")
    commit_all(repo, "a committed link")
    found = changed(repo, before)
    assert found["services"] == []
    assert found["linked"] == {"elsewhere": "a symbolic link committed in git"}


def test_a_new_branch_has_no_previous_commit_so_every_service_counts(repo: Path) -> None:
    found = changed(repo, "0" * 40)
    assert (found["platform"], found["services"]) == (True, ["alpha", "beta", "gamma"])
    assert "no previous commit" in found["reason"]


def test_output_appends_key_value_lines_for_the_workflow(repo: Path, tmp_path: Path) -> None:
    before = head(repo)
    edit(repo / "services/beta/README.md", "\n", "\n\nBeta.\n")
    commit_all(repo, "beta")
    output = tmp_path / "github_output"
    output.write_text("earlier=1\n")
    found = changed(repo, before, f"output={output}")
    lines = output.read_text().splitlines()
    assert lines[0] == "earlier=1"
    values = dict(line.split("=", 1) for line in lines[1:])
    assert json.loads(values["changes"]) == found
    assert json.loads(values["services"]) == ["beta"]
    assert values["platform"] == "false"


def test_bad_bases_say_what_is_wrong_and_how_to_fix_it(repo: Path, tmp_path: Path) -> None:
    missing = make(repo, "changed")
    assert missing.returncode != 0
    assert "make changed needs base=REF" in missing.stderr
    unknown = make(repo, "changed", "base=origin/nowhere")
    assert unknown.returncode != 0
    assert "base=origin/nowhere is not a commit of this repository" in unknown.stderr
    assert "git fetch origin origin/nowhere" in unknown.stderr
    option = make(repo, "changed", "base=--output=/tmp/x")
    assert option.returncode != 0 and "is not a commit" in option.stderr
    shallow = tmp_path / "shallow"
    edit(repo / "services/alpha/README.md", "\n", "\n\nMore.\n")
    commit_all(repo, "one more")
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow))
    (shallow / ".venv").symlink_to(repo / ".venv")
    cut = make(shallow, "changed", "base=HEAD~1")
    assert cut.returncode != 0
    assert "this clone is shallow" in cut.stderr and "fetch-depth: 0" in cut.stderr


def test_unrelated_history_counts_every_service(repo: Path) -> None:
    git(repo, "switch", "-q", "--orphan", "other")
    (repo / "other.txt").write_text("other\n")
    git(repo, "add", "other.txt")
    git(repo, "commit", "-qm", "unrelated")
    unrelated = head(repo)
    git(repo, "switch", "-q", "main")
    found = changed(repo, unrelated)
    assert (found["platform"], found["services"]) == (True, ["alpha", "beta", "gamma"])
    assert "shares no history" in found["reason"]


def test_the_benchmarks_history_is_what_it_says(tmp_path: Path) -> None:
    from bench.ci import changed as bench_changed
    from bench.ci import copies, history
    from tests.support.helpers import snapshot_repo

    repo = snapshot_repo(tmp_path / "repo", tag="v0.1.0")
    (repo / ".venv").symlink_to(Path(sys.prefix))
    names = copies(repo, 5)
    history(repo, names)
    one, every = bench_changed(repo, "HEAD~1"), bench_changed(repo, "HEAD~4")
    assert (one["platform"], one["services"]) == (False, ["svc01"])
    assert every["platform"] is True
    assert every["services"] == ["svc00", "svc01", "svc02-renamed", "svc04"]
    assert (every["renamed"], every["deleted"]) == ({"svc02": "svc02-renamed"}, ["svc03"])


def test_a_change_to_a_service_touches_every_service_that_calls_it(tmp_path: Path) -> None:
    repo = repo_with_services(
        tmp_path / "calls", {"orders": [], "billing": ["calls=orders"], "shop": ["calls=billing"]}
    )
    commit_all(repo, "a chain of calls")
    before = head(repo)
    edit(repo / "services/orders/README.md", "# orders", "# orders, changed")
    commit_all(repo, "orders changes")
    assert changed(repo, before)["services"] == ["billing", "orders", "shop"]
    before = head(repo)
    edit(repo / "services/shop/README.md", "# shop", "# shop, changed")
    commit_all(repo, "shop changes")
    assert changed(repo, before)["services"] == ["shop"]  # nothing calls shop
