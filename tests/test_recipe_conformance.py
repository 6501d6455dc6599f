"""Conformance: what Snakemake itself plans for each shipped config is the recipe.

Each config is resolved by a real dry run of the real workflow (`snakemake -n -p`); the
planned jobs' command lines (what the jobs would run) are read back and their settings
checked. The expected values are typed in from the spec sheets (KR-ELECTRA's README and
per-task table, the ELECTRA reference defaults), never read from the project's files, so
a drift in config/paper.yaml, the schema or the task table fails here.
"""

from __future__ import annotations

import json
import shlex

import pytest
import yaml
from builders import KR_ELECTRA_FINETUNING, KR_ELECTRA_SAVE_STEPS
from workflow_helpers import copy_workflow, snakemake

from krelectra.finetune.tasks import TASKS, resolve_hyperparameters

# "All: warmup proportion 0, weight decay 0.0, max grad norm 1.0"
ALL_TASKS = {"warmup_proportion": 0.0, "weight_decay": 0.0, "max_grad_norm": 1.0}
# "QA features in the reference: ... doc_stride 128, max_query_length 64, max_answer_length 30, n_best_size 20"
KORQUAD = {"doc_stride": 128, "max_query_length": 64, "max_answer_length": 30, "n_best_size": 20}


def expected_finetuning(task: str, **changes) -> dict:
    """KR-ELECTRA's hyperparameters of `task` (without the seed), with `changes`."""
    lr, epochs, train_batch, eval_batch, max_len, eps, _seed = KR_ELECTRA_FINETUNING[task]
    expected = {
        "learning_rate": lr,
        "num_train_epochs": epochs,
        "train_batch_size": train_batch,
        "eval_batch_size": eval_batch,
        "max_seq_length": max_len,
        "adam_epsilon": eps,
        # spec tasks.md, "Which checkpoints": the steps dev and test are scored at
        "save_steps": KR_ELECTRA_SAVE_STEPS[task],
        **ALL_TASKS,
        **(KORQUAD if task == "korquad" else {}),
    }
    return {**expected, **{k: v for k, v in changes.items() if k in expected}}


# -- reading a dry run ------------------------------------------------------------------


def planned_commands(work, *args: str) -> list[str]:
    """The shell command of every job Snakemake plans for `args` (dry run, -p)."""
    result = snakemake(work, "-n", "-p", "--cores", "4", *args)
    prefix = "Shell command: "
    return [line[len(prefix) :] for line in (result.stdout + result.stderr).splitlines() if line.startswith(prefix)]


def krelectra_jobs(commands: list[str], command: str) -> list[dict[str, list[str]]]:
    """The options of every planned `krelectra <command>` call: {option: values}."""
    jobs = []
    for line in commands:
        tokens = shlex.split(line)
        if "krelectra" not in tokens:
            continue
        start = tokens.index("krelectra")
        if " ".join(tokens[start + 1 : start + 3]) != command:
            continue
        options: dict[str, list[str]] = {}
        key = None
        for token in tokens[start + 3 :]:
            if token == "2>":
                break
            if token.startswith("--"):
                key = token[2:]
                options[key] = []
            elif key is not None:
                options[key].append(token)
        jobs.append(options)
    return jobs


def finetuning_jobs(commands: list[str]) -> dict[tuple[str, str, int], dict]:
    """{(model, task, seed): {"hyperparameters": ..., option: value}} of the planned runs."""
    jobs = {}
    for options in krelectra_jobs(commands, "finetune train"):
        key = (options["model-name"][0], options["task"][0], int(options["seed"][0]))
        assert key not in jobs, f"{key} planned twice"
        jobs[key] = {name: values[0] for name, values in options.items() if values}
        jobs[key]["hyperparameters"] = json.loads(options["hyperparameters"][0])
    return jobs


def pretraining_config(commands: list[str]) -> dict:
    (job,) = krelectra_jobs(commands, "pretrain train")
    return json.loads(job["config"][0])


