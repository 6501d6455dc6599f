"""`cpu_kernels`: portable pins TensorFlow's and PyTorch's CPU kernels to AVX2 + FMA, so
that a run does not depend on which kernels the machine's libraries would pick."""

import hashlib
import json
import os
import subprocess
import sys

import pytest
from builders import FAST, RUN_CONFIG, make_tiny_model, write_synthetic_data

from krelectra import kernels
from krelectra.errors import KrelectraError

AVX2_CPU = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n"
AMX_CPU = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma avx512f avx512_bf16 amx_bf16\n"
# The variables portable sets (typed from the libraries' documentation, not read from the module).
EXPECTED = {
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "AVX2",
    "OPENBLAS_CORETYPE": "Haswell",  # OpenBLAS's AVX2 + FMA kernels (its README: OPENBLAS_CORETYPE)
}
# XLA's CPU code generation at most AVX2 (XLA's flag documentation: --xla_cpu_max_isa).
XLA_FLAG = "--xla_cpu_max_isa=AVX2"


@pytest.fixture
def fresh_process(monkeypatch):
    """This process as if TensorFlow and PyTorch were not loaded yet, with none of the
    variables set."""
    for name in ("tensorflow", "torch"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    for name in [*EXPECTED, "XLA_FLAGS"]:  # set first, so that monkeypatch restores them however the test leaves them
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return monkeypatch


def test_portable_sets_the_avx2_kernel_variables(fresh_process, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(AVX2_CPU)
    fresh_process.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")  # what a user may have set
    assert kernels.use("portable", cpuinfo) == {**EXPECTED, "XLA_FLAGS": XLA_FLAG}
    assert {name: os.environ[name] for name in EXPECTED} == EXPECTED
    assert os.environ["XLA_FLAGS"] == XLA_FLAG
    assert kernels.portable_active()


def test_portable_adds_its_xla_flag_to_the_users_and_replaces_another_max_isa(fresh_process, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(AVX2_CPU)
    fresh_process.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false --xla_cpu_max_isa=AVX512")
    assert not kernels.portable_active()
    kernels.use("portable", cpuinfo)
    assert os.environ["XLA_FLAGS"].split() == ["--xla_cpu_enable_fast_math=false", XLA_FLAG]
    assert kernels.portable_active()


def test_native_leaves_the_libraries_choice(fresh_process):
    assert kernels.use("native") == {}
    assert not any(name in os.environ for name in [*EXPECTED, "XLA_FLAGS"])
    assert not kernels.portable_active()


@pytest.mark.parametrize(
    ("cpuinfo_text", "error"),
    [
        ("processor\t: 0\nflags\t\t: fpu sse2 avx\n", r"lacks avx2, fma"),
        ("processor\t: 0\n", r"gives no CPU flags"),
    ],
)
def test_portable_refuses_cpus_without_the_kernels_it_pins(fresh_process, tmp_path, cpuinfo_text, error):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(cpuinfo_text)
    with pytest.raises(KrelectraError, match=error):
        kernels.use("portable", cpuinfo)
    with pytest.raises(KrelectraError, match="gives no CPU flags"):
        kernels.use("portable", tmp_path / "missing")


def test_portable_after_the_libraries_loaded_is_refused(fresh_process, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(AVX2_CPU)
    fresh_process.setitem(sys.modules, "torch", object())
    with pytest.raises(KrelectraError, match="before torch is imported"):
        kernels.use("portable", cpuinfo)
    with pytest.raises(KrelectraError, match="'fast' is not one of portable, native"):
        kernels.use("fast", cpuinfo)


def test_portable_turns_automatic_bfloat16_off(fresh_process, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(AMX_CPU)
    assert kernels.cpu_has_bf16(cpuinfo)
    kernels.use("portable", cpuinfo)
    assert not kernels.cpu_has_bf16(cpuinfo), "oneDNN capped at AVX2 cannot use AMX"


# -- a real run: the kernels the environment would pick do not reach a portable run -----


def pretrain_checkpoint(examples, work, cpu_kernels: str, env: dict) -> str:
    # float32 in both runs: this is about kernel choice. (With `auto`, a native run on a CPU
    # with AVX512-BF16 or AMX trains in bfloat16, which oneDNN capped at SSE4.1 cannot
    # multiply: the stand-in machine would be one that no real CPU is.)
    config = {**RUN_CONFIG, "mixed_precision": False, "train": {**RUN_CONFIG["train"], "num_train_steps": 10}}
    command = [sys.executable, "-m", "krelectra", "pretrain", "train", "--no-progress", "--threads", "2"]
    command += ["--vocab-dir", str(examples["vocab"]), "--work-dir", str(work), "--config", json.dumps(config)]
    command += ["--train", *map(str, examples["train"]), "--eval", *map(str, examples["eval"])]
    command += ["--cpu-kernels", cpu_kernels]
    environ = {k: v for k, v in os.environ.items() if k not in EXPECTED} | env
    result = subprocess.run(command, env=environ, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    data = (work / "final" / "model.ckpt.data-00000-of-00001").read_bytes()
    return hashlib.sha256(data).hexdigest()


@pytest.mark.slow
def test_a_portable_run_ignores_the_kernels_this_machine_would_pick(pretrain_examples, tmp_path):
    # ONEDNN_MAX_CPU_ISA=SSE41 stands in for a machine whose oneDNN would choose other
    # kernels than AVX2 ones (it changes the checkpoint: the native run below).
    other_machine = {"ONEDNN_MAX_CPU_ISA": "SSE41"}
    portable = pretrain_checkpoint(pretrain_examples, tmp_path / "portable", "portable", {})
    portable_there = pretrain_checkpoint(pretrain_examples, tmp_path / "portable-there", "portable", other_machine)
    native_there = pretrain_checkpoint(pretrain_examples, tmp_path / "native-there", "native", other_machine)
    assert portable_there == portable
    assert native_there != portable, "the stand-in machine computes differently without the pins"


@pytest.mark.slow
def test_a_portable_finetuning_run_records_the_pinned_pytorch_kernels(tmp_path):
    (tmp_path / "model").mkdir()
    model = make_tiny_model(tmp_path / "model")
    data = write_synthetic_data(tmp_path / "data", n_train=32, n_test=16)
    command = [sys.executable, "-m", "krelectra", "finetune", "train", "--task", "nsmc", "--seed", "1"]
    command += ["--model", str(model), "--data", str(data), "--threads", "1", "--output-dir", str(tmp_path / "out")]
    # 29 training examples: 2 steps, a save point at each
    hyper = dict(FAST, num_train_epochs=1, save_steps=1)
    command += ["--hyperparameters", json.dumps(hyper), "--cpu-kernels", "portable"]
    # ATEN_CPU_CAPABILITY=default stands in for a machine whose PyTorch would pick other kernels.
    environ = {k: v for k, v in os.environ.items() if k not in EXPECTED} | {"ATEN_CPU_CAPABILITY": "default"}
    result = subprocess.run(command, env=environ, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    environment = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))["environment"]
    assert (environment["cpu_kernels"], environment["torch_cpu_capability"]) == ("portable", "AVX2")
