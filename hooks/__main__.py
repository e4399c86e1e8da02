"""Entry point for `python -m hooks` and for copier tasks (`python .../hooks/__main__.py`)."""

import sys
from pathlib import Path

if not __package__:  # run as a script by a copier task: make `hooks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hooks.cli import main

sys.exit(main())
