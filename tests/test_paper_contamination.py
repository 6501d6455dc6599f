"""The contamination table: audit counts per task and split, and the clean-subset score
beside the full score for the models pretrained on the audited corpus."""

import json
from pathlib import Path

import pytest
from builders import CONTAMINATED, TEST_EXAMPLES, run_files, write_run

from krelectra.errors import KrelectraError
from krelectra.paper.config import PaperConfig
from krelectra.paper.contamination import contamination_table
from krelectra.paper.layout import plain
from krelectra.paper.tables import TableInputs, write_tables

PUBLISHED = Path(__file__).resolve().parent.parent / "paper" / "published.yaml"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("contamination"), models=("ours", "released"), seeds=(41, 42))


def rows(table):
    return {
        (plain(r[0]), plain(r[1])): [plain(c) for c in r[2:]]
        for section in table.panels[0].sections
        for r in section.rows
    }


def accuracy(path: Path, protocol: str, skip=()) -> float:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    kept = [r for r in records if r["index"] not in skip]
    return 100.0 * sum(r["prediction"][protocol] == r["gold"] for r in kept) / len(kept)


def test_counts_and_clean_subset_scores(run):
    table = contamination_table(run / "corpus" / "contamination.json", run_files(run)["runs"], ["ours"], PaperConfig())
    body = rows(table)
    nsmc = body[("nsmc", "test")]
    # examples, judged, contaminated, % of judged, clean / dirty
    assert nsmc[:5] == [str(TEST_EXAMPLES), str(TEST_EXAMPLES - 2), "3", f"{100 * 3 / 38:.1f}", "35 / 1"]
    predictions = [run / "finetune" / "ours" / "nsmc" / f"seed{s}" / "predictions.jsonl" for s in (41, 42)]
    full = sum(accuracy(p, "paper") for p in predictions) / 2
    clean = sum(accuracy(p, "paper", CONTAMINATED) for p in predictions) / 2
    assert nsmc[5:] == [f"{full:.2f}", f"{clean:.2f} ({TEST_EXAMPLES - len(CONTAMINATED)})"]
    # only the model pretrained on the corpus gets score columns
    assert [c.label for c in table.panels[0].columns[-2:]] == ["ours: all", "ours: clean"]
    # KorQuAD: the clean subset leaves out questions contaminated by their context too
    qa = body[("korquad (questions + answers)", "test")]
    assert qa[-1].endswith(f"({TEST_EXAMPLES - len(CONTAMINATED) - 1})")
    assert body[("korquad (contexts)", "test")][-2:] == ["—", "—"]


def test_audit_of_other_data_is_refused(run, tmp_path):
    audit = json.loads((run / "corpus" / "contamination.json").read_text())
    audit["splits"][0]["contaminated_indices"] = [TEST_EXAMPLES + 5]
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(audit))
    with pytest.raises(KrelectraError, match="different data"):
        contamination_table(path, run_files(run)["runs"], ["ours"], PaperConfig())
    path.write_text("{}")
    with pytest.raises(KrelectraError, match="not a contamination audit"):
        contamination_table(path, run_files(run)["runs"], ["ours"], PaperConfig())


def test_written_with_the_other_tables_only_when_an_audit_is_given(run, tmp_path):
    files = run_files(run)
    with_audit = TableInputs(
        published=PUBLISHED, **files, contamination=run / "corpus" / "contamination.json", contamination_models=["ours"]
    )
    write_tables(with_audit, PaperConfig(), tmp_path / "with")
    assert (tmp_path / "with" / "contamination.tex").is_file()
    assert "corpus/contamination.json" in (tmp_path / "with" / "provenance.tsv").read_text()
    write_tables(TableInputs(published=PUBLISHED, **files), PaperConfig(), tmp_path / "without")
    assert not (tmp_path / "without" / "contamination.tex").exists()


def test_corpus_table_counts_the_documents_removed(run):
    from krelectra.paper.tables import corpus_table

    files = run_files(run)
    table = corpus_table(files["corpus_stats"], files["vocab_train"], files["vocab_report"])
    removed = {
        plain(r[0]): plain(r[1]) for s in table.panels[2].sections if s.title == "Documents removed" for r in s.rows
    }
    assert removed["near-duplicates removed"] == "1" and removed["near-duplicate clusters"] == "1"
    assert removed["holding evaluation text, removed"] == "2"
    assert removed["holding evaluation text of nsmc"] == "2" and removed["holding evaluation text of paws"] == "0"
