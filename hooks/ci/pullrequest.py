"""`make rollout-pr version=vX.Y.Z`: the one GitHub API step of a rollout.

It opens the pull request of the branch `make rollout-branch` pushed, or, when one is open
already (a rerun), updates its title and description: one pull request per release. Read
from the environment, as GitHub Actions sets it: GH_TOKEN (a token that may write pull
requests; a GitHub App's, so that the pull request starts the CI workflow, docs/ci.md),
GITHUB_REPOSITORY (owner/name) and GITHUB_API_URL (https://api.github.com by default).
"""

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hooks.ci.rolloutbranch import read_request
from hooks.errors import HookError

API = "https://api.github.com"
TIMEOUT_SECONDS = 30


def call(method: str, url: str, token: str, payload: dict[str, Any] | None = None) -> Any:
    """One GitHub REST call; its JSON answer."""
    request = urllib.request.Request(  # noqa: S310 (the API URL is https, or a test's stub)
        url,
        method=method,
        data=json.dumps(payload).encode() if payload is not None else None,
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "platform-template-rollout",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
            return json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        said = error.read().decode(errors="replace")[:500]
        raise HookError(
            f"GitHub answered {method} {url} with {error.code}: {said}. The token needs "
            "contents: write and pull-requests: write on this repository (docs/ci.md)"
        ) from None
    except OSError as error:
        raise HookError(f"GitHub's API at {url} did not answer: {error}") from None


def open_or_update(repo: Path, version: str) -> Iterator[str]:
    request, body = read_request(repo, version)
    if request.pushed == "nothing":
        yield f"nothing to roll out with {version}: no pull request"
        return
    token, repository = os.environ.get("GH_TOKEN", ""), os.environ.get("GITHUB_REPOSITORY", "")
    if not token or repository.count("/") != 1:
        raise HookError(
            "make rollout-pr needs GH_TOKEN (a token that may write pull requests) and "
            "GITHUB_REPOSITORY=owner/name in its environment (GitHub Actions sets the latter)"
        )
    api = os.environ.get("GITHUB_API_URL", API).rstrip("/")
    pulls = f"{api}/repos/{repository}/pulls"
    owner = repository.split("/")[0]
    query = urllib.parse.urlencode(
        {"state": "open", "head": f"{owner}:{request.branch}", "base": request.base}
    )
    found = call("GET", f"{pulls}?{query}", token)
    if found:
        number = found[0]["number"]
        updated = call("PATCH", f"{pulls}/{number}", token, {"title": request.title, "body": body})
        yield f"updated pull request #{number}: {updated['html_url']}"
        if request.draft and not found[0].get("draft"):
            yield "it has conflicts now: its description lists them (mark it as a draft by hand)"
        return
    created = call(
        "POST",
        pulls,
        token,
        {
            "title": request.title,
            "head": request.branch,
            "base": request.base,
            "body": body,
            "draft": request.draft,
        },
    )
    kind = "draft pull request" if request.draft else "pull request"
    yield f"opened {kind} #{created['number']}: {created['html_url']}"
