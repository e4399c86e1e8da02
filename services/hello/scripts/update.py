"""`make update` in a repository of its own: `copier update` with ref= and data= as typed.

make hands them over in the environment, never through a shell: data="team=payments
description='two words'" is split as a shell would split it, and nothing in it is run.
"""

import os
import shlex
import subprocess
import sys


def main() -> None:
    given = os.environ  # make's own variables, lower case as typed: make update ref=... data=...
    copier, data, ref = sys.argv[1], given.get("data", ""), given.get("ref", "")
    try:
        answers = shlex.split(data)
    except ValueError as error:
        sys.exit(f"data={data!r} cannot be split into answers: {error}")
    for answer in answers:
        if answer.partition("=")[0] in ("", answer):
            sys.exit(
                f"answer {answer!r} is not KEY=VALUE; quote a value with spaces, for example "
                "data=\"description='two words'\""
            )
    uncommitted = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],  # noqa: S607 - the PATH git
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    if uncommitted:
        listed = "\n  ".join(line[3:] for line in uncommitted[:10])
        sys.exit(
            "make update merges the template into committed work only; commit (or stash) "
            f"these first:\n  {listed}\n(a new service's first make test publishes "
            "openapi.json: commit it with the service)"
        )
    command = [copier, "update", "--trust", "--defaults", "--skip-answered", "--quiet"]
    command += ["--conflict", "inline", *[f"--vcs-ref={ref}"] * bool(ref)]
    command += [option for answer in answers for option in ("--data", answer)]
    os.execvp(command[0], command)  # noqa: S606 - an argument list, no shell


if __name__ == "__main__":
    main()