def with_stand_in_corpus(work):
    """The paper config names the user's corpus folders: one small file in each."""
    config = yaml.safe_load((work / "config/paper.yaml").read_text(encoding="utf-8"))
    for source in config["corpus"]["sources"]:
        folder = work / source["paths"][0].split("**")[0]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "part-0.txt").write_text("문장입니다.\n", encoding="utf-8")
    return work


@pytest.fixture(scope="module")
def paper_work(tmp_path_factory):
    return with_stand_in_corpus(copy_workflow(tmp_path_factory.mktemp("paper")))


@pytest.fixture(scope="module")
def paper_plan(paper_work):
    """The jobs of the paper recipe's tables, figures and manuscript (rule-name targets,
    which work with any config)."""
    return planned_commands(
        paper_work, "paper_tables", "paper_figures", "paper_pdf", "--configfile", "config/paper.yaml"
    )


@pytest.fixture(scope="module")
def default_plan(tmp_path_factory):
    """The jobs of the README's main command (and the figures) on the embedded default."""
    return planned_commands(copy_workflow(tmp_path_factory.mktemp("default")), "paper/tables", "paper_figures")


# -- config/paper.yaml: the published recipe ---------------------------------------------


def test_paper_recipe_finetunes_every_task_once_with_kr_electras_hyperparameters(paper_plan):
    jobs = finetuning_jobs(paper_plan)
    assert set(jobs) == {("krelectra-ours", task, spec[-1]) for task, spec in KR_ELECTRA_FINETUNING.items()}
    for (_model, task, seed), job in jobs.items():
        assert job["hyperparameters"] == expected_finetuning(task), task
        # What the job's `krelectra finetune train` makes of its command line.
        used = resolve_hyperparameters(TASKS[task], job["hyperparameters"], seed)
        assert used == {**expected_finetuning(task), "seed": KR_ELECTRA_FINETUNING[task][-1]}, task
        # The upstream files, whole: downloaded and verified, nothing capped.
        assert job["data"].endswith("finetune/data/download"), task
        assert job["max-train-examples"] == "null" and job["max-eval-examples"] == "null", task
        # The reference's numerics (issue 25: KoELECTRA's scripts train in fp32, no autocast,
        # with a RandomSampler): fp32 and random batches, on every job's command line.
        assert (job["precision"], job["train-sampling"]) == ("fp32", "random"), task


def test_paper_recipe_downloads_the_twenty_upstream_files(paper_plan):
    downloads = {(job["task"][0], job["file"][0]) for job in krelectra_jobs(paper_plan, "finetune download")}
    # spec tasks.md: train and test of every task, and the dev files of paws, kornli, korsts, question-pair.
    assert len(downloads) == 20 and {task for task, _ in downloads} == set(KR_ELECTRA_FINETUNING)
    assert ("korquad", "KorQuAD_v1.0_train.json") in downloads and ("hate-speech", "val.tsv") in downloads


