"""The generated tables: published rows copied exactly with their sources, this run's rows
(mean ± sd over seeds, n, both protocols), best per column computed, hyperparameter tables
from the configs actually run, corpus and vocabulary numbers, provenance."""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
from pathlib import Path

import pytest
from builders import run_files, write_run, write_uncertainty

from krelectra.errors import KrelectraError
from krelectra.finetune.tasks import TASKS
from krelectra.io import read_json, write_json
from krelectra.paper.config import PaperConfig
from krelectra.paper.layout import plain
from krelectra.paper.provenance import CONFIG_INPUT, read_provenance
from krelectra.paper.published import load_published
from krelectra.paper.tables import TableInputs, build_tables, fmt_published, fmt_seeds, write_tables

PUBLISHED = Path(__file__).resolve().parents[1] / "paper" / "published.yaml"
# The results table's decimal places per column with paper.decimals 2: NSMC has KR-ELECTRA's
# 91.168 (three places, as published); every other column two.
NSMC_PLACES = 3


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two models, three seeds; the first with overridden learning rates."""
    root = tmp_path_factory.mktemp("paper_run")
    return write_run(root, models=("ours", "released"), seeds=(41, 42, 43))


def inputs(results: Path, published: Path = PUBLISHED) -> TableInputs:
    return TableInputs(published=published, **run_files(results))


def copy_run(run: Path, tmp_path: Path) -> Path:
    shutil.copytree(run, tmp_path / "results")
    return tmp_path / "results"


def body(table, panel: int = 0) -> dict[str, list[str]]:
    """First cell -> the row's cells as plain text, over every section of one panel."""
    return {
        plain(row[0]): [plain(c) for c in row[1:]] for section in table.panels[panel].sections for row in section.rows
    }


def test_published_file_matches_the_tasks_the_finetune_stage_reports():
    published = load_published(PUBLISHED)
    assert [c.task for c in published.columns] == list(TASKS)
    for column in published.columns:
        assert set(column.metrics) <= set(TASKS[column.task].metrics)
    assert [r.model for r in published.rows] == [
        "KoBERT",
        "XLM-Roberta-Base",
        "HanBERT",
        "KoELECTRA-Base",
        "KoELECTRA-Base-v2",
        "KoELECTRA-Base-v3",
        "KR-ELECTRA",
    ]
    kr = published.row("KR-ELECTRA")
    assert kr.scores[("nsmc", "accuracy")].value == 91.168 and kr.origin == "kr-electra-readme"
    assert kr.scores[("korquad", "exact_match")].value == 84.93 and kr.scores[("korquad", "f1")].value == 93.04
    # Baselines: read in the KR-ELECTRA README, measured by KoELECTRA.
    assert {(r.source, r.origin) for r in published.rows[:-1]} == {("kr-electra-readme", "koelectra-readme")}
    assert all(len(r.scores) == 9 for r in published.rows)


def test_published_numbers_keep_their_published_places():
    assert fmt_published(91.168, 2) == "91.168"
    assert fmt_published(80.7, 2) == "80.70"
    assert fmt_published(74.5, 2) == "74.50"
    assert fmt_published(85.0, 1) == "85.0"


def test_results_table_has_published_rows_and_a_row_per_model_and_protocol(run):
    config = PaperConfig(labels={"ours": "KR-ELECTRA (this run)"})
    table = build_tables(inputs(run), config)["results"]
    sections = table.panels[0].sections
    assert [s.title.split(",")[0].split(" (")[0] for s in sections] == ["Published", "This run", "This run"]
    assert "paper protocol" in sections[1].title and "clean protocol" in sections[2].title
    rows = [[plain(c) for c in row] for row in sections[0].rows]
    assert rows[-1][0] == "KR-ELECTRA" and rows[-1][1] == "91.168" and rows[-1][7] == "84.93 / 93.04"
    assert rows[1][3] == "82.80"  # XLM-Roberta-Base PAWS, trailing zero kept

    summary = read_json(run / "finetune/ours/summary.json")
    for section, protocol in zip(sections[1:], ("paper", "clean")):
        labels = [plain(row[0]) for row in section.rows]
        assert labels == ["KR-ELECTRA (this run)", "released"]
        ours = [plain(c) for c in section.rows[0]]
        nsmc = summary["tasks"]["nsmc"]["protocols"][protocol]["test"]["accuracy"]
        assert ours[1] == f"{nsmc['mean']:.3f} ± {nsmc['std']:.3f}"  # NSMC_PLACES
        em = summary["tasks"]["korquad"]["protocols"][protocol]["test"]["exact_match"]
        f1 = summary["tasks"]["korquad"]["protocols"][protocol]["test"]["f1"]
        assert ours[7] == f"{em['mean']:.2f} ± {em['std']:.2f} / {f1['mean']:.2f} ± {f1['std']:.2f}"
        assert ours[-1] == "3"  # n seeds


