import os

# Nothing in the tests may load weights or data from the Hugging Face hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import re as _re
from pathlib import Path as _Path

import pytest as _pytest

from krelectra.vocab.tokenizer import write_tokenizer_dir

# -- which tests share a pytest-xdist worker -------------------------------------------------

# `--dist loadfile` (pyproject's addopts) runs a module's tests on one worker, so its
# module-scoped fixtures (a SLURM cluster, a finished pretraining run, the evaluation
# harness's run) are built once; session-scoped ones are built once per worker. These
# modules use the session's embedded-default run (`embedded_default_run` below) and share
# one worker, so that run is built once too. (pytest-xdist's `xdist_group` marks would say
# this per test, but `--dist loadgroup` ignores them under pytest 9.2: pytest-xdist#1386.)
_TESTS = _Path(__file__).resolve().parent
EMBEDDED_RUN_MODULES = frozenset({_TESTS / "test_end_to_end.py", _TESTS / "test_slurm.py"})
EMBEDDED_RUN_SCOPE = "embedded_default_run"
# Handed out first: a lint error fails in seconds, and a cold mypy cache (about a minute)
# overlaps the other tests instead of ending the lane.
FIRST_MODULE = _TESTS / "test_lint.py"


@_pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile` with the modules of EMBEDDED_RUN_MODULES as one unit and
    FIRST_MODULE handed out first. Other `--dist` modes are pytest-xdist's own (under them
    each worker that gets a test of the embedded run builds the run)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LoadFileSharingTheEmbeddedRun(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = (config.rootpath / super()._split_scope(nodeid)).resolve()
            return EMBEDDED_RUN_SCOPE if module in EMBEDDED_RUN_MODULES else str(module)

        def _assign_work_unit(self, node) -> None:
            if str(FIRST_MODULE) in self.workqueue:
                self.workqueue.move_to_end(str(FIRST_MODULE), last=False)
            super()._assign_work_unit(node)

    return LoadFileSharingTheEmbeddedRun(config, log)


@_pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    """A test of the embedded-default run outside EMBEDDED_RUN_MODULES would build the run
    again on another worker: it fails before it starts, naming the fix."""
    if "embedded_default_run" in item.fixturenames and item.path.resolve() not in EMBEDDED_RUN_MODULES:
        _pytest.fail(
            f"{item.nodeid} uses embedded_default_run: add its module to EMBEDDED_RUN_MODULES in tests/conftest.py",
            pytrace=False,
        )


# -- pretraining fixtures (prefix pretrain_) -----------------------------------------------


def _pretrain_konlpy_documents() -> list[list[str]]:
    """Documents (lists of sentences) from konlpy's kolaw + kobill corpora: each bill is a
    document, the constitution one document per chapter."""
    import konlpy

    corpus = _Path(konlpy.__file__).parent / "data" / "corpus"
    documents = []
    for path in sorted(corpus.glob("*/*.txt")):
        text = path.read_text(encoding="utf-8")
        parts = _re.split(r"\n\s*\n(?=\s*제\d+장)", text) if path.name == "constitution.txt" else [text]
        for part in parts:
            sentences = []
            for line in part.splitlines():
                line = " ".join(line.split())
                sentences += [s.strip() for s in _re.split(r"(?<=[.?!])\s+", line) if s.strip()]
            if sentences:
                documents.append(sentences)
    return documents


def write_pretrain_corpus(root: _Path, num_shards: int = 2) -> tuple[list[_Path], _Path]:
    """Corpus shards `root/shards/0000N.txt` (a sentence a line, an empty line between
    documents) and a character-level WordPiece vocabulary folder `root/vocab`."""
    documents = _pretrain_konlpy_documents()
    (root / "shards").mkdir(parents=True, exist_ok=True)
    shards = []
    for shard in range(num_shards):
        path = root / "shards" / f"{shard:05d}.txt"
        path.write_text("\n\n".join("\n".join(d) for d in documents[shard::num_shards]) + "\n", encoding="utf-8")
        shards.append(path)
    chars = sorted({ch for d in documents for s in d for ch in s if not ch.isspace()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + [f"##{ch}" for ch in chars]
    vocab_dir = root / "vocab"
    write_tokenizer_dir(vocab, vocab_dir)
    return shards, vocab_dir


@_pytest.fixture(scope="session")
def pretrain_corpus(tmp_path_factory) -> tuple[list[_Path], _Path]:
    """(corpus shard paths, vocabulary folder) of a small Korean corpus."""
    return write_pretrain_corpus(tmp_path_factory.mktemp("pretrain_corpus"))


@_pytest.fixture(scope="session")
def pretrain_examples(pretrain_corpus, tmp_path_factory) -> dict:
    """Pretraining examples (max_seq_length 64, 5% held out) of the small corpus:
    {"train": [...], "eval": [...], "stats": [...], "vocab": folder}."""
    from krelectra.pretrain.examples import ExampleConfig, build_examples

    shards, vocab = pretrain_corpus
    out = tmp_path_factory.mktemp("pretrain_examples")
    files = {"train": [], "eval": [], "stats": [], "vocab": vocab}
    for shard in shards:
        paths = (out / f"{shard.stem}.tfrecord", out / f"{shard.stem}.eval.tfrecord", out / f"{shard.stem}.json")
        build_examples(shard, vocab, *paths, ExampleConfig(max_seq_length=64, eval_fraction=0.05), seed=1)
        for key, path in zip(("train", "eval", "stats"), paths):
            files[key].append(path)
    return files


# -- the embedded default's workflow run (slow tests only) ---------------------------------


@_pytest.fixture(scope="session")
def embedded_default_run(tmp_path_factory) -> _Path:
    """A copy of the project in which `snakemake --cores 2 paper/tables` ran the embedded
    default from raw text to tables (about 4 minutes on 2 cores). One run per session feeds
    every assertion on a real run (end to end, pretraining, SLURM): nothing is pretrained
    twice. Tests read it and may rerun targets that are up to date; they never change it."""
    from workflow_helpers import copy_workflow, snakemake

    work = copy_workflow(tmp_path_factory.mktemp("embedded_default_run"))
    snakemake(work, "--cores", "2", "paper/tables")
    return work
