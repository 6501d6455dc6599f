"""The figures: written as PDF and PNG, reproducible, and drawing the numbers of the run."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import run_files, write_run

from krelectra.errors import KrelectraError
from krelectra.io import read_json
from krelectra.paper.config import PaperConfig
from krelectra.paper.figures import (
    FIGURES,
    finetuning_curves,
    read_metrics,
    score_differences,
    vocabulary_statistics,
    write_figures,
)
from krelectra.paper.provenance import read_provenance
from krelectra.paper.published import load_published
from krelectra.paper.tables import selected_summaries

PUBLISHED = Path(__file__).resolve().parents[1] / "paper" / "published.yaml"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("paper_figures_run"), models=("ours", "released"), seeds=(41, 42))


def figures(results: Path, output: Path, config: PaperConfig | None = None) -> dict:
    config = config or PaperConfig()
    files = run_files(results)
    return write_figures(
        PUBLISHED,
        results / "pretrain/metrics.jsonl",
        files["runs"],
        files["summaries"],
        results / "vocab/tokenizer",
        sorted((results / "vocab/heldout").glob("*.txt")),
        config,
        output,
    )


def test_every_figure_is_written_as_pdf_and_png_identically_on_rerun(run, tmp_path):
    figures(run, tmp_path / "first", PaperConfig(labels={"ours": "Ours"}))
    for name in FIGURES:
        assert (tmp_path / "first" / f"{name}.pdf").read_bytes().startswith(b"%PDF")
        assert (tmp_path / "first" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    provenance = {(r["output"], r["input"]) for r in read_provenance(tmp_path / "first/provenance.tsv")}
    assert ("pretraining", str(run / "pretrain/metrics.jsonl")) in provenance
    assert ("vocabulary", str(run / "vocab/tokenizer/vocab.txt")) in provenance
    figures(run, tmp_path / "second", PaperConfig(labels={"ours": "Ours"}))
    for name in FIGURES:
        assert (tmp_path / "first" / f"{name}.pdf").read_bytes() == (tmp_path / "second" / f"{name}.pdf").read_bytes()


def test_vocabulary_statistics_agree_with_the_vocabulary_report(run):
    stats = vocabulary_statistics(run / "vocab/tokenizer", sorted((run / "vocab/heldout").glob("*.txt")), 0)
    report = read_json(run / "vocab/report.json")["heldout"]["all"]
    assert stats["eojeols"] == report["eojeols"] and stats["tokens"] == report["tokens"]
    mean = sum(k * v for k, v in stats["wordpiece_per_eojeol"].items()) / stats["eojeols"]
    assert mean == pytest.approx(report["tokens_per_eojeol"])
    assert sum(stats["morphemes_per_eojeol"].values()) == stats["eojeols"]
    vocab = (run / "vocab/tokenizer/vocab.txt").read_text(encoding="utf-8").split()
    lengths = stats["piece_lengths"]
    assert sum(lengths["word-initial"].values()) + sum(lengths["continuation (##)"].values()) == len(vocab) - 5
    assert lengths["word-initial"][5] == 1  # 민주공화국
    assert (
        vocabulary_statistics(run / "vocab/tokenizer", sorted((run / "vocab/heldout").glob("*.txt")), 2)["sentences"]
        == 2
    )


def test_comparison_subtracts_the_published_reference(run):
    published = load_published(PUBLISHED)
    summaries = selected_summaries(run_files(run)["summaries"], PaperConfig())
    differences = score_differences(published, summaries, PaperConfig())
    assert set(differences) == {(m, p) for m in ("ours", "released") for p in ("paper", "clean")}
    bars = {label: (diff, sd) for label, diff, sd in differences[("ours", "clean")]}
    assert list(bars)[6:8] == ["KorQuAD EM", "KorQuAD F1"] and len(bars) == 9
    summary = read_json(run / "finetune/ours/summary.json")
    hate = summary["tasks"]["hate-speech"]["protocols"]["clean"]["test"]["macro_f1"]
    assert bars["Korean-Hate-Speech"] == pytest.approx((hate["mean"] - 74.50, hate["std"]))
    with pytest.raises(KrelectraError, match="no published results row for model 'BERT'"):
        score_differences(published, summaries, PaperConfig(reference="BERT"))


@pytest.mark.parametrize("upstream", [True, False])
def test_comparison_marks_a_model_measured_on_other_data(tmp_path, upstream):
    from krelectra.paper.figures import comparison_figure

    data = {"upstream": upstream, "max_train_examples": None, "max_eval_examples": None}
    results = write_run(tmp_path, models=("ours",), seeds=(41,), data=data)
    published = load_published(PUBLISHED)
    config = PaperConfig(protocols=("clean",))
    figure, _ = comparison_figure(published, selected_summaries(run_files(results)["summaries"], config), config)
    (ax,) = figure.axes
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    filled = [patch.get_facecolor()[3] > 0 for patch in ax.patches]
    if upstream:
        assert legend == ["ours, clean protocol (dev-selected epoch)"] and all(filled) and ax.get_title() == ""
    else:
        assert legend == ["ours [other data: stand-in data], clean protocol (dev-selected epoch)"]
        assert not any(filled) and "not a comparison" in ax.get_title()


def test_finetuning_curves_average_the_seeds_per_epoch(run):
    files = run_files(run)
    curves = finetuning_curves(files["runs"], ["ours"])
    assert set(curves["nsmc"]["models"]) == {"ours"} and curves["korquad"]["metric"] == "exact_match"
    runs = [read_json(p) for p in files["runs"] if "/ours/nsmc/" in str(p)]
    epoch, mean, _sd, n = curves["nsmc"]["models"]["ours"]["dev"][1]
    values = [r["epochs"][1]["dev"]["accuracy"] for r in runs]
    assert (epoch, n) == (2, 2) and mean == pytest.approx(sum(values) / 2)


def test_pretraining_metrics_errors_name_the_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"split": "train", "step": 1, "loss": 1.0}\nnot json\n')
    with pytest.raises(KrelectraError, match=r"metrics.jsonl:2: not a pretraining metrics record"):
        read_metrics(path)


def test_without_pretraining_outputs_only_finetuning_and_comparison_are_drawn(run, tmp_path):
    files = run_files(run)
    data = write_figures(PUBLISHED, None, files["runs"], files["summaries"], None, [], PaperConfig(), tmp_path)
    assert list(data) == ["finetuning", "comparison"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "comparison.pdf",
        "comparison.png",
        "finetuning.pdf",
        "finetuning.png",
        "provenance.tsv",
    ]
    with pytest.raises(KrelectraError, match="come together or not at all"):
        write_figures(
            PUBLISHED,
            run / "pretrain/metrics.jsonl",
            files["runs"],
            files["summaries"],
            None,
            [],
            PaperConfig(),
            tmp_path,
        )
