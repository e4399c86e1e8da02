"""The platform's Python: every Makefile target and copier task runs `python -m hooks <command>`.

Grouped by capability; each capability registers its commands in its own `cli.py`.

| package    | what lives there                                                        |
|------------|-------------------------------------------------------------------------|
| `core`     | what every capability may use: answers, questions, the service list,   |
|            | platform settings, git, kustomize, dev ports, template versions, the    |
|            | repository lock and copier's one render call                            |
| `env`      | env files: the one parser, convention checks, local copies              |
| `scaffold` | `make service`: a new service, and the names it may not take            |
| `update`   | `make update`/`release`/`lock`: the rollout in a private workspace,     |
|            | renames between releases, dependency pins, release tags                 |
| `devloop`  | this machine and the cluster: `make run/test/lint`, doctor, cluster,    |
|            | what Tilt deploys (plan, dev manifests, a service's dev database)       |
| `security` | `make scan`: policy scanners and the committed-secret scan              |
| `ci`       | what CI runs: `make changed`, images, the e2e run, a template release   |
|            | rolled out as a pull request (docs/ci.md)                               |
| `data`     | files copier.yml reads (after-copy message, reserved module names)     |

Imports go down the table's layers only: a capability uses `core` (and `env`), never another
capability. Two commands are copier tasks, run from the template version being rendered:
`env-files` (after a copy) and `migrate` (before an update).
"""
