"""Validate Prometheus Operator objects against the schema of their CRD, offline.

Runs inside its own venv (tests/support/requirements-crd.txt; support/validation.py starts it):
documents on stdin, a JSON list of errors on stdout. `cloudcoil.models.prometheus_operator`
holds models generated from the CRDs' openAPIV3Schema (types, patterns, required fields).
They ignore unknown fields, as the API server prunes them; as with
`kubectl --validate=strict`, an unknown field is an error here.
"""

import json
import sys
from typing import Any


def unknown_fields(given: Any, known: Any, path: str = "") -> list[str]:
    """Paths in `given` that the model dropped when it read them."""
    if isinstance(given, dict):
        found = []
        for key, value in given.items():
            if not isinstance(known, dict) or key not in known:
                found.append(f"{path}.{key}: unknown field")
            else:
                found += unknown_fields(value, known[key], f"{path}.{key}")
        return found
    if isinstance(given, list) and isinstance(known, list):
        return [
            error
            for index, (item, read) in enumerate(zip(given, known, strict=False))
            for error in unknown_fields(item, read, f"{path}[{index}]")
        ]
    return []


def validate(documents: list[dict[str, Any]]) -> list[str]:
    from cloudcoil.models.prometheus_operator import v1
    from pydantic import ValidationError

    errors = []
    for document in documents:
        name = f"{document['kind']}/{document.get('metadata', {}).get('name')}"
        try:
            model = getattr(v1, document["kind"]).model_validate(document)
        except ValidationError as error:
            errors += [
                f"{name}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()
            ]
            continue
        read = model.model_dump(by_alias=True, exclude_unset=True, mode="json")
        errors += [f"{name}: {found}" for found in unknown_fields(document, read)]
    return errors


if __name__ == "__main__":
    print(json.dumps(validate(json.load(sys.stdin))))
