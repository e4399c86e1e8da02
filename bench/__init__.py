"""`make bench`: the developer loop measured the same way every time (docs/benchmarks.md)."""