def test_paper_recipe_pretrains_with_kr_electras_settings_and_the_reference_defaults(paper_plan):
    config = pretraining_config(paper_plan)
    train, model, examples = config["train"], config["model"], config["examples"]
    # The seed's "Pretraining" table: batch 256, 700,000 steps, lr 2e-4, length 128, generator 0.33333.
    assert train["train_batch_size"] == 256 and train["num_train_steps"] == 700000
    assert train["learning_rate"] == 2e-4 and examples["max_seq_length"] == 128
    assert model["generator_hidden_size"] == 0.33333
    # spec electra.md, reference defaults KR-ELECTRA did not change.
    assert train["mask_prob"] == 0.15 and train["gen_weight"] == 1.0 and train["disc_weight"] == 50.0
    assert train["temperature"] == 1.0 and train["num_warmup_steps"] == 10000 and train["lr_decay_power"] == 1.0
    assert (train["adam_beta1"], train["adam_beta2"], train["adam_epsilon"]) == (0.9, 0.999, 1e-6)
    assert train["weight_decay_rate"] == 0.01 and train["clip_norm"] == 1.0
    assert train["save_checkpoints_steps"] == 1000 and train["keep_checkpoint_max"] == 5
    assert model["hidden_dropout_prob"] == 0.1 and model["attention_probs_dropout_prob"] == 0.1
    assert model["hidden_act"] == "gelu"
    # Packing: 10% single-segment examples, 5% random short targets.
    assert examples["single_segment_prob"] == 0.1 and examples["short_seq_prob"] == 0.05

    # The model that `krelectra pretrain train` builds from this config and the 30,000 vocabulary.
    from krelectra.pretrain.config import PretrainConfig
    from krelectra.pretrain.train import build_model_config

    (vocab,) = krelectra_jobs(paper_plan, "vocab train")
    assert vocab["size"] == ["30000"]
    parsed = PretrainConfig.from_dict(config)
    assert parsed.max_predictions_per_seq == 19  # int((0.15 + 0.005) * 128)
    sizes = build_model_config(parsed, vocab_size=int(vocab["size"][0]))
    # The seed's "Hyperparameters" table: discriminator 12 layers, embedding 768, hidden
    # 768, 12 heads; generator 12 layers, embedding 768, hidden 256, 4 heads; FFN 4 x hidden.
    assert (sizes.num_hidden_layers, sizes.embedding_size, sizes.hidden_size) == (12, 768, 768)
    assert (sizes.num_attention_heads, sizes.intermediate_size) == (12, 3072)
    assert (sizes.generator_num_hidden_layers, sizes.generator_hidden_size) == (12, 256)
    assert (sizes.generator_num_attention_heads, sizes.generator_intermediate_size) == (4, 1024)
    assert (sizes.vocab_size, sizes.max_position_embeddings, sizes.type_vocab_size) == (30000, 512, 2)

    shards = krelectra_jobs(paper_plan, "pretrain examples")
    assert len(shards) == 128
    assert {json.dumps(json.loads(job["config"][0])["examples"], sort_keys=True) for job in shards} == {
        json.dumps(examples, sort_keys=True)
    }


def test_command_line_config_applies_on_top_of_the_named_file(paper_work):
    plan = planned_commands(paper_work, "--configfile", "config/paper.yaml", "--config", "results=results-x")
    jobs = finetuning_jobs(plan)
    assert len(jobs) == 8
    for (_model, task, _seed), job in jobs.items():
        assert job["hyperparameters"] == expected_finetuning(task)
        assert job["output-dir"].startswith("results-x/finetune/")


# -- config/config.yaml: the embedded default --------------------------------------------


def test_embedded_default_finetunes_with_its_documented_overrides(default_plan):
    # config/config.yaml: lr 5e-4, warmup 0.1, 5 epochs (nsmc 4, naver-ner 6, paws 25, kornli 4,
    # korsts 6, question-pair 3, korquad 15), batch 16 / 128, length 64; korquad doc_stride 32,
    # max_query_length 16; seed 41; save_steps about 1.5 an epoch (nsmc 34, naver-ner 38,
    # paws 45, kornli 50, korsts 75, question-pair 27, korquad 30, hate-speech 57).
    jobs = finetuning_jobs(default_plan)
    save_steps = {
        "nsmc": 34,
        "naver-ner": 38,
        "paws": 45,
        "kornli": 50,
        "korsts": 75,
        "question-pair": 27,
        "korquad": 30,
        "hate-speech": 57,
    }
    assert set(jobs) == {("krelectra-ours", task, 41) for task in KR_ELECTRA_FINETUNING}
    epochs = {"nsmc": 4, "naver-ner": 6, "paws": 25, "kornli": 4, "korsts": 6, "question-pair": 3, "korquad": 15}
    for (_model, task, _seed), job in jobs.items():
        expected = expected_finetuning(
            task,
            learning_rate=5e-4,
            warmup_proportion=0.1,
            num_train_epochs=epochs.get(task, 5),
            train_batch_size=16,
            eval_batch_size=128,
            max_seq_length=64,
            doc_stride=32,
            max_query_length=16,
            save_steps=save_steps[task],
        )
        assert job["hyperparameters"] == expected, task
        # the automatic numerics: bf16 where native, random batches
        assert (job["precision"], job["train-sampling"]) == ("auto", "auto"), task
        assert job["data"].endswith("resources/finetune"), task  # the shipped stand-in fixtures


