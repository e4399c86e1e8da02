"""The one error tree: each message says what is wrong and how to fix it."""


class HookError(Exception):
    """A problem the user can fix; `python -m hooks` prints it and exits 1."""
