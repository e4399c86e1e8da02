"""CI: what a change touches (`make changed`), the runtime image of a service (`make image`,
`image-scan`, `image-push`), the e2e run (`make tilt-ci`, `ci-tools`) and a template release as
a pull request (`make rollout-branch`, `rollout-pr`). docs/ci.md says which workflow job
runs which; every step is a make target, so another CI system runs the same ones.

Like every capability it uses `core` and `env` only: the rollout it drives is `make update`
itself, run as a command (`python -m hooks update`), not imported.
"""
