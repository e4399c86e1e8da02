"""Entry point: `python -m hello` serves the API with uvicorn.

`--reload` (the Dockerfile's dev target) restarts the server when a source file changes.
"""

import argparse
from pathlib import Path

import uvicorn

from hello.logs import log_config
from hello.settings import get_settings


def main() -> None:
    """Serve until SIGTERM, then finish in-flight requests and exit 0."""
    parser = argparse.ArgumentParser(prog="hello")
    parser.add_argument("--reload", action="store_true", help="restart on source changes")
    args = parser.parse_args()
    settings = get_settings()
    uvicorn.run(
        "hello.main:app",
        host="0.0.0.0",  # noqa: S104 - a container must listen on all interfaces
        port=settings.port,
        log_config=log_config(settings.log_level),
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        reload=args.reload,
        reload_dirs=[str(Path(__file__).parent)] if args.reload else None,
    )


if __name__ == "__main__":
    main()