def test_best_value_per_column_is_computed_not_copied(run, tmp_path):
    table = build_tables(inputs(run), PaperConfig())["results"]
    best = {
        plain(row[0]): [i for i, c in enumerate(row) for v in c.values if v.best]
        for s in table.panels[0].sections
        for row in s.rows
    }
    # The seed bolds HanBERT's 68.32 beside 74.50 in the hate column: only 74.50 is best.
    assert 8 in best["KR-ELECTRA"] and 8 not in best["HanBERT"]
    assert best["KoELECTRA-Base-v3"] == [2, 3, 5, 7]  # NER, PAWS, KorSTS, KorQuAD F1
    write_tables(inputs(run), PaperConfig(), tmp_path / "t")
    md = (tmp_path / "t/results.md").read_text()
    assert "**74.50**" in md and "**68.32**" not in md and "**84.93** / 93.04" in md

    # A score of this run above every published one becomes the column's best.
    results = copy_run(run, tmp_path)
    path = results / "finetune/released/summary.json"
    summary = read_json(path)
    summary["tasks"]["nsmc"]["protocols"]["clean"]["test"]["accuracy"]["mean"] = 95.0
    write_json(path, summary)
    table = build_tables(inputs(results), PaperConfig())["results"]
    cells = {(s.title, plain(r[0])): r[1] for s in table.panels[0].sections for r in s.rows}
    assert [c.values[0].best for k, c in cells.items() if k[1] in ("KR-ELECTRA", "released")] == [False, False, True]


def _best_cells(table) -> dict[str, list[int]]:
    return {
        plain(row[0]): [i for i, c in enumerate(row) for v in c.values if v.best]
        for panel in table.panels
        for s in panel.sections
        for row in s.rows
    }


@pytest.mark.parametrize(
    "data, tasks, caveat",
    [
        ({"upstream": False, "max_train_examples": None, "max_eval_examples": None}, None, "stand-in data"),
        ({"upstream": True, "max_train_examples": 500, "max_eval_examples": None}, None, "subsampled"),
        ({"upstream": True, "max_train_examples": None, "max_eval_examples": 50}, None, "subsampled"),
        (None, ("nsmc", "paws", "hate-speech"), "3 of 8 tasks"),
    ],
)
def test_rows_on_other_data_stand_apart_marked_and_never_the_best(tmp_path, data, tasks, caveat):
    results = write_run(tmp_path, models=("ours",), seeds=(41,), tasks=tasks or tuple(TASKS), data=data)
    path = results / "finetune/ours/summary.json"
    summary = read_json(path)
    for protocol in ("paper", "clean"):  # far above every published score
        summary["tasks"]["nsmc"]["protocols"][protocol]["test"]["accuracy"]["mean"] = 100.0
        summary["tasks"]["hate-speech"]["protocols"][protocol]["test"]["macro_f1"]["mean"] = 100.0
    write_json(path, summary)
    table = build_tables(inputs(results), PaperConfig(labels={"ours": "KR-ELECTRA (this run)"}))["results"]
    label = f"KR-ELECTRA (this run) [other data: {caveat}]"
    # A panel of their own, under the published rows, never among them (issue 22).
    assert len(table.panels) == 2 and "NOT comparable" in table.panels[1].title
    compared, other = body(table, 0), body(table, 1)
    assert label not in compared and "KR-ELECTRA" in compared
    assert list(other) == [label] and other[label][0] == "100.000"
    assert [s.title for s in table.panels[1].sections] == [
        "This run, paper protocol (best test checkpoint)",
        "This run, clean protocol (dev-selected checkpoint)",
    ]
    best = _best_cells(table)
    assert best[label] == []  # not compared, so never bold
    assert 1 in best["KR-ELECTRA"] and 8 in best["KR-ELECTRA"]  # 91.168 and 74.50 stay the best
    assert "[other data]" in table.caption and "separate panel" in table.caption
    assert any("not compared with the published rows" in note for note in table.notes)
    write_tables(inputs(results), PaperConfig(labels={"ours": "KR-ELECTRA (this run)"}), tmp_path / "t")
    md = (tmp_path / "t/results.md").read_text(encoding="utf-8")
    assert f"| {label} |" in md and "**100.000**" not in md and "**91.168**" in md
    # The published rows and this run's rows are two Markdown tables, the second titled.
    published_part, other_part = md.split("*This run on other data than the published numbers")
    assert "| KR-ELECTRA |" in published_part and label not in published_part
    assert label in other_part and "| KR-ELECTRA |" not in other_part
    tex = (tmp_path / "t/results.tex").read_text(encoding="utf-8")
    assert tex.count(r"\begin{tabular}") == 2


