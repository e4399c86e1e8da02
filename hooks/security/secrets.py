"""Committed-secret scan: what git would commit under services/ and template/, read by three
scanners, minus one reviewed allow-list (security/secret-allowlist.yaml). It does not depend
on .env.example, and it reports file, line and rule, never the value.

- hooks/security/assignments.py reads each file with its format's own parser (Python, YAML,
  JSON, Dockerfiles, shell, Markdown) and reports a secret-looking value under a
  sensitive-looking key, and a URL's password, wherever the file writes them;
- detect-secrets (Yelp, pinned) reads each line: known token formats, private keys, secret
  keywords and high-entropy strings, minus the same placeholders (`assignments.not_a_secret`);
- trivy's secret scanner: its built-in token-format rules, and a local env file of any name
  (security/secret-scan.yaml).
"""

import fnmatch
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from hooks.errors import HookError
from hooks.security import assignments
from hooks.security.scan import Finding, run_trivy

SCANNED = ("services", "template")
RULES = Path("security") / "secret-scan.yaml"
ALLOWLIST = Path("security") / "secret-allowlist.yaml"

# detect-secrets' plugins, but for two: a URL's password is assignments.py's (it knows the
# placeholders of an .env.example), and a public IP address is no secret.
DETECT_SECRETS_PLUGINS = [
    "ArtifactoryDetector",
    "AWSKeyDetector",
    "AzureStorageKeyDetector",
    "CloudantDetector",
    "DiscordBotTokenDetector",
    "GitHubTokenDetector",
    "GitLabTokenDetector",
    "Base64HighEntropyString",
    "HexHighEntropyString",
    "IbmCloudIamDetector",
    "IbmCosHmacDetector",
    "JwtTokenDetector",
    "KeywordDetector",
    "MailchimpDetector",
    "NpmDetector",
    "OpenAIDetector",
    "PrivateKeyDetector",
    "PypiTokenDetector",
    "SendGridDetector",
    "SlackDetector",
    "SoftlayerDetector",
    "SquareOAuthDetector",
    "StripeDetector",
    "TelegramBotTokenDetector",
    "TwilioKeyDetector",
]
# Its default filters, but for its inline `pragma: allowlist secret`: the allow-list is one
# reviewed file. Placeholders are judged as assignments.py judges them.
DETECT_SECRETS_FILTERS = [
    "detect_secrets.filters.heuristic.is_sequential_string",
    "detect_secrets.filters.heuristic.is_potential_uuid",
    "detect_secrets.filters.heuristic.is_likely_id_string",
    "detect_secrets.filters.heuristic.is_templated_secret",
    "detect_secrets.filters.heuristic.is_prefixed_with_dollar_sign",
    "detect_secrets.filters.heuristic.is_indirect_reference",
    "detect_secrets.filters.heuristic.is_lock_file",
    "detect_secrets.filters.heuristic.is_not_alphanumeric_string",
    "detect_secrets.filters.heuristic.is_swagger_file",
    "hooks.security.assignments.not_a_secret",
]


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


def _text(path: Path) -> str | None:
    try:
        return path.read_text()
    except UnicodeDecodeError:  # a binary file: trivy and detect-secrets still read it
        return None


def assignment_findings(root: Path, names: Iterable[str]) -> Iterator[Finding]:
    """hooks/security/assignments.py's findings in the files `names` under `root`."""
    for name in names:
        text = _text(root / name)
        for line, rule in assignments.findings(name, text) if text is not None else []:
            yield Finding("assignments", rule, "HIGH", f"{name}:{line}", assignments.TITLES[rule])


def detect_secrets_findings(root: Path, names: Iterable[str]) -> Iterator[Finding]:
    """detect-secrets' findings in the files `names` under `root`, offline, in this process."""
    try:
        from detect_secrets.core.log import log
        from detect_secrets.core.scan import scan_file
        from detect_secrets.settings import transient_settings
    except ImportError:
        raise HookError(
            "detect-secrets is not installed in .venv: requirements.txt pins it; any make "
            "target reinstalls the tools after requirements.txt changes"
        ) from None

    log.set_debug_level(0)  # errors only: its info lines quote what a filter skipped

    config = {
        "plugins_used": [{"name": name} for name in DETECT_SECRETS_PLUGINS],
        "filters_used": [{"path": path} for path in DETECT_SECRETS_FILTERS],
    }
    with transient_settings(config):
        for name in names:
            for secret in scan_file(str(root / name)):
                rule = secret.type.lower().replace(" ", "-")
                target = f"{name}:{secret.line_number}"
                yield Finding("detect-secrets", rule, "HIGH", target, secret.type)


def trivy_findings(rules: Path, root: Path, names: Iterable[str]) -> list[Finding]:
    """trivy's findings (its built-in rules and those in `rules`) in the files `names` only."""
    with tempfile.TemporaryDirectory() as scratch:
        for name in names:
            target = Path(scratch) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / name, target)
        results = run_trivy("fs", "--scanners", "secret", "--secret-config", str(rules), scratch)
    return [
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


def scan_files(root: Path, names: list[str], rules: Path) -> list[Finding]:
    """Every scanner's findings in the files `names` under `root`, each once, by file and line;
    trivy reads `rules` (security/secret-scan.yaml)."""
    found = {
        *assignment_findings(root, names),
        *detect_secrets_findings(root, names),
        *trivy_findings(rules, root, names),
    }
    return sorted(found, key=lambda f: (*_file_and_line(f.target), f.scanner, f.id))


def _file_and_line(target: str) -> tuple[str, int]:
    name, _, line = target.rpartition(":")
    return (name, int(line)) if line.isdigit() else (target, 0)


def allowlist(repo: Path) -> list[dict[str, Any]]:
    """The reviewed entries: each a rule `id`, the `paths` (globs) it is accepted in, and why
    (`statement`)."""
    entries: list[dict[str, Any]] = yaml.safe_load((repo / ALLOWLIST).read_text())["secrets"]
    return entries or []


def allowed(finding: Finding, entry: dict[str, Any]) -> bool:
    """Whether an allow-list entry accepts a finding: its rule, in one of its paths."""
    name, _ = _file_and_line(finding.target)
    return finding.id == entry["id"] and any(
        fnmatch.fnmatchcase(name, pattern) for pattern in entry["paths"]
    )


def secret_findings(repo: Path) -> list[Finding]:
    """Every scanner's findings in what git would commit under services/ and template/, the
    allow-list not applied."""
    return scan_files(repo, committable_files(repo), repo / RULES)


def stale_allowlist_entries(repo: Path) -> list[dict[str, Any]]:
    """Entries that accept no finding any more: the allow-list holds only what it must."""
    found = secret_findings(repo)
    return [e for e in allowlist(repo) if not any(allowed(f, e) for f in found)]


def scan_secrets(repo: Path) -> list[Finding]:
    """Every secret-scan finding under services/ and template/, minus the allow-list."""
    entries = allowlist(repo)
    found = [f for f in secret_findings(repo) if not any(allowed(f, e) for e in entries)]
    return force_committed(repo) + found
