"""Corpus sources from the config: named files or globs, and public data sets the
workflow downloads (krelectra.corpus.public), each written or spoken text."""

from __future__ import annotations

import glob
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from krelectra.errors import KrelectraError

REGISTERS = ("written", "spoken")

# How a source file is cut into documents (the unit that is sharded, balanced and
# kept together when pretraining examples are packed).
DOCUMENT_MODES = ("file", "paragraph", "line")

PACKAGE_PREFIX = "konlpy:"


@dataclass(frozen=True)
class Source:
    name: str
    register: str
    documents: str
    files: tuple[Path, ...]
    public: tuple[str, ...] = ()  # names of the public data sets among the files


def konlpy_corpus_dir() -> Path:
    """The folder of Korean text that the installed konlpy package ships."""
    spec = importlib.util.find_spec("konlpy")
    if spec is None or spec.origin is None:
        raise KrelectraError("a source uses 'konlpy:' but the konlpy package is not installed")
    return Path(spec.origin).parent / "data" / "corpus"


def locate(pattern: str, base_dir: str | os.PathLike = ".") -> list[Path]:
    """Files matching `pattern`, sorted. `konlpy:<glob>` is relative to konlpy's corpus folder;
    other relative patterns are relative to `base_dir` (the working directory)."""
    if pattern.startswith(PACKAGE_PREFIX):
        root = konlpy_corpus_dir()
        pattern = pattern[len(PACKAGE_PREFIX) :]
    else:
        root = Path(base_dir)
    full = pattern if os.path.isabs(pattern) else str(root / pattern)
    return sorted(Path(p) for p in glob.glob(full, recursive=True) if os.path.isfile(p))


def resolve_sources(
    specs: list[dict],
    base_dir: str | os.PathLike = ".",
    public_files: Callable[[str, str], list[str]] | None = None,
) -> list[Source]:
    """The config's `corpus.sources` with their files: `paths` resolved now (a pattern
    that matches no file raises KrelectraError naming the source), and the text files of
    the data sets named in `public`, which the workflow downloads: `public_files(name,
    where)` gives them (not checked here; they are rule outputs). Without `public_files`
    a source that names public data sets raises KrelectraError."""
    sources = []
    for index, spec in enumerate(specs):
        name = spec["name"]
        where = f"corpus.sources[{index}] ({name!r})"
        if spec["register"] not in REGISTERS:
            raise KrelectraError(f"{where}: register must be one of {REGISTERS}, not {spec['register']!r}")
        mode = spec.get("documents", "paragraph")
        if mode not in DOCUMENT_MODES:
            raise KrelectraError(f"{where}: documents must be one of {DOCUMENT_MODES}, not {mode!r}")
        files = []
        for pattern in spec.get("paths", []):
            found = locate(pattern, base_dir)
            if not found:
                raise KrelectraError(f"{where}: no file matches {pattern!r}")
            files.extend(found)
        public = tuple(spec.get("public", []))
        if public and public_files is None:
            raise KrelectraError(f"{where}: public data sets ({', '.join(public)}) are fetched by the workflow only")
        for dataset in public:
            files.extend(Path(path) for path in public_files(dataset, where))  # type: ignore[misc]
        if not files:
            raise KrelectraError(f"{where}: names no files: give paths, public data sets, or both")
        sources.append(Source(name, spec["register"], mode, tuple(files), public))
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise KrelectraError(f"corpus.sources: source names must be unique, got {names}")
    return sources