def test_every_column_is_printed_to_the_places_of_its_published_scores(run):
    """Published scores keep their places (91.168), and each column is printed to one number
    of places, this run's rows included; the notes say which column has more and why."""
    table = build_tables(inputs(run), PaperConfig(labels={"ours": "KR-ELECTRA (this run)"}))["results"]
    rows = body(table)
    assert rows["KoBERT"][0] == "89.590" and rows["KR-ELECTRA"][0] == "91.168"
    assert rows["KoBERT"][1] == "87.92" and rows["KR-ELECTRA"][2] == "82.05" and rows["KR-ELECTRA"][7] == "74.50"
    for panel in table.panels:
        for section in panel.sections:
            for row in section.rows:
                for index, cell in enumerate(row[1:-1]):
                    for value in cell.values:
                        if value.text != "—":
                            places = NSMC_PLACES if index == 0 else 2
                            assert re.fullmatch(rf"\d+\.\d{{{places}}}", value.text), (plain(row[0]), index)
    note = next(note for note in table.notes if "decimal place" in note)
    assert "NSMC to 3 (KR-ELECTRA's 91.168)" in note and "2 decimals" in note


def test_rows_on_the_upstream_data_are_compared_and_unmarked(tmp_path):
    results = write_run(tmp_path, models=("ours",), seeds=(41,))
    table = build_tables(inputs(results), PaperConfig())["results"]
    assert "ours" in body(table) and "[other data]" not in table.caption and len(table.panels) == 1
    assert not any("not compared" in note for note in table.notes)


def test_protocols_and_models_follow_the_config(run):
    table = build_tables(inputs(run), PaperConfig(models=("released",), protocols=("clean",), decimals=1))["results"]
    sections = table.panels[0].sections
    assert len(sections) == 2 and "clean protocol" in sections[1].title
    assert [plain(r[0]) for r in sections[1].rows] == ["released"]
    # One decimal asked for: every column keeps its published places (NSMC 3, the others 2).
    assert re.fullmatch(r"\d+\.\d{3} ± \d+\.\d{3}", plain(sections[1].rows[0][1]))
    assert re.fullmatch(r"\d+\.\d{2} ± \d+\.\d{2}", plain(sections[1].rows[0][2]))
    table = build_tables(inputs(run), PaperConfig(protocols=("clean",), decimals=4))["results"]
    assert plain(table.panels[0].sections[0].rows[0][1]) == "89.5900"  # KoBERT's NSMC, published 89.59
    with pytest.raises(KrelectraError, match="no finetuning summary of nope"):
        build_tables(inputs(run), PaperConfig(models=("nope",)))


def test_latex_is_booktabs_and_escapes_names(run, tmp_path):
    write_tables(inputs(run), PaperConfig(labels={"ours": "ours_v1 & 100%"}), tmp_path)
    tex = (tmp_path / "results.tex").read_text()
    assert all(cmd in tex for cmd in (r"\toprule", r"\midrule", r"\bottomrule", r"\label{tab:results}"))
    assert r"ours\_v1 \& 100\%" in tex and r"\textbf{91.168}" in tex and r"\,$\pm$\," in tex
    for name in ("results", "model", "pretraining", "corpus", "finetuning"):
        text = (tmp_path / f"{name}.tex").read_text()
        assert text.count(r"\begin{tabular}") == text.count(r"\end{tabular}") >= 1
        # Every tabular row has as many cells as the column specification.
        for spec, rows in re.findall(r"\\begin\{tabular\}\{(\w+)\}(.*?)\\end\{tabular\}", text, re.S):
            for line in rows.splitlines():
                if line.endswith(r"\\") and not line.startswith(r"\multicolumn"):
                    assert line.count(" & ") == len(spec) - 1, line
        html = (tmp_path / f"{name}.html").read_text()
        assert html.count("<table>") == html.count("</table>") >= 1
    md = (tmp_path / "results.md").read_text()
    assert "| ours_v1 & 100% |" in md


