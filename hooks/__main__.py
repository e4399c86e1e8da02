"""Entry point for `python -m hooks` and for copier tasks (`python .../hooks/__main__.py`)."""

import sys

try:
    import signal
    from pathlib import Path

    if not __package__:  # run as a script by a copier task or migration
        # Ctrl-C reaches the whole process group: a task dies quietly, and `make service` or
        # `make update` (its parent) puts back what it was changing.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # make `hooks` importable

    from hooks.cli import main
except KeyboardInterrupt:  # Ctrl-C while starting: nothing was begun
    sys.exit(130)

sys.exit(main())