def test_embedded_default_pretrains_its_tiny_model(default_plan):
    config = pretraining_config(default_plan)
    model, train = config["model"], config["train"]
    assert (model["embedding_size"], model["hidden_size"], model["num_hidden_layers"]) == (64, 128, 2)
    assert model["generator_hidden_size"] == 0.25 and config["examples"]["max_seq_length"] == 64
    assert (train["train_batch_size"], train["num_train_steps"], train["learning_rate"]) == (32, 500, 1e-4)
    assert train["num_warmup_steps"] == 50
    # Keys the file leaves out come from the schema: the reference values.
    assert (train["adam_epsilon"], train["weight_decay_rate"], train["clip_norm"]) == (1e-6, 0.01, 1.0)


def test_command_line_config_merges_into_a_nested_section(tmp_path):
    # Snakemake reads a nested --config value as YAML with every scalar a string, so only
    # string settings can be given this way (numbers go in a config file).
    plan = planned_commands(copy_workflow(tmp_path), "--config", "finetune={'data': 'download'}")
    jobs = finetuning_jobs(plan)
    assert len(jobs) == 8 and all(job["data"].endswith("finetune/data/download") for job in jobs.values())
    assert jobs[("krelectra-ours", "nsmc", 41)]["hyperparameters"]["learning_rate"] == 5e-4  # the file's, kept


# -- a user's config file is the whole config ----------------------------------------------


def test_a_users_config_file_replaces_the_embedded_default(tmp_path):
    work = copy_workflow(tmp_path)
    (work / "mine.yaml").write_text(
        yaml.safe_dump(
            {
                # One register only: the recipe's spoken_ratio (0.5) cannot apply, so it is switched off.
                "corpus": {
                    "sources": [{"name": "law", "paths": ["konlpy:kolaw/*.txt"], "register": "written"}],
                    "spoken_ratio": None,
                },
                "finetune": {"models": {"released": "snunlp/KR-ELECTRA-discriminator"}, "tasks": ["nsmc", "korquad"]},
            }
        ),
        encoding="utf-8",
    )
    plan = planned_commands(work, "--configfile", "mine.yaml")
    jobs = finetuning_jobs(plan)
    # Only the model it names (the default's krelectra-ours is gone), KR-ELECTRA's
    # hyperparameters and reference seeds (nothing of the default's overrides).
    assert set(jobs) == {("released", "nsmc", 41), ("released", "korquad", 42)}
    for (_model, task, _seed), job in jobs.items():
        assert job["hyperparameters"] == expected_finetuning(task)
    # It evaluates no converted model: its tables need no pretraining, though it could pretrain.
    assert not krelectra_jobs(plan, "pretrain train") and not krelectra_jobs(plan, "corpus partition")
    plan = planned_commands(work, "pretrain", "--configfile", "mine.yaml")
    # Sections it leaves out take the schema's defaults: the base recipe, not the tiny model.
    config = pretraining_config(plan)
    assert config["model"]["hidden_size"] == 768 and config["train"]["train_batch_size"] == 256
    assert len(krelectra_jobs(plan, "pretrain examples")) == 4  # corpus.num_shards: schema default


# -- each config's paper outputs have their own place ------------------------------------


def paper_output_dirs(commands: list[str]) -> tuple[str, str]:
    (tables,) = krelectra_jobs(commands, "paper tables")
    (figures,) = krelectra_jobs(commands, "paper figures")
    return tables["output-dir"][0], figures["output-dir"][0]


