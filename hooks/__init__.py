"""Python behind copier's tasks and the Makefile: `python -m hooks <command>`."""
