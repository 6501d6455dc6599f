"""The Snakemake workflow itself: lint, dry runs of both configs, real runs of the
corpus and vocabulary stages (determinism, bad input)."""

import hashlib
import json
import re

import pytest
import yaml
from workflow_helpers import copy_workflow, snakemake


def test_lint_is_clean(tmp_path):
    result = snakemake(copy_workflow(tmp_path), "--lint", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr


def test_dry_run_of_the_embedded_default(tmp_path):
    out = snakemake(copy_workflow(tmp_path), "-n", "--cores", "2").stdout
    assert "corpus_partition" in out and "vocab_train" in out


def test_dry_run_of_the_paper_recipe(tmp_path):
    work = copy_workflow(tmp_path)
    config = yaml.safe_load((work / "config/paper.yaml").read_text())
    assert config["vocab"]["size"] == 30000 and config["corpus"]["spoken_ratio"] == 0.5
    for source in config["corpus"]["sources"]:  # the user supplies the corpus: stand-in files
        folder = work / source["paths"][0].split("**")[0]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "part-0.txt").write_text("문장입니다.\n", encoding="utf-8")
    out = snakemake(work, "-n", "--cores", "2", "--configfile", "config/paper.yaml").stdout
    assert re.search(r"corpus_clean\s+128", out), out
    assert re.search(r"vocab_segment\s+128", out), out
    # the contamination audit is made (decontamination is off in the published recipe)
    assert re.search(r"corpus_contamination\s+1\b", out) and re.search(r"corpus_contamination_index\s+1\b", out)


def test_wrong_type_in_config_names_the_key(tmp_path):
    work = copy_workflow(tmp_path)
    (work / "bad.yaml").write_text("corpus:\n  num_shards: many\n")
    result = snakemake(work, "-n", "--configfile", "config/config.yaml", "bad.yaml", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "num_shards" in output and "'many' is not of type 'integer'" in output


def test_unknown_config_key_is_rejected(tmp_path):
    work = copy_workflow(tmp_path)
    (work / "bad.yaml").write_text("vocab:\n  lowercase: true\n")
    result = snakemake(work, "-n", "--configfile", "config/config.yaml", "bad.yaml", check=False)
    assert result.returncode != 0 and "lowercase" in result.stdout + result.stderr


def test_missing_source_file_names_it_and_writes_nothing(tmp_path):
    work = copy_workflow(tmp_path)
    (work / "resources/corpus/spoken_sample.txt").unlink()
    result = snakemake(work, "--cores", "2", "vocab", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "spoken-sample" in output and "resources/corpus/spoken_sample.txt" in output
    assert not (work / "results").exists()


def digest(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "logs" not in p.parts and "benchmarks" not in p.parts
    }


@pytest.mark.slow
def test_vocabulary_builds_twice_byte_identical_and_covers_korean(tmp_path):
    runs = []
    for name in ("first", "second"):
        work = copy_workflow(tmp_path / name)
        snakemake(work, "--cores", "2", "vocab")
        runs.append(digest(work / "results"))
    assert runs[0] == runs[1]
    assert any(k.startswith("corpus/shards/") for k in runs[0]) and "vocab/tokenizer/vocab.txt" in runs[0]

    results = tmp_path / "first/results"
    stats = json.loads((results / "corpus/stats.json").read_text())
    assert stats["sentences"] > 1000 and stats["registers"]["spoken"]["documents"] > 500
    assert stats["dropped_sentences"]["duplicate"] > 0
    assert abs(stats["spoken_ratio_achieved"] - stats["spoken_ratio_target"]) < 0.05
    report = json.loads((results / "vocab/report.json").read_text())["heldout"]["all"]
    assert report["unk_rate"] < 0.01
    assert report["eojeols"] > 100

    from transformers import ElectraTokenizer

    tokenizer = ElectraTokenizer.from_pretrained(str(results / "vocab/tokenizer"))
    tokens = tokenizer.tokenize("오늘 택배가 왔는데 포장이 꼼꼼해서 좋았어요. 국민의 권리와 의무를 정한다.")
    assert "[UNK]" not in tokens and len(tokens) >= 10

    # Nothing changed: a rerun has nothing to do.
    again = snakemake(tmp_path / "first", "--cores", "2", "vocab")
    assert "Nothing to be done" in again.stdout + again.stderr
