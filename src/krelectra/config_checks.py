"""Combinations of config values that each pass the schema but cannot work together.

The workflow calls `combination_errors` on the validated config when it is parsed, so
such a config stops the run before any job starts (instead of hours later, in the
stage that finally trips over it). Each message names the keys involved.
"""

from __future__ import annotations

from krelectra.corpus.clean import CleaningOptions
from krelectra.corpus.public import public_dataset
from krelectra.corpus.sources import REGISTERS
from krelectra.errors import KrelectraError
from krelectra.vocab.alphabet import reserved_entries


def combination_errors(config: dict) -> list[str]:
    """Messages for every impossible combination in a schema-validated config (defaults
    filled in); empty when there is none."""
    errors = []
    corpus, vocab = config["corpus"], config["vocab"]
    try:
        CleaningOptions.from_dict(corpus.get("cleaning") or {})
    except KrelectraError as error:
        errors.append(str(error))
    if corpus.get("spoken_ratio") is not None:
        registers = {source["register"] for source in corpus["sources"]}
        missing = [register for register in REGISTERS if register not in registers]
        if missing:
            errors.append(
                f"corpus.spoken_ratio is {corpus['spoken_ratio']}, but no source of corpus.sources has register "
                f"{' or '.join(missing)}; add one or set spoken_ratio to null"
            )
    dump_date = (corpus.get("download") or {}).get("wikimedia_dump")
    for index, source in enumerate(corpus["sources"]):
        for name in source.get("public", []):
            try:
                public_dataset(name, dump_date, where=f"corpus.sources[{index}] ({source['name']!r})")
            except KrelectraError as error:
                errors.append(str(error))
    reserved = reserved_entries(vocab["alphabet"])
    if reserved >= vocab["size"]:
        errors.append(
            f"vocab.size is {vocab['size']}, but the special tokens and the alphabet {vocab['alphabet']} alone "
            f"take {reserved} entries (see vocab.alphabet in workflow/schemas/vocab.schema.yaml); "
            "raise vocab.size or shrink vocab.alphabet"
        )
    return errors