def test_model_and_pretraining_tables_come_from_the_configs_that_were_run(run, tmp_path):
    results = copy_run(run, tmp_path)
    config_path = results / "pretrain/final/model_config.json"
    model_config = read_json(config_path)
    model_config["generator_hidden_size"] = 48
    write_json(config_path, model_config)
    tables = build_tables(inputs(results), PaperConfig())
    sections = tables["model"].panels[0].sections
    ours = {plain(r[0]): [plain(c) for c in r[1:]] for r in sections[0].rows}
    published = {plain(r[0]): [plain(c) for c in r[1:]] for r in sections[1].rows}
    assert ours["Generator"][:4] == ["2", "64", "48", "1"]
    assert ours["Discriminator"] == ["2", "64", "128", "2", "512", str(model_config["vocab_size"])]
    assert published["Generator"] == ["12", "768", "256", "4", "—", "30,000"]
    assert any("Conversion to Hugging Face passed" in note and "2.1e-06" in note for note in tables["model"].notes)

    pretraining = body(tables["pretraining"])
    assert pretraining["This run"] == ["32", "100", "1e-3", "64", "0.25", "10", "0.15", "50"]
    assert pretraining["Published"] == ["256", "700,000", "2e-4", "128", "0.33333", "—", "—", "—"]
    assert "1,234 training examples" in tables["pretraining"].notes[0]


def test_corpus_table_reports_registers_drops_and_vocabulary(run):
    table = build_tables(inputs(run), PaperConfig())["corpus"]
    sizes, sources, drops, vocab = (
        {plain(r[0]): [plain(c) for c in r[1:]] for s in p.sections for r in s.rows} for p in table.panels
    )
    assert sizes["written"][:3] == ["9", "571", "45,125"] and sizes["total"][:3] == ["705", "1,454", "65,473"]
    assert sizes["spoken"][4] == "31.1%"
    assert sources["spoken-sample"] == ["spoken", "702", "52.3 kB", "0"]
    assert drops["duplicate"] == ["94"] and drops["too short"] == ["39"] and drops["total"] == ["179"]
    report = read_json(run / "vocab/report.json")["heldout"]["all"]
    assert vocab["[UNK] rate"] == [f"{100 * report['unk_rate']:.3f}%"]
    assert vocab["tokens per eojeol"] == [f"{report['tokens_per_eojeol']:.3f}"]
    assert vocab["morpheme-boundary recall"] == [f"{100 * report['boundary_recall']:.1f}%"]
    assert vocab["vocabulary size"] == [str(read_json(run / "vocab/report.json")["vocab_size"])]


def test_finetuning_table_lists_hyperparameters_as_run_and_marks_overrides(tmp_path):
    results = write_run(
        tmp_path / "a",
        models=("ours",),
        seeds=(41, 42, 43, 45),
        tasks=("nsmc", "korquad"),
        hyperparameters={"learning_rate": 1e-3},
    )
    table = build_tables(inputs(results), PaperConfig())["finetuning"]
    rows = body(table)
    assert list(rows) == ["nsmc", "korquad"]  # the published column order
    assert rows["nsmc"][:3] == ["1e-3*", "10", "32"] and rows["nsmc"][-2:] == ["41–43, 45", "4"]
    assert rows["korquad"][4] == "512"
    assert any("differs from the value KR-ELECTRA used" in n for n in table.notes)
    assert any("doc stride 128" in n for n in table.notes)

    # Reference hyperparameters: nothing marked.
    results = write_run(tmp_path / "b", models=("ours",), seeds=(41,), tasks=("paws",))
    table = build_tables(inputs(results), PaperConfig())["finetuning"]
    assert body(table)["paws"][:2] == ["3e-5", "15"]
    assert not any("differs" in n for n in table.notes)


def test_seed_ranges():
    assert fmt_seeds([43, 41, 42]) == "41–43"
    assert fmt_seeds([41, 42, 45]) == "41, 42, 45"
    assert fmt_seeds([7]) == "7"


def test_provenance_lists_each_tables_inputs_with_their_sha256(run, tmp_path):
    write_tables(inputs(run), PaperConfig(), tmp_path)
    rows = read_provenance(tmp_path / "provenance.tsv")
    by_table = {}
    for row in rows:
        by_table.setdefault(row["output"], set()).add(row["input"])
        if row["input"] != CONFIG_INPUT:
            assert row["sha256"] == hashlib.sha256(Path(row["input"]).read_bytes()).hexdigest()
    files = run_files(run)
    assert by_table["results"] == {str(PUBLISHED), *map(str, files["summaries"]), CONFIG_INPUT}
    assert by_table["corpus"] == {
        str(files["corpus_stats"]),
        str(files["vocab_train"]),
        str(files["vocab_report"]),
        CONFIG_INPUT,
    }
    assert by_table["finetuning"] >= set(map(str, files["runs"]))
    assert set(by_table) == {"results", "model", "pretraining", "corpus", "finetuning"}


