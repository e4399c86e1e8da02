"""The service's OpenAPI document, as it publishes it:
`python -m hello.openapi` prints it.

`openapi.json` at the service's root is this output, committed: what services that call this
one check their use against (make check), and what a client generator reads. The service's
own tests keep it current; `make openapi` rewrites it.
"""

import json
import sys

from hello.main import app


def document() -> str:
    """The OpenAPI document, in a stable form (sorted keys, one trailing newline)."""
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(document())
