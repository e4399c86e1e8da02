"""The platform's Python: every Makefile target and copier task runs `python -m hooks <command>`.

Grouped by capability; each capability registers its commands in its own `cli.py`.

| package    | what lives there                                                        |
|------------|-------------------------------------------------------------------------|
| `core`     | what every capability may use: answers, questions, the service list     |
|            | (`make services`), platform settings, git, kustomize, dev ports,        |
|            | template versions and copier's one render call; the call graph          |
|            | (`graph`: peers.env, the calls NetworkPolicies, Tilt's start order) and |
|            | the contracts between services; the repository lock (`session`),        |
|            | stopping signals, and the journal that writes a service whole or not    |
|            | at all (`journal`)                                                      |
| `env`      | env files: the one parser, convention checks, local copies              |
| `scaffold` | `make service`: a new service, and the names it may not take            |
| `update`   | `make update`, `release`, `release-image`, `lock`: the rollout          |
|            | (`rollout`), each service updated in a private clone (`workspace`) by   |
|            | worker processes (`parallel`) that do once what copier redoes per       |
|            | service (`reuse`); renames and carried values between releases          |
|            | (`migrations`, `carry`), dependency pins, release tags, a service's     |
|            | released image, its `openapi.json` published again (`openapi`, in the   |
|            | venv of its locks: `core.venvs`)                                        |
| `devloop`  | this machine and the cluster: `make run/test/lint/check`, doctor,       |
|            | cluster, dev, down, logs; what Tilt deploys (`plan`, dev manifests,     |
|            | settings per place, a service's dev database: `databases`)              |
| `security` | `make scan`: policy scanners and the committed-secret scan              |
| `ci`       | what CI runs: `make changed`, images, the e2e run, a template release   |
|            | rolled out as a pull request (docs/ci.md)                               |
| `data`     | files copier.yml reads (after-copy message, reserved module names)      |

Imports go down the table's layers only: a capability uses `core` (and `env`), never another
capability. Two commands are copier tasks, run from the template version being rendered:
`env-files` (after a copy) and `migrate` (before and after an update: renames, carries). A
rollout's worker runs `migrate` without a new Python when that version's hooks/ is byte for
byte the running one (update/reuse).
"""