def test_tables_are_byte_identical_on_rerun(run, tmp_path):
    for name in ("first", "second"):
        write_tables(inputs(run), PaperConfig(), tmp_path / name)
    first = {p.name: p.read_bytes() for p in (tmp_path / "first").iterdir()}
    assert first == {p.name: p.read_bytes() for p in (tmp_path / "second").iterdir()}
    assert len(first) == 5 * 3 + 1


def test_errors_name_the_file_and_the_key(run, tmp_path):
    results = copy_run(run, tmp_path)
    stats = read_json(results / "corpus/stats.json")
    del stats["dropped_sentences"]
    write_json(results / "corpus/stats.json", stats)
    with pytest.raises(KrelectraError, match=r"corpus/stats.json: missing key 'dropped_sentences'"):
        build_tables(inputs(results), PaperConfig())

    published = tmp_path / "published.yaml"
    published.write_text(PUBLISHED.read_text().replace("origin: koelectra-readme", "origin: koelectra", 1))
    with pytest.raises(KrelectraError, match=r"published.yaml: results\[0\] \(KoBERT\): unknown source 'koelectra'"):
        build_tables(inputs(run, published), PaperConfig())

    published.write_text(PUBLISHED.read_text().replace("paws: 81.25", "paws: high", 1))
    with pytest.raises(KrelectraError, match=r"KoBERT\)\.scores\.paws: expected a number"):
        load_published(published)

    with pytest.raises(KrelectraError, match="protocol 'clean' was not evaluated"):
        summary = read_json(results / "finetune/ours/summary.json")
        summary["protocols"] = ["paper"]
        write_json(results / "finetune/ours/summary.json", summary)
        build_tables(inputs(results), PaperConfig())


