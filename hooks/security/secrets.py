"""Committed-secret scan: what git would commit under services/ and template/, scanned by
trivy's secret scanner with this platform's rules (security/secret-scan.yaml) and reviewed
allow-list (security/secret-allowlist.yaml). It does not depend on .env.example, and it reports
file, line and rule, never the value.
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

from hooks.security.scan import Finding, run_trivy

SCANNED = ("services", "template")
RULES = Path("security") / "secret-scan.yaml"
ALLOWLIST = Path("security") / "secret-allowlist.yaml"


def _git_files(repo: Path, *options: str) -> list[str]:
    listed = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z", *options, "--", *SCANNED],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [name for name in listed.split("\0") if name]


def committable_files(repo: Path) -> list[str]:
    """Tracked files (force-added ones included) and untracked ones .gitignore lets through."""
    names = _git_files(repo, "--cached", "--others", "--exclude-standard")
    # A symlink is committed as its target's path, not the target's content.
    return [n for n in dict.fromkeys(names) if (repo / n).is_file() and not (repo / n).is_symlink()]


def force_committed(repo: Path) -> list[Finding]:
    """Tracked files that .gitignore ignores: `git add -f` got them past the ignore rules."""
    return [
        Finding(
            "git", "ignored-but-committed", "HIGH", name, "committed although .gitignore ignores it"
        )
        for name in _git_files(repo, "--cached", "--ignored", "--exclude-standard")
    ]


def scan_secrets(repo: Path) -> list[Finding]:
    """Every secret-scan finding under services/ and template/, minus the allow-list."""
    with tempfile.TemporaryDirectory() as scratch:
        for name in committable_files(repo):
            target = Path(scratch) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(repo / name, target)
        results = run_trivy(
            "fs",
            "--scanners",
            "secret",
            "--secret-config",
            str(repo / RULES),
            "--ignorefile",
            str(repo / ALLOWLIST),
            scratch,
        )
    found = [
        Finding(
            "trivy-secret",
            s["RuleID"],
            s["Severity"],
            f"{r['Target']}:{s['StartLine']}",
            s["Title"],
        )
        for r in results
        for s in r.get("Secrets") or []
    ]
    return force_committed(repo) + found
