"""Manifests and `krelectra compare` on small synthetic runs: two runs made to differ in one
rule on purpose (an example file edited, one weight perturbed, a score changed) are told
apart at that rule, first in the workflow's order, with the size of the difference; what
only records times, or re-serialises equal values, is not a difference."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from builders import write_checkpoint

from krelectra.cli import main
from krelectra.errors import KrelectraError
from krelectra.io import write_json
from krelectra.manifest.compare import (
    DIFFERS,
    EQUAL,
    ONLY_B,
    RUN_RECORDS,
    SAME_VALUES,
    compare_manifests,
    first_difference,
)
from krelectra.manifest.digests import tensor_digests
from krelectra.manifest.record import build_manifest, markdown, read_manifest, rule_digest, write_manifest

# The rules of the synthetic run, in the workflow's order, and their outputs (relative to results/).
RULES = {
    "corpus_finalize": ["corpus/shards/00000.txt"],
    "pretrain_examples": ["pretrain/examples/00000.tfrecord"],
    "pretrain_model": ["pretrain/final/model.ckpt.index", "pretrain/final/model.ckpt.data-00000-of-00001"],
    "convert_checkpoint": ["models/discriminator/model.safetensors"],
    "finetune_train": ["finetune/m/nsmc/seed41/metrics.json", "finetune/m/nsmc/seed41/predictions.jsonl"],
}
SHAPES = {"electra/embeddings/word_embeddings": (12, 4), "electra/encoder/layer_0/output/dense/kernel": (4, 4)}
WEIGHTS = {
    "electra.embeddings.word_embeddings.weight": np.arange(48, dtype=np.float32).reshape(12, 4) / 7,
    "discriminator_predictions.dense.weight": np.eye(4, dtype=np.float32),
}


def metrics(accuracy: float, seconds: float) -> dict:
    """A finetuning metrics.json: the test scores of both protocols and the run records."""
    chosen = {"step": 20, "epoch": 2, "dev": {"accuracy": 80.0}, "test": {"accuracy": accuracy}}
    return {
        "task": "nsmc",
        "points": [{"step": 10, "epoch": 1, "train_seconds": seconds, "eval_seconds": 0.5, "test": {"accuracy": 50.0}}],
        "protocols": {"paper": chosen, "clean": chosen},
        "timing": {"train_seconds": seconds},
        "environment": {"torch_threads": 1},
        "data": {"dir": f"/somewhere/{seconds}/resources/finetune", "upstream": False},
    }


def save_safetensors(path, tensors: dict, metadata: dict | None = None) -> None:
    from safetensors.numpy import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)


def write_synthetic_run(root, seconds: float = 10.0):
    """root/results with one output or two per rule of RULES; returns the results folder."""
    results = root / "results"
    (results / "corpus/shards").mkdir(parents=True)
    (results / "corpus/shards/00000.txt").write_text("첫 문장입니다.\n둘째 문장.\n", encoding="utf-8")
    (results / "pretrain/examples").mkdir(parents=True)
    (results / "pretrain/examples/00000.tfrecord").write_bytes(bytes(range(256)) * 4)
    (results / "pretrain/final").mkdir(parents=True)
    write_checkpoint(results / "pretrain/final/model.ckpt", SHAPES, seed=3)
    save_safetensors(results / "models/discriminator/model.safetensors", WEIGHTS)
    write_json(results / "finetune/m/nsmc/seed41/metrics.json", metrics(91.0, seconds))
    (results / "finetune/m/nsmc/seed41/predictions.jsonl").write_text('{"index": 0, "prediction": 1}\n')
    return results


def manifest_of(results):
    rules = [(name, [results / path for path in paths]) for name, paths in RULES.items()]
    manifest = build_manifest(rules, results, {"cpu_kernels": "portable"})
    write_manifest(results / "manifest.json", manifest)
    return manifest


@pytest.fixture
def two_runs(tmp_path):
    """Two runs of the same synthetic work; the second took other times."""
    a = write_synthetic_run(tmp_path / "a")
    b = write_synthetic_run(tmp_path / "b", seconds=12.5)
    return a, b


def statuses(results, rule):
    return {f.path: f.status for f in next(r for r in results if r.rule == rule).files}


def test_two_runs_that_differ_only_in_run_records_agree(two_runs):
    a, b = two_runs
    results = compare_manifests(manifest_of(a), manifest_of(b), a, b)
    assert first_difference(results) is None
    assert statuses(results, "finetune_train")["finetune/m/nsmc/seed41/metrics.json"] == RUN_RECORDS
    assert statuses(results, "pretrain_model") == dict.fromkeys(RULES["pretrain_model"], EQUAL)
    assert [r.rule for r in results] == list(RULES)


def test_an_edited_example_file_is_named_first_before_everything_after_it(two_runs):
    a, b = two_runs
    examples = b / "pretrain/examples/00000.tfrecord"
    data = bytearray(examples.read_bytes())
    data[100] ^= 1
    examples.write_bytes(bytes(data))
    (b / "models/discriminator/model.safetensors").unlink()  # a later rule differs too
    save_safetensors(b / "models/discriminator/model.safetensors", {**WEIGHTS, "extra": np.zeros(2, np.float32)})
    results = compare_manifests(manifest_of(a), manifest_of(b), a, b)
    assert first_difference(results).rule == "pretrain_examples"
    assert statuses(results, "corpus_finalize") == {"corpus/shards/00000.txt": EQUAL}
    assert statuses(results, "pretrain_examples") == {"pretrain/examples/00000.tfrecord": DIFFERS}
    assert next(r for r in results if r.rule == "convert_checkpoint").differs


def test_a_perturbed_weight_is_named_with_its_size(two_runs):
    a, b = two_runs
    perturbed = {name: value.copy() for name, value in WEIGHTS.items()}
    perturbed["discriminator_predictions.dense.weight"][2, 3] += 0.25
    save_safetensors(b / "models/discriminator/model.safetensors", perturbed)
    results = compare_manifests(manifest_of(a), manifest_of(b), a, b)
    first = first_difference(results)
    assert first.rule == "convert_checkpoint"
    (file,) = first.files
    assert file.status == DIFFERS
    text = "\n".join(file.details)
    assert "1 of 2 tensors" in text
    assert "max |Δ| of a weight 0.25 (in discriminator_predictions.dense.weight)" in text


def test_a_perturbed_checkpoint_variable_is_named_in_the_pretraining_rule(two_runs):
    a, b = two_runs
    import tensorflow as tf

    prefix = str(b / "pretrain/final/model.ckpt")
    reader = tf.train.load_checkpoint(prefix)
    tensors = {name: reader.get_tensor(name) for name in reader.get_variable_to_dtype_map()}
    name = "electra/encoder/layer_0/output/dense/kernel"
    tensors[name] = tensors[name] + np.float32(1e-3) * (np.arange(16, dtype=np.float32).reshape(4, 4) == 5)
    for path in (b / "pretrain/final").iterdir():
        path.unlink()
    names = sorted(tensors)
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tf.constant(tensors[n]) for n in names],
    )
    manifest_a, manifest_b = manifest_of(a), manifest_of(b)
    results = compare_manifests(manifest_a, manifest_b, a, b)
    first = first_difference(results)
    assert first.rule == "pretrain_model"
    index = next(f for f in first.files if f.path.endswith(".index"))
    assert f"first differing tensor: {name}" in index.details
    delta = float(np.float32(tensors[name].flat[5]) - np.float32(tensors[name].flat[5] - np.float32(1e-3)))
    assert any(d.startswith(f"max |Δ| of a weight {delta:.3g} (in {name})") for d in index.details), index.details
    # Against the other run's manifest alone (no files): a lower bound from the L2 norms.
    alone = compare_manifests(manifest_a, manifest_b)
    index = next(f for f in first_difference(alone).files if f.path.endswith(".index"))
    assert any(d.startswith("‖Δ‖₂ of a tensor ≥ ") for d in index.details), index.details


def test_equal_values_written_otherwise_are_not_a_change_of_values(two_runs):
    a, b = two_runs
    reordered = dict(reversed(list(WEIGHTS.items())))
    save_safetensors(b / "models/discriminator/model.safetensors", reordered, metadata={"format": "np", "note": "x"})
    manifest_a, manifest_b = manifest_of(a), manifest_of(b)
    entry_a, entry_b = (m["rules"][3]["files"][0] for m in (manifest_a, manifest_b))
    assert entry_a["sha256"] != entry_b["sha256"]
    assert entry_a["values_sha256"] == entry_b["values_sha256"]
    results = compare_manifests(manifest_a, manifest_b, a, b)
    assert statuses(results, "convert_checkpoint") == {"models/discriminator/model.safetensors": SAME_VALUES}
    assert first_difference(results) is None


def test_changed_scores_are_reported_metric_by_metric(two_runs):
    a, b = two_runs
    write_json(b / "finetune/m/nsmc/seed41/metrics.json", metrics(93.5, 12.5))
    results = compare_manifests(manifest_of(a), manifest_of(b))
    first = first_difference(results)
    assert first.rule == "finetune_train"
    details = next(f for f in first.files if f.path.endswith("metrics.json")).details
    assert "paper test: accuracy 91 → 93.5 (Δ +2.5)" in details
    assert "clean test: accuracy 91 → 93.5 (Δ +2.5)" in details


def test_a_file_only_one_run_has_is_a_difference(two_runs):
    a, b = two_runs
    manifest_a, manifest_b = manifest_of(a), manifest_of(b)
    extra = dict(manifest_b["rules"][0]["files"][0], path="corpus/shards/00001.txt")
    manifest_b["rules"][0]["files"].append(extra)
    results = compare_manifests(manifest_a, manifest_b)
    assert first_difference(results).rule == "corpus_finalize"
    assert statuses(results, "corpus_finalize")["corpus/shards/00001.txt"] == ONLY_B


def test_compare_command_names_the_first_rule_and_exits_1(two_runs, capsys):
    a, b = two_runs
    manifest_of(a)
    (b / "corpus/shards/00000.txt").write_text("다른 문장.\n", encoding="utf-8")
    manifest_of(b)
    assert main(["compare", str(a), str(b / "manifest.json")]) == 1
    out = capsys.readouterr().out
    assert "First difference, in the workflow's order: rule corpus_finalize." in out
    shutil.copy(a / "manifest.json", b / "manifest.json")
    assert main(["compare", str(a), str(b)]) == 0
    assert "The runs agree" in capsys.readouterr().out


def test_tensor_digest_is_over_name_dtype_shape_and_values():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    base = tensor_digests([("w", x)])["values_sha256"]
    assert tensor_digests([("w", x.astype(">f4"))])["values_sha256"] == base  # byte order of the file
    assert tensor_digests([("v", x)])["values_sha256"] != base
    assert tensor_digests([("w", x.reshape(3, 2))])["values_sha256"] != base
    assert tensor_digests([("w", x.astype(np.float64))])["values_sha256"] != base
    assert tensor_digests([("w", np.nextafter(x, 10).astype(np.float32))])["values_sha256"] != base
    assert tensor_digests([("w", x)])["tensors"]["w"]["l2"] == pytest.approx(np.sqrt(55))


def test_markdown_has_one_row_per_rule_with_its_digest(two_runs):
    a, _ = two_runs
    manifest = manifest_of(a)
    text = markdown(manifest)
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| rule")]
    assert [row.split("|")[1].strip() for row in rows] == list(RULES)
    for row, rule in zip(rows, manifest["rules"]):
        assert f"`{rule_digest(rule)[:16]}`" in row
    assert "values `" in rows[2] and "values `" in rows[3]
    per_file = markdown(manifest, files=True)
    assert per_file.count("\n| ") == 1 + sum(len(p) for p in RULES.values())  # the header and a row per file


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no manifest"),
        ("not json", "not a JSON manifest"),
        ('{"format": "other"}', "not a krelectra manifest"),
        ('{"format": "krelectra-manifest/1", "rules": [{"rule": "x"}]}', 'rules[0] lacks "rule" or a "files" list'),
        (
            '{"format": "krelectra-manifest/1", "rules": [{"rule": "x", "files": [{"path": "a"}]}]}',
            "rule x: an entry lacks path, bytes or sha256",
        ),
    ],
)
def test_a_bad_manifest_is_named_with_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "manifest.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(KrelectraError, match=re.escape(message)) as error:
        read_manifest(path)
    assert str(path) in str(error.value)


def test_a_missing_output_stops_the_manifest_naming_it(tmp_path):
    results = write_synthetic_run(tmp_path)
    (results / "corpus/shards/00000.txt").unlink()
    with pytest.raises(
        KrelectraError, match=re.escape("corpus/shards/00000.txt: a rule output named for the manifest is not there")
    ):
        manifest_of(results)
    assert not (results / "manifest.json").exists()


def test_manifest_records_the_machine_and_packages(two_runs):
    a, _ = two_runs
    manifest = json.loads(json.dumps(manifest_of(a)))
    assert manifest["settings"] == {"cpu_kernels": "portable"}
    assert {"cpu", "isa_flags", "caches", "cpus"} <= manifest["machine"].keys()
    assert {"numpy", "torch", "tensorflow-cpu", "python"} <= manifest["packages"].keys()


def test_a_stage_only_one_run_has_is_the_first_difference_where_it_runs(two_runs):
    a, b = two_runs
    manifest_a = manifest_of(a)
    (b / "corpus/audit.json").parent.mkdir(parents=True, exist_ok=True)
    (b / "corpus/audit.json").write_text("{}")
    rules_b = [("corpus_audit", [b / "corpus/audit.json"])] + [
        (name, [b / path for path in paths]) for name, paths in RULES.items()
    ]
    rules_b.insert(2, rules_b.pop(0))  # B: corpus_finalize, pretrain_examples, corpus_audit, pretrain_model, ...
    manifest_b = build_manifest(rules_b, b, {"cpu_kernels": "portable"})
    results = compare_manifests(manifest_a, manifest_b, a, b)
    order = [rule.rule for rule in results]
    assert order[:4] == ["corpus_finalize", "pretrain_examples", "corpus_audit", "pretrain_model"]
    assert first_difference(results).rule == "corpus_audit"
    # a stage B runs first goes first
    manifest_b = build_manifest([rules_b[2], *rules_b[:2], *rules_b[3:]], b, {"cpu_kernels": "portable"})
    assert next(rule.rule for rule in compare_manifests(manifest_a, manifest_b, a, b)) == "corpus_audit"
