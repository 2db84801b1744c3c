"""One numeric code path on every x86-64 CPU (scale.numerics): the same bits whatever the libraries detect."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import torch
import yaml

from scale import numerics

from conftest import first_records, model_tensors

REPO = Path(__file__).resolve().parents[1]
AVX2_FLAGS = frozenset({"fpu", "sse2", "avx", "avx2", "fma", "f16c"})
# another CPU's dispatch, told through each library's own switch: each value changes this machine's bits
# unpinned (ATen's generic kernels; oneDNN's SSE4.1 convolutions; MKL's SSE2 branch, the one branch other than
# its automatic choice that MKL takes on an AMD CPU), so a library missing from the pin fails the test below
ANOTHER_CPU = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "MKL_CBWR": "COMPATIBLE"}


@pytest.mark.parametrize("code_path, mkl", [("avx2", "AVX2"), ("portable", "COMPATIBLE")])
def test_an_avx2_cpu_is_pinned_to_aten_and_onednns_avx2_kernels_and_one_mkl_branch(code_path, mkl):
    variables, reason = numerics.pinned_environment(code_path, machine="x86_64", flags=AVX2_FLAGS)
    assert reason is None
    assert variables == {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": mkl}


@pytest.mark.parametrize("machine, flags, named", [
    ("x86_64", AVX2_FLAGS - {"fma"}, "fma"),
    ("x86_64", frozenset({"sse2", "avx"}), "avx2, fma"),
    ("aarch64", frozenset(), "aarch64"),
])
def test_a_cpu_without_the_path_runs_unpinned_and_says_why(machine, flags, named):
    variables, reason = numerics.pinned_environment("avx2", machine=machine, flags=flags)
    assert variables == {} and named in reason


def test_native_pins_nothing_and_an_unknown_path_is_an_error():
    assert numerics.pinned_environment("native", machine="x86_64", flags=AVX2_FLAGS) == ({}, None)
    with pytest.raises(ValueError, match="cpu_code_path"):
        numerics.pinned_environment("avx512")


@pytest.mark.skipif(numerics.pinned_environment("avx2")[1] is not None, reason="this CPU cannot take the pin")
@pytest.mark.parametrize("code_path", ["avx2", "portable"])
def test_each_code_path_exports_its_variables_over_what_the_caller_told_the_libraries(code_path):
    expected, _ = numerics.pinned_environment(code_path)
    environment = {k: v for k, v in os.environ.items() if k not in ANOTHER_CPU} | ANOTHER_CPU
    environment["PYTHONPATH"] = str(REPO)
    shown = subprocess.run(["bash", "-c", numerics.job_prefix(code_path) + "env"], env=environment,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert {line.split("=", 1)[0]: line.split("=", 1)[1] for line in shown if line.split("=", 1)[0] in ANOTHER_CPU} == (
        expected)


def test_the_default_is_the_path_every_vendor_shares_and_the_configs_the_tests_run_take_the_test_processes():
    """A user's run gets portable (one Table 1 on Intel and AMD); every config the suite runs jobs from takes the
    path conftest pins the test processes to, so a stand-in a test builds is the one a job reuses."""
    from conftest import CPU_CODE_PATH

    schema = yaml.safe_load((REPO / "scale" / "schemas" / "config.schema.yaml").read_text())
    assert numerics.DEFAULT == "portable" == schema["properties"]["numerics"]["properties"]["cpu_code_path"]["default"]
    assert "numerics" not in yaml.safe_load((REPO / "config.yaml").read_text())  # the default config takes it
    for name in ("ci", "text_ci", "text_smollm2_ci", "rehearsal", "text_rehearsal"):
        assert yaml.safe_load((REPO / "configs" / f"{name}.yaml").read_text())["numerics"] == {
            "cpu_code_path": CPU_CODE_PATH}, name


def test_cpu_flags_are_read_from_the_first_processor(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert numerics.cpu_flags(cpuinfo) == {"fpu", "sse2", "avx2", "fma"}
    assert numerics.cpu_flags(tmp_path / "absent") == frozenset()


def test_a_bad_code_path_stops_the_dry_run(tmp_path):
    import yaml

    config = yaml.safe_load((REPO / "configs" / "ci.yaml").read_text())
    config["numerics"] = {"cpu_code_path": "avx512"}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run(["snakemake", "-n", "--snakefile", str(REPO / "Snakefile"), "--configfile", str(path),
                             "--directory", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode != 0 and "numerics/cpu_code_path" in result.stdout + result.stderr


# one SFT step (the vision tower's convolution, the language model's matmuls, norms and softmax, AdamW) and a
# greedy evaluation of what it trained, in one fresh process started as a rule's job is
STEP_AND_EVALUATE = """
import sys
from scale.eval.generate import evaluate
from scale.train.driver import train_sft
model, train, test, out = sys.argv[1:]
train_sft(model, train, out, loss="scale", training={"max_steps": 1, "per_device_train_batch_size": 4,
          "learning_rate": 1e-2, "logging_steps": 1, "save_steps": 1000, "max_length": 512, "disable_tqdm": True})
evaluate(out + "/model", test, out + "/predictions.jsonl", batch_size=4, max_new_tokens=24, limit=4)
"""


@pytest.fixture(scope="module")
def step_inputs(tiny_models, synthetic_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("numerics")
    train = first_records(synthetic_dir, "iconqa", 4, root)
    return tiny_models["gemma3"], train, synthetic_dir / "iconqa" / "test.jsonl"


def step_as_a_job(inputs, out: Path, code_path: str, told: dict) -> tuple[dict, bytes]:
    """The step under the rules' prefix for ``code_path``, its environment first set as ``told``; its trained
    weights and its predictions."""
    model, train, test = inputs
    environment = {k: v for k, v in os.environ.items() if k not in ANOTHER_CPU} | told
    environment |= {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    command = numerics.job_prefix(code_path) + 'python -c "$0" "$@"'
    result = subprocess.run(["bash", "-c", command, STEP_AND_EVALUATE, str(model), str(train), str(test), str(out)],
                            env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    predictions = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(predictions) == 4
    return model_tensors(out / "model"), (out / "predictions.jsonl").read_bytes()


def differing(a: dict, b: dict) -> list[str]:
    """The tensors whose bits differ between two saved models of the same layout."""
    assert a.keys() == b.keys()
    return [name for name in a if not torch.equal(a[name], b[name])]


@pytest.mark.skipif(numerics.pinned_environment("avx2")[1] is not None, reason="this CPU cannot take the pin")
def test_the_pin_gives_the_same_bits_whatever_the_libraries_are_told_and_native_does_not(step_inputs, tmp_path):
    # avx2 only: portable pins ATen and oneDNN as avx2 does, and MKL to COMPATIBLE, which ANOTHER_CPU tells MKL
    # anyway, so a portable pair would repeat this one (test_each_code_path_exports_its_variables covers its words)
    pinned = step_as_a_job(step_inputs, tmp_path / "avx2", "avx2", {})
    elsewhere = step_as_a_job(step_inputs, tmp_path / "avx2_elsewhere", "avx2", ANOTHER_CPU)
    assert differing(pinned[0], model_tensors(step_inputs[0])), "the step moved no weight"
    assert differing(pinned[0], elsewhere[0]) == [] and pinned[1] == elsewhere[1]

    native = step_as_a_job(step_inputs, tmp_path / "native", "native", {})
    native_elsewhere = step_as_a_job(step_inputs, tmp_path / "native_elsewhere", "native", ANOTHER_CPU)
    assert differing(native[0], native_elsewhere[0]), "unpinned, the libraries' dispatch changed nothing"
