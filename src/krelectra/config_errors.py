"""A config that fails its JSON schema, reported in one line.

The workflow validates the config with Snakemake's `snakemake.utils.validate` (types,
documented keys, defaults filled in). On a bad value that raises a WorkflowError whose
text is jsonschema's whole report: the message, then the failing part of the schema and
the offending value, 69 to 187 lines for a mistyped key (issue 22). `schema_error_line`
turns it into the line a user needs: the key as a dotted path in the config, what is
wrong with it (for an unknown key, the closest known key and the keys that are allowed
there) and the schema file.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from typing import Any

# A value longer than this in jsonschema's message (a whole section that fails) is cut.
MAX_MESSAGE = 200


def key_path(parts: Iterable[Any]) -> str:
    """The config key at `parts` as written in the README: `corpus.sources[0].register`."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _validation_error(error: BaseException | None):
    """The jsonschema ValidationError behind Snakemake's WorkflowError (it is raised while
    handling one, so it is the WorkflowError's context), or the error itself when it is
    one; None when there is none."""
    from jsonschema.exceptions import ValidationError

    while error is not None and not isinstance(error, ValidationError):
        error = error.__cause__ or error.__context__
    return error


def _unknown_keys(error, prefix: list) -> str:
    known = list(error.schema.get("properties", {}))
    unknown = sorted(key for key in error.instance if key not in known)
    parts = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f" (did you mean {key_path([*prefix, close[0]])}?)" if close else ""
        parts.append(f"config {key_path([*prefix, key])}: unknown key{hint}")
    where = f"{key_path(prefix)} takes" if prefix else "the config takes"
    return "; ".join(parts) + f"; {where} {', '.join(known)}"


def schema_error_line(error: BaseException, prefix: Iterable[Any] = (), schema: str | None = None) -> str:
    """One line for a config that failed its schema: `error` is the WorkflowError of
    `snakemake.utils.validate` (or jsonschema's ValidationError); `prefix` is where the
    validated part sits in the whole config (("vocab",) for the vocab section checked
    against workflow/schemas/vocab.schema.yaml); `schema` is named at the end, or, for a
    key of a stage section, the stage's schema file beside it (workflow/schemas/vocab.schema.yaml)
    when there is one. An error without a ValidationError behind it is returned as its own text."""
    found = _validation_error(error)
    if found is None:
        return str(error)
    path = [*prefix, *found.absolute_path]
    if found.validator == "additionalProperties" and isinstance(found.instance, dict):
        line = _unknown_keys(found, path)
    else:
        message = found.message
        if len(message) > MAX_MESSAGE:
            message = message[:MAX_MESSAGE] + " …"
        line = f"config {key_path(path) or '(top level)'}: {message}"
    if schema and path and isinstance(path[0], str):
        # A stage's keys are documented in the stage's own schema file beside the config's.
        section = os.path.join(os.path.dirname(schema), f"{path[0]}.schema.yaml")
        schema = section if os.path.isfile(section) else schema
    return line + (f" (documented in {schema})" if schema else "")