def test_each_config_writes_its_paper_outputs_to_its_own_place(default_plan, paper_plan):
    # The main command's target, paper/tables, is the embedded default's.
    assert paper_output_dirs(default_plan) == ("paper/tables", "paper/figures")
    assert paper_output_dirs(paper_plan) == ("results-paper/paper/tables", "results-paper/paper/figures")
    # The manuscript is typeset from that config's outputs.
    (pdf,) = krelectra_jobs(paper_plan, "paper pdf")
    assert pdf["tex"] == ["paper/main.tex"] and pdf["output"] == ["results-paper/paper/main.pdf"]
    assert pdf["tables-dir"] == ["results-paper/paper/tables"] and pdf["figures-dir"] == ["results-paper/paper/figures"]


def test_the_embedded_default_trains_on_portable_kernels_and_the_recipe_on_native_ones(default_plan, paper_plan):
    # The embedded default's scores are meant to agree across machines; the recipe's jobs
    # take each CPU's fastest kernels (README, "What is byte-identical where").
    for plan, expected in ((default_plan, "portable"), (paper_plan, "native")):
        jobs = krelectra_jobs(plan, "pretrain train") + krelectra_jobs(plan, "finetune train")
        assert jobs and {tuple(job["cpu-kernels"]) for job in jobs} == {(expected,)}


# -- config/evaluate.yaml: released encoders, no pretraining -------------------------------

# The examples config/evaluate.yaml names (the issue: the released KR-ELECTRA and KoELECTRA-v3).
RELEASED = {
    "kr-electra": "snunlp/KR-ELECTRA-discriminator",
    "koelectra-base-v3": "monologg/koelectra-base-v3-discriminator",
}
FINETUNING_AND_PAPER = {
    "finetune download",
    "finetune train",
    "finetune summarize",
    "paper uncertainty",
    "manifest write",
    "paper tables",
    "paper figures",
}


def krelectra_commands(commands: list[str]) -> set[str]:
    """`<stage> <command>` of every planned krelectra call."""
    called = set()
    for line in commands:
        tokens = shlex.split(line)
        if "krelectra" in tokens:
            start = tokens.index("krelectra")
            called.add(" ".join(tokens[start + 1 : start + 3]))
    return called


@pytest.fixture(scope="module")
def evaluate_work(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("evaluate"))


@pytest.fixture(scope="module")
def evaluate_plan(evaluate_work):
    """The jobs of the README's "evaluate your encoder" command: the default target."""
    return planned_commands(evaluate_work, "--configfile", "config/evaluate.yaml")


def test_evaluating_released_encoders_plans_no_corpus_vocabulary_pretraining_or_conversion_job(evaluate_plan):
    assert krelectra_commands(evaluate_plan) == FINETUNING_AND_PAPER
    # The paper jobs read no pretraining output: only the results and finetuning tables and
    # the finetuning and comparison figures are made.
    (tables,) = krelectra_jobs(evaluate_plan, "paper tables")
    (figures,) = krelectra_jobs(evaluate_plan, "paper figures")
    for option in ("corpus-stats", "vocab-train", "vocab-report", "model-config", "pretrain-config", "verification"):
        assert option not in tables
    assert "metrics" not in figures and "vocab-dir" not in figures and "heldout" not in figures
    assert tables["output-dir"] == ["results-evaluate/paper/tables"]


def test_evaluate_config_finetunes_the_released_encoders_with_kr_electras_hyperparameters(evaluate_plan):
    jobs = finetuning_jobs(evaluate_plan)
    # Several seeds: each task's reference seed, then 43 and 44.
    assert set(jobs) == {
        (model, task, seed)
        for model in RELEASED
        for task, spec in KR_ELECTRA_FINETUNING.items()
        for seed in (spec[-1], 43, 44)
    }
    for (model, task, seed), job in jobs.items():
        assert job["model"] == RELEASED[model], (model, task)  # the hub id, read from the Hugging Face cache
        assert job["hyperparameters"] == expected_finetuning(task), task
        used = resolve_hyperparameters(TASKS[task], job["hyperparameters"], seed)
        assert used == {**expected_finetuning(task), "seed": seed}
        assert job["data"] == "results-evaluate/finetune/data/download", task
        assert job["max-train-examples"] == "null" and job["max-eval-examples"] == "null", task
        # the harness's own choice, shown: bf16 where native, random batches (README)
        assert (job["precision"], job["train-sampling"]) == ("auto", "auto"), task
    downloads = {(job["task"][0], job["file"][0]) for job in krelectra_jobs(evaluate_plan, "finetune download")}
    assert len(downloads) == 20


