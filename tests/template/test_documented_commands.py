"""Every command the docs show works as written, from a fresh clone.

Each ```sh block of README.md, docs/ and the other READMEs is run as a reader runs it, in
order, in the setting it describes (a fresh clone, a clone with a service, a service in its
own repository). A command that cannot run here (it needs a cluster, the network or is this
suite itself) is listed with the reason. A new block, or a new command in one, fails this
test until it is run or consciously excluded. Inline `make ...` and `python -m hooks ...`
spans must name targets and commands that exist.
"""

import re
import subprocess
from pathlib import Path

import pytest

from tests.support.documented import BLOCKS, CLONE, block_id, shown_blocks


@pytest.mark.parametrize("key", list(BLOCKS), ids=block_id)
def test_a_shown_block_runs_as_written(key: tuple[str, int], tmp_path: Path) -> None:
    commands, block = shown_blocks()[key], BLOCKS[key]
    assert set(block.skip) <= set(commands), "a skipped command is no longer shown"
    cwd = block.setup(tmp_path)
    for number, command in enumerate(commands):
        if command in block.skip:
            continue
        if block.alternatives and number:
            cwd = block.setup(tmp_path / str(number))
        block.before(cwd, command)
        typed = command
        for placeholder, value in block.placeholders.items():
            typed = typed.replace(placeholder, value.replace("TEMPLATE", str(tmp_path / CLONE)))
        result = subprocess.run(
            ["bash", "-c", typed],
            cwd=cwd,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}{result.stderr}"
        moved = re.match(r"cd (\S+) &&", typed)
        if moved:  # the reader's shell is there now
            cwd = cwd / moved.group(1)