def test_cli_writes_the_tables_and_shows_them(run, tmp_path, capsys):
    from krelectra.cli import main

    files = run_files(run)
    argv = [
        "paper",
        "tables",
        "--published",
        str(PUBLISHED),
        "--output-dir",
        str(tmp_path / "tables"),
        "--config",
        json.dumps({"labels": {"ours": "Ours"}, "protocols": ["clean"]}),
    ]
    for key in ("corpus_stats", "vocab_train", "vocab_report", "model_config", "pretrain_config", "verification"):
        argv += [f"--{key.replace('_', '-')}", str(files[key])]
    argv += ["--summaries", *map(str, files["summaries"]), "--runs", *map(str, files["runs"])]
    assert main(argv) == 0
    assert main(["paper", "show", "--tables-dir", str(tmp_path / "tables"), "results"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("**Table: Finetuning results") and "| Ours |" in out and "This run, paper protocol" not in out
    assert main(["paper", "show", "--tables-dir", str(tmp_path / "nothing")]) == 1
    assert "no such table" in capsys.readouterr().err
    bad = [a if a != argv[7] else '{"decimals": -1}' for a in argv]
    assert main(bad) == 1
    assert "config paper.decimals" in capsys.readouterr().err


def test_nan_scores_are_shown_as_a_dash(run, tmp_path):
    results = copy_run(run, tmp_path)
    path = results / "finetune/ours/summary.json"
    summary = read_json(path)
    summary["tasks"]["korsts"]["protocols"]["paper"]["test"]["spearman"]["mean"] = math.nan
    write_json(path, summary)
    table = build_tables(inputs(results), PaperConfig(models=("ours",), protocols=("paper",)))["results"]
    assert plain(table.panels[0].sections[1].rows[0][5]) == "—"


def test_a_single_seed_shows_no_spread(tmp_path):
    results = write_run(tmp_path, models=("ours",), seeds=(41,), tasks=("nsmc",))
    table = build_tables(inputs(results), PaperConfig(protocols=("clean",)))["results"]
    row = [plain(c) for c in table.panels[1].sections[0].rows[0]]  # 1 of 8 tasks: other data
    summary = read_json(results / "finetune/ours/summary.json")
    assert row[1] == f"{summary['tasks']['nsmc']['protocols']['clean']['test']['accuracy']['mean']:.3f}"
    assert row[2] == "—" and row[-1] == "1"


# -- intervals and significance (paper/uncertainty.py) ---------------------------------------


@pytest.fixture(scope="module")
def uncertainty(run):
    return write_uncertainty(run, reference_model="ours")


@pytest.mark.slow  # 7-15 s: kept out of the two-minute development loop
def test_results_table_shows_intervals_and_marks_significant_differences(run, uncertainty, tmp_path):
    config = PaperConfig(labels={"ours": "KR-ELECTRA (this run)"})
    table = build_tables(TableInputs(published=PUBLISHED, **run_files(run), uncertainty=uncertainty), config)["results"]
    data = {path.stem: read_json(path) for path in uncertainty}
    columns = load_published(PUBLISHED).columns
    marks = 0
    for section, protocol in zip(table.panels[0].sections[1:], ("paper", "clean")):
        labels = [plain(row[0]) for row in section.rows]
        # each model's row, then its interval row
        assert labels == ["KR-ELECTRA (this run) (reference)", "95% CI", "released", "95% CI"]
        for model, (row, interval_row) in zip(("ours", "released"), (section.rows[0:2], section.rows[2:4])):
            for column, cell, interval in zip(columns, row[1:], interval_row[1:]):
                entry = data[column.task]["protocols"][protocol]
                for metric, value, bounds in zip(column.metrics, cell.values, interval.values):
                    score = entry["models"][model]["metrics"][metric]
                    places = NSMC_PLACES if column.task == "nsmc" else 2
                    assert bounds.text == f"[{score['low']:.{places}f}, {score['high']:.{places}f}]", column.task
                    # the reference is never marked; another model exactly where its test is significant
                    test = entry["comparisons"].get(model, {}).get("metrics", {}).get(metric)
                    assert value.mark == ("†" if test and test["significant"] else "")
                    marks += value.mark == "†"
    assert marks > 0  # the synthetic models differ by 10 points on 40 examples: some tests are significant
    notes = " ".join(table.notes)
    assert "95% CI (the row under each model): percentile bootstrap interval" in notes
    assert "scipy.stats.bootstrap" in notes and "200 times" in notes and "Efron and Tibshirani (1993)" in notes
    assert "†: differs from KR-ELECTRA (this run) (reference) at the 5% level, paired bootstrap test" in notes
    assert "Berg-Kirkpatrick" in notes

    write_tables(TableInputs(published=PUBLISHED, **run_files(run), uncertainty=uncertainty), config, tmp_path / "t")
    md = (tmp_path / "t/results.md").read_text(encoding="utf-8")
    tex = (tmp_path / "t/results.tex").read_text(encoding="utf-8")
    assert "| 95% CI | [" in md and "†" in md and r"$^{\dagger}$" in tex and "{[}" in tex
    provenance = {row["input"] for row in read_provenance(tmp_path / "t/provenance.tsv") if row["output"] == "results"}
    assert {str(path) for path in uncertainty} <= provenance


def test_bootstrap_files_of_different_settings_are_refused(run, uncertainty, tmp_path):
    changed = tmp_path / "nsmc.json"
    data = read_json(uncertainty[0])
    data["resamples"] = 5000
    write_json(changed, data)
    with pytest.raises(KrelectraError, match="different settings"):
        build_tables(
            TableInputs(published=PUBLISHED, **run_files(run), uncertainty=[changed, *uncertainty[1:]]), PaperConfig()
        )


# -- a run of released encoders only ------------------------------------------------------------


def test_without_pretraining_outputs_only_the_results_and_finetuning_tables_are_made(run, tmp_path):
    files = run_files(run)
    inputs = TableInputs(published=PUBLISHED, summaries=files["summaries"], runs=files["runs"])
    tables = write_tables(inputs, PaperConfig(), tmp_path / "t")
    assert list(tables) == ["results", "finetuning"]
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == sorted(
        [f"{name}.{fmt}" for name in ("results", "finetuning") for fmt in ("tex", "md", "html")] + ["provenance.tsv"]
    )
    assert {row["output"] for row in read_provenance(tmp_path / "t/provenance.tsv")} == {"results", "finetuning"}
    # some of the pretraining outputs but not all: an error naming the missing ones
    with pytest.raises(KrelectraError, match="--vocab-train, --vocab-report, --model-config"):
        build_tables(
            TableInputs(
                published=PUBLISHED,
                summaries=files["summaries"],
                runs=files["runs"],
                corpus_stats=files["corpus_stats"],
            ),
            PaperConfig(),
        )