def test_evaluate_config_tests_every_model_against_the_released_kr_electra(evaluate_plan):
    jobs = krelectra_jobs(evaluate_plan, "paper uncertainty")
    assert sorted(job["task"][0] for job in jobs) == sorted(KR_ELECTRA_FINETUNING)
    for job in jobs:
        task = job["task"][0]
        seeds = (KR_ELECTRA_FINETUNING[task][-1], 43, 44)
        assert sorted(job["runs"]) == sorted(
            f"results-evaluate/finetune/{model}/{task}/seed{seed}/metrics.json" for model in RELEASED for seed in seeds
        )
        assert job["reference-model"] == ["kr-electra"] and job["confidence-level"] == ["0.95"]
        assert job["resamples"] == ["1000"] and json.loads(job["protocols"][0]) == ["paper", "clean"]
    (tables,) = krelectra_jobs(evaluate_plan, "paper tables")
    assert sorted(tables["uncertainty"]) == sorted(
        f"results-evaluate/paper/uncertainty/{task}.json" for task in KR_ELECTRA_FINETUNING
    )


def test_your_encoder_is_added_on_the_command_line(evaluate_work, tmp_path):
    """README: `--config "finetune={'models': {'mine': FOLDER}}"` adds a model beside the examples."""
    folder = tmp_path / "my-encoder"
    folder.mkdir()
    plan = planned_commands(
        evaluate_work,
        "--configfile",
        "config/evaluate.yaml",
        "--config",
        f"finetune={{'models': {{'mine': '{folder}'}}}}",
    )
    jobs = finetuning_jobs(plan)
    assert {model for model, _, _ in jobs} == {"kr-electra", "koelectra-base-v3", "mine"}
    assert {job["model"] for (model, _, _), job in jobs.items() if model == "mine"} == {str(folder)}
    assert krelectra_commands(plan) == FINETUNING_AND_PAPER


