"""Run a command with an env file's variables: `python scripts/with_env.py FILE COMMAND...`.

`make run` and `make test` use it to load `.env.development` and `.env.test`. It reads a file
the way the platform does for Tilt: `KEY=value` lines, `#` comment lines and blank lines; the
value is everything after the first `=`, trimmed, without one pair of enclosing quotes, and
nothing in it is expanded. A variable already set in the environment wins, so
`LOG_LEVEL=debug make run` changes one run without editing the file.
"""

import os
import re
import sys
from pathlib import Path

KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def read(path: Path) -> dict[str, str]:
    """The file's variables; a line that is not KEY=value stops with its line number only
    (it may be a pasted secret, so it is never shown)."""
    values = {}
    try:  # bytes, not read_text(): a lone carriage return ends no line, as for the platform
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        sys.exit(f"{path}: not UTF-8 text; save the file as UTF-8")
    lines = text.removeprefix("\ufeff").split("\n")
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = (part.strip() for part in line.partition("="))
        if "=" not in line or not KEY.fullmatch(key):
            sys.exit(f"{path}:{number}: not KEY=value; put each variable on one line")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit("usage: python scripts/with_env.py ENV_FILE COMMAND [ARGUMENT...]")
    path, command = Path(sys.argv[1]), sys.argv[2:]
    if not path.is_file():
        sys.exit(f"{path} is missing; create it from .env.example: make {path}")
    environment = {**read(path), **os.environ}
    os.execvpe(command[0], command, environment)  # noqa: S606 - an argument list, no shell


if __name__ == "__main__":
    main()
