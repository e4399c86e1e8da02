"""Run a command with an env file's variables: `python scripts/with_env.py FILE COMMAND...`.

`make run` and `make test` use it to load `.env.development` and `.env.test`, read by
python-dotenv (which the service has through pydantic-settings). A variable already set in
the environment wins, so `LOG_LEVEL=debug make run` changes one run without editing the file,
and nothing is expanded (`${VAR}` stays as written), unlike `dotenv run`. A line dotenv cannot
read stops the run with its number only: it may be a pasted secret, so it is never shown.
"""

import io
import os
import sys
from pathlib import Path

from dotenv.parser import parse_stream


def read(path: Path) -> dict[str, str]:
    """The file's variables, as python-dotenv reads them without interpolation."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        sys.exit(f"{path}: not UTF-8 text; save the file as UTF-8")
    values = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            line = binding.original.line
            sys.exit(f"{path}:{line}: not KEY=value; put each variable on one line")
        if binding.key is not None and binding.value is not None:
            values[binding.key] = binding.value
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