def test_a_converted_model_without_a_corpus_is_refused_with_the_reason(tmp_path):
    work = copy_workflow(tmp_path)
    (work / "nocorpus.yaml").write_text("finetune:\n  data: fixtures\n", encoding="utf-8")
    result = snakemake(work, "-n", "--configfile", "nocorpus.yaml", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "config corpus: missing, but finetune.models evaluates this workflow's own model" in output
    assert "krelectra-ours: converted" in output


# -- config/public.yaml: the recipe on public data ------------------------------------------

# The public data sets' pinned files (spec public-corpus.md): URL and git blob SHA-1.
HATE_SPEECH = "https://raw.githubusercontent.com/kocohub/korean-hate-speech/f8d05dce2b22007bb149e5139c0060c68ad8f94b"
BAB2MIN = "https://raw.githubusercontent.com/bab2min/corpus/62f3097b6c6974cecda5571f2cd2b64aa3b7f01e"
PUBLIC_GITHUB_FILES = {
    f"{HATE_SPEECH}/unlabeled/unlabeled_comments_1.txt": "67f65966c71da0a12a38c1e583a18a71230b9064",
    f"{HATE_SPEECH}/unlabeled/unlabeled_comments_2.txt": "300e2b1d86c104d16a9dd8bd9658ce1318bb93e6",
    f"{HATE_SPEECH}/unlabeled/unlabeled_comments_3.txt": "bc7093d383eaab2979caa6c3f1a75c72a9df3e91",
    f"{HATE_SPEECH}/unlabeled/unlabeled_comments_4.txt": "54adbac768bdf00985c177ecc762a194daa717b7",
    f"{HATE_SPEECH}/unlabeled/unlabeled_comments_5.txt": "0b68bd07ce849b933f6a67d4cf07c1eefcb623bb",
    f"{BAB2MIN}/sentiment/naver_shopping.txt": "25afff322fd86ee54d7813acedafe4990d83b18c",
    f"{BAB2MIN}/sentiment/steam.txt": "358da9142ab212ed3018e5bf53d099a166a31395",
}


@pytest.fixture(scope="module")
def public_plan(tmp_path_factory):
    """The jobs of the public recipe's tables, figures and manuscript."""
    work = copy_workflow(tmp_path_factory.mktemp("public"))
    return planned_commands(work, "paper_tables", "paper_figures", "paper_pdf", "--configfile", "config/public.yaml")


def test_public_recipe_downloads_every_pinned_file_and_the_dumps_of_its_date(public_plan):
    downloads = {job["url"][0]: job for job in krelectra_jobs(public_plan, "corpus download")}
    github = {url: job["git-blob-sha1"][0] for url, job in downloads.items() if "git-blob-sha1" in job}
    assert github == PUBLIC_GITHUB_FILES
    # File 5's size is known (3,569,176 bytes) and checked too.
    assert downloads[f"{HATE_SPEECH}/unlabeled/unlabeled_comments_5.txt"]["bytes"] == ["3569176"]
    dumps = {url: job for url, job in downloads.items() if "git-blob-sha1" not in job}
    expected = set()
    for project in ("kowiki", "kowikisource", "kowikinews"):
        folder = f"https://dumps.wikimedia.org/{project}/{{date}}/{project}-{{date}}"
        for date in {job["wikimedia-dump"][0] for job in dumps.values()}:
            expected |= {
                folder.format(date=date) + "-pages-articles.xml.bz2",
                folder.format(date=date) + "-sha1sums.txt",
            }
    assert set(dumps) == expected and len(expected) == 6  # one dump date for the three projects
    for url, job in dumps.items():
        if url.endswith(".xml.bz2"):  # verified against its folder's checksum list
            assert job["checksums"][0].endswith(url.rsplit("/", 1)[1].replace("pages-articles.xml.bz2", "sha1sums.txt"))


def test_public_recipe_plans_every_stage_with_the_published_settings(public_plan, paper_plan):
    # Downloads, extraction, corpus, vocabulary, pretraining, conversion, finetuning, paper.
    assert krelectra_commands(public_plan) == krelectra_commands(paper_plan) | {
        "corpus download",
        "corpus extract-wiki",
        "corpus extract-column",
    }
    assert len(krelectra_jobs(public_plan, "corpus extract-wiki")) == 3
    assert len(krelectra_jobs(public_plan, "corpus extract-column")) == 2  # the two review files
    # The published recipe's vocabulary, pretraining and finetuning (checked above for
    # config/paper.yaml against the spec): the same on public data.
    ((public_vocab,), (paper_vocab,)) = (krelectra_jobs(plan, "vocab train") for plan in (public_plan, paper_plan))
    for option in ("size", "min-frequency", "alphabet"):
        assert public_vocab[option] == paper_vocab[option], option
    assert pretraining_config(public_plan) == pretraining_config(paper_plan)
    jobs = finetuning_jobs(public_plan)
    assert set(jobs) == {("krelectra-ours", task, spec[-1]) for task, spec in KR_ELECTRA_FINETUNING.items()}
    for (_model, task, _seed), job in jobs.items():
        assert job["hyperparameters"] == expected_finetuning(task), task
        assert job["data"] == "results-public/finetune/data/download", task
    # The five registers of the seed: written Wikipedia, legal texts, news; spoken comments, reviews.
    partitions = {
        job["name"][0]: (job["register"][0], job["documents"][0])
        for job in krelectra_jobs(public_plan, "corpus partition")
    }
    assert partitions == {
        "wikipedia": ("written", "paragraph"),
        "legal": ("written", "paragraph"),
        "news": ("written", "paragraph"),
        "comments": ("spoken", "line"),
        "reviews": ("spoken", "line"),
    }
    (dedup,) = krelectra_jobs(public_plan, "corpus dedup")
    assert dedup["spoken-ratio"] == ["0.5"]  # the recipe's balance
