"""Defects only the paper config meets, each pinned by a test: envs, hub fetches, settings, templates, prompts."""

import re
import sys
from pathlib import Path

import pytest
import torch
import yaml

from scale.config import ConfigError, load_config, validate_config

REPO = Path(__file__).resolve().parents[1]
FAMILIES = ("qwen2_5_vl", "gemma3", "llava_next")


# --- conda envs: Snakemake creates each from a copy at .snakemake/conda/<hash>.yaml -----------------

def pip_paths(env: dict) -> list[str]:
    """Every pip requirement of an env file that is a path (editable installs, local folders, file: URLs)."""
    found = []
    for dependency in env["dependencies"]:
        if isinstance(dependency, dict):
            for requirement in dependency.get("pip", []):
                text = re.sub(r"^-e\s+", "", requirement.strip())
                if text.startswith((".", "/", "file:")) or requirement.strip().startswith("-e"):
                    found.append(text)
    return found


@pytest.mark.parametrize("env_file", sorted((REPO / "envs").glob("*.yaml")), ids=lambda p: p.stem)
def test_no_env_file_points_at_the_project_from_where_snakemake_creates_it(env_file, tmp_path):
    copy = tmp_path / ".snakemake" / "conda" / "0123abcd.yaml"  # where conda reads it (snakemake create_env)
    copy.parent.mkdir(parents=True)
    copy.write_text(env_file.read_text())
    for path in pip_paths(yaml.safe_load(copy.read_text())):
        resolved = (copy.parent / path.removeprefix("file:")).resolve()
        assert (resolved / "pyproject.toml").is_file(), f"{env_file.name}: {path} resolves to {resolved}"


def test_every_job_imports_scale_from_this_checkout_and_runs_with_the_hub_offline(tmp_path):
    import subprocess

    # a real job: its command sees the checkout on PYTHONPATH, `scale` as the module, the hub offline
    rule = "rule probe:\n    output: 'probe.txt'\n    shell: 'type scale > {output}; python -c \"import os, scale; " \
           "print(scale.__file__, os.environ[\\'HF_HUB_OFFLINE\\'])\" >> {output}; " \
           "hub_online python -c \"import os; print(\\'fetch\\', os.environ[\\'HF_HUB_OFFLINE\\'], " \
           "os.environ[\\'HF_DATASETS_OFFLINE\\'])\" >> {output}'\n"
    workflow = REPO / "rules" / "common.smk"
    snakefile = tmp_path / "probe.smk"
    snakefile.write_text(f"configfile: '{REPO}/configs/ci.yaml'\ninclude: '{workflow}'\n{rule}")
    result = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(snakefile), "--cores", "1", "--directory",
                             str(tmp_path), "--workflow-profile", "none", "probe.txt"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    found = (tmp_path / "probe.txt").read_text()
    assert "python -m scale.cli" in found, found
    assert f"{REPO}/scale/__init__.py 1" in found, found
    assert "fetch 0 0" in found, found  # the fetch rules' hub_online, and only theirs


def test_a_launcher_config_file_is_found_from_any_working_directory():
    from scale.launch import resolve_launcher

    launcher = "accelerate launch --config_file configs/accelerate/zero2.yaml -m scale.cli"
    resolved = resolve_launcher(launcher, REPO)
    assert resolved == f"accelerate launch --config_file {REPO}/configs/accelerate/zero2.yaml -m scale.cli"
    assert resolve_launcher(resolved, "/elsewhere") == resolved and resolve_launcher("scale", REPO) == "scale"


def test_a_named_environment_comes_first_on_path_and_keeps_its_compiled_ops_inside_itself(tmp_path):
    """Two environments sharing torch's op cache rebuild each other's DeepSpeed op (other include paths under
    one op name): the rehearsal's vLLM environment and the test one did, about a minute each switch."""
    import subprocess

    from scale.launch import software_env

    venv = tmp_path / "my env"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    words = software_env({"software_envs": {"grpo": str(venv)}}, "grpo", REPO)
    shown = subprocess.run(["bash", "-c", words + 'echo "${PATH%%:*}|$TORCH_EXTENSIONS_DIR"'], capture_output=True,
                           text=True, check=True).stdout.strip()
    assert shown == f"{venv / 'bin'}|{venv / 'torch_extensions'}"
    assert software_env({}, "grpo", REPO) == ""


def test_the_papers_launchers_start_without_importing_accelerates_other_commands():
    """Each paper config's launcher, its Python part started as the job's shell starts it: Accelerate's launch
    module alone. The `accelerate` command imports all its subcommands first (estimate-memory's timm and
    transformers' models), about 6 s a training job where timm is installed, as lmms-eval installs it here."""
    import shlex
    import subprocess

    launchers = {yaml.safe_load((REPO / "configs" / config).read_text())[stage]["launcher"]
                 for config in ("paper.yaml", "text_paper.yaml") for stage in ("sft", "grpo")}
    for words in {tuple(shlex.split(launcher)[:3]) for launcher in launchers}:
        assert words[:2] == ("python", "-m"), words
        result = subprocess.run([sys.executable, "-X", "importtime", "-m", words[2], "--help"], capture_output=True,
                                text=True)
        assert result.returncode == 0 and "--config_file" in result.stdout, result.stderr[-2000:]
        imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()
                    if line.startswith("import time")}
        assert not {"timm", "accelerate.commands.estimate", "accelerate.commands.accelerate_cli"} & imported


# --- hub fetches on the login node ----------------------------------------------------------------

def test_paper_jobs_read_checkpoints_fetched_on_the_login_node():
    from test_workflow import snakemake

    plan = snakemake("-n", "--printshellcmds", "--configfile", "configs/paper.yaml").stdout
    assert re.search(r"^rule fetch_checkpoint:", plan, re.MULTILINE)
    assert re.search(r"^rule fetch_test_set:", plan, re.MULTILINE)
    for hub_id in ("Qwen/Qwen2.5-VL-3B-Instruct", "google/gemma-3-4b-it", "llava-hf/llava-v1.6-mistral-7b-hf"):
        for line in plan.splitlines():
            if hub_id in line and "--model-dir" in line:
                raise AssertionError(f"a compute job reads {hub_id} from the hub: {line}")
    assert re.search(r"train-sft --model-dir results/paper/hub/checkpoints/qwen2\.5_vl_3b ", plan)
    assert f"--config_file {REPO}/configs/accelerate/zero2.yaml" in plan


def test_an_unlabelled_iconqa_split_stops_before_anything_is_written(tmp_path):
    import datasets
    from PIL import Image

    from scale.data.test_sets import UnlabelledTestSetError, convert_test_set

    rows = datasets.Dataset.from_dict({
        "question_id": ["1", "2"], "question": ["How many?", "Which?"], "choices": ["", "a,b"],
        "answer": ["3", ""], "ques_type": ["fill_in_blank", "choose_txt"],
        "query_image": [Image.new("RGB", (8, 8)), Image.new("RGB", (8, 8))],
    })
    with pytest.raises(UnlabelledTestSetError, match="1 of 2 IconQA test rows have no gold answer.*iconqa.github.io"):
        convert_test_set("iconqa", rows, tmp_path)
    assert not (tmp_path / "test.jsonl").exists()


def test_test_sets_reach_the_converter_from_their_saved_folder(tmp_path):
    from scale.data.test_sets import convert_test_set, load_rows
    from scale.hub import fetch_test_set

    fetch_test_set("scienceqa", {"source": "lmms-lab/ScienceQA"}, tmp_path / "saved", stand_in={"rows": 4})
    report = convert_test_set("scienceqa", load_rows(tmp_path / "saved"), tmp_path / "out")
    assert report["rows"] == 4 and report["kept"] == 3 and report["skipped"] == {"no_image": 1}
    with pytest.raises(FileNotFoundError, match="fetch_test_set"):
        load_rows(tmp_path / "nothing")


# --- every training setting checked at dry-run time -----------------------------------------------

BAD_SETTINGS = [
    (("sft", "training", "warmup_ratio"), 0.05, "sft/training/warmup_ratio.*warmup_steps"),
    (("sft", "training", "learning_rate"), "1e-4", "sft/training/learning_rate.*str"),
    (("grpo", "training", "num_generation"), 4, "grpo/training/num_generation.*num_generations"),
    (("grpo", "training", "bf16"), "yes", "grpo/training/bf16"),
    (("sft", "lora"), {"rank": 8}, "sft/lora/rank"),
    (("variants", "scale_sft", "w_think"), {"start": "two", "end": 1.0}, "variants/scale_sft/w_think/start"),
    (("variants", "scale_sft", "w_think"), {"start": 2.0, "end": 1.0, "kind": "linear"}, "variants/scale_sft/w_think"),
    (("variants", "scale_sft", "w_think"), {"start": 2.0, "end": -1.0}, "variants/scale_sft/w_think.*>= 0"),
    (("variants", "scale_sft", "w_answer"), -0.5, "variants/scale_sft/w_answer.*>= 0"),
    (("variants", "sft_fw", "w_think"), float("nan"), "variants/sft_fw/w_think.*finite"),
    (("variants", "sft_fw", "w_think"), {"start": 2.0, "end": 1.0}, "variants/sft_fw/w_think: the fixed-weight loss"),
    (("grpo", "rewards", "w_format"), -1.0, "grpo/rewards/w_format"),
    (("variants", "dft_sft", "w_think"), 2.0, "variants/dft_sft/w_think: loss 'dft' has no segments"),
    (("variants", "sample_sft", "loss"), "samples", "variants/sample_sft/loss"),
]


def set_key(config: dict, path: tuple, value) -> dict:
    node = config
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
    return config


@pytest.mark.parametrize("path,value,message", BAD_SETTINGS,
                         ids=lambda v: "/".join(v) if isinstance(v, tuple) else None)
@pytest.mark.parametrize("config_file", ["config.yaml", "configs/ci.yaml", "configs/paper.yaml"])
def test_a_bad_training_setting_is_named_by_validation(config_file, path, value, message):
    config = set_key(yaml.safe_load((REPO / config_file).read_text()), path, value)
    with pytest.raises(ConfigError, match=message):
        validate_config(config)


def test_a_bad_training_setting_stops_a_dry_run_naming_the_key(tmp_path):
    from test_workflow import snakemake

    config = yaml.safe_load((REPO / "configs" / "paper.yaml").read_text())
    config["grpo"]["training"]["max_completion_lenght"] = 512
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = snakemake("-n", "--configfile", str(path), check=False)
    assert result.returncode != 0
    assert "grpo/training/max_completion_lenght" in result.stdout + result.stderr


DRY_RUN_STOPS = [
    (("sft", "launcher"), "accelerate launch --config_file configs/accelerate/zero3.yaml -m scale.cli",
     r"sft/launcher.*configs/accelerate/zero3\.yaml does not exist"),
    (("grpo", "launcher"), "accelerate launch --config_file {named} -m scale.cli",
     r"grpo/launcher.*deepspeed_config_file ds_missing\.json, which does not exist"),
    (("variants", "scale_sft", "w_think"), {"start": -2.0, "end": 1.0}, r"variants/scale_sft/w_think.*>= 0"),
]


@pytest.mark.parametrize("path,value,message", DRY_RUN_STOPS, ids=["missing-launcher-config", "missing-named-file",
                                                                   "negative-weight"])
def test_a_dry_run_of_the_paper_config_stops_naming_what_is_wrong(tmp_path, path, value, message):
    from test_workflow import snakemake

    named = tmp_path / "names_a_missing_file.yaml"  # an Accelerate config naming a DeepSpeed JSON that is not there
    named.write_text(yaml.safe_dump({"distributed_type": "DEEPSPEED",
                                     "deepspeed_config": {"deepspeed_config_file": "ds_missing.json"}}))
    value = value.replace("{named}", str(named)) if isinstance(value, str) else value
    config = set_key(yaml.safe_load((REPO / "configs" / "paper.yaml").read_text()), path, value)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    result = snakemake("-n", "--configfile", str(bad), "--directory", str(tmp_path), check=False)
    assert result.returncode != 0
    assert re.search(message, result.stdout + result.stderr), (result.stdout + result.stderr)[-2000:]


def test_every_shipped_config_passes_the_settings_check():
    for config_file in ("config.yaml", "configs/ci.yaml", "configs/paper.yaml"):
        load_config(REPO / config_file)


def test_the_paper_config_names_the_grpo_objective_it_means():
    from scale.config import grpo_spec
    from scale.train.driver import grpo_config

    config = load_config(REPO / "configs" / "paper.yaml")
    training = dict(grpo_spec(config, "grpo")["training"], bf16=False, use_cpu=True)
    assert grpo_config("/tmp/unused", training, {}, seed=0, use_vllm=False).loss_type == "grpo"


@pytest.mark.parametrize("config_file, expected", [("config.yaml", False), ("configs/paper.yaml", True)])
def test_activation_recomputation_is_the_configs_choice_not_trls_default(tmp_path, config_file, expected):
    """TRL turns gradient checkpointing on; the tiny default turns it off (it only recomputes there, ~30%
    of a step), the paper keeps it for memory. Every trainer of the config must get its choice."""
    from scale.config import grpo_spec, sft_spec
    from scale.train.driver import grpo_config, sft_config

    config = load_config(REPO / config_file)
    cpu = dict(bf16=False, use_cpu=True)
    args = [sft_config(tmp_path, dict(sft_spec(config, "scale_sft")["training"], **cpu), 0),
            grpo_config(tmp_path, dict(grpo_spec(config, "grpo")["training"], **cpu), {}, seed=0, use_vllm=False)]
    if "warmup" in config.get("base", {}):
        args.append(sft_config(tmp_path, dict(config["base"]["warmup"], **cpu), 0))
    assert [a.gradient_checkpointing for a in args] == [expected] * len(args)


# --- stock chat templates: the real checkpoints' templates carry no generation markers ----------

@pytest.mark.parametrize("family", FAMILIES)
def test_stand_ins_carry_the_stock_template_byte_for_byte(stand_ins, family):
    from importlib import resources

    from scale.models.families import load_processor

    stock = resources.files("trl").joinpath("chat_templates", f"{family}.jinja").read_text()
    assert load_processor(stand_ins[family]).chat_template == stock
    assert "{% generation %}" not in stock and "{%- generation" not in stock


@pytest.mark.parametrize("family", FAMILIES)
def test_stand_ins_store_the_weight_names_of_the_hub_checkpoint(stand_ins, family):
    from conftest import hub_layout, model_tensors, weight_groups

    assert weight_groups(model_tensors(stand_ins[family])) == hub_layout(family)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_stand_in_loads_through_transformers_conversion_and_saves_the_hub_names_back(stand_ins, family, tmp_path):
    from scale.models.families import load_model

    from conftest import model_tensors

    model, info = load_model(stand_ins[family], output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
    stored = model_tensors(stand_ins[family])
    if family != "qwen2_5_vl":  # the towers' module names have no vision_model level: the load renamed them
        assert any(k.startswith("vision_tower.vision_model.") for k in stored)
        assert not any(".vision_model." in name for name, _ in model.named_parameters())
    model.save_pretrained(tmp_path / "saved")
    saved = model_tensors(tmp_path / "saved")
    assert saved.keys() == stored.keys() and all(torch.equal(saved[k], stored[k]) for k in stored)


def test_the_gemma3_stand_in_holds_newline_runs_as_single_tokens_as_vllm_looks_them_up(stand_ins):
    from PIL import Image

    from scale.models.families import load_processor

    processor = load_processor(stand_ins["gemma3"])
    vocab = processor.tokenizer.get_vocab()
    newlines = [vocab["\n" * n] for n in range(1, 5)]  # what vLLM's Gemma 3 processor reads by string
    assert len(set(newlines)) == 4
    picture = Image.new("RGB", (84, 84), "red")
    expanded = processor(text=["<start_of_image>"], images=[[picture]], add_special_tokens=False)["input_ids"][0]
    assert expanded[0] == vocab["\n\n"] and expanded[-1] == vocab["\n\n"]  # "\n\n<start_of_image>…<end_of_image>\n\n"


@pytest.mark.parametrize("family", FAMILIES)
def test_stand_in_text_heads_have_a_size_vllms_cpu_attention_takes(stand_ins, family):
    from transformers import AutoConfig

    text = AutoConfig.from_pretrained(stand_ins[family]).get_text_config()
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    assert head_dim in (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)


def one_sample(synthetic_dir):
    from scale.data.records import load_image, read_items
    from scale.prompts import training_messages

    record, data_dir = read_items(synthetic_dir / "scienceqa" / "train.jsonl")[0]
    return record, {"messages": training_messages(record), "images": [load_image(record, data_dir)]}


@pytest.mark.parametrize("family", FAMILIES)
def test_a_stock_template_trains_on_exactly_the_response_tokens(stand_ins, synthetic_dir, family):
    from scale.models.families import load_processor
    from scale.segments import Segment
    from scale.train.collate import SegmentCollator, response_segments, training_chat_template

    processor = load_processor(stand_ins[family])
    record, example = one_sample(synthetic_dir)
    stock = SegmentCollator(processor=processor, assistant_only_loss=True)([dict(example)])
    assert (stock["labels"] == -100).all()  # the defect: without markers nothing is trained on

    template = training_chat_template(processor)
    batch = SegmentCollator(processor=processor, assistant_only_loss=True, chat_template=template)([dict(example)])
    labelled = batch["labels"][0] != -100
    response_ids, _ = response_segments(processor, example["messages"], template)
    end = int(batch["attention_mask"][0].nonzero().max()) + 1
    assert int(labelled.sum()) > 0
    assert labelled[end - len(response_ids):end].sum() >= len(response_ids) - 1  # the response, end of turn incl.
    assert not labelled[: end - len(response_ids)].any()  # never the prompt or the image
    assert (batch["segments"][0][labelled] != int(Segment.IGNORE)).all()


def test_a_template_trl_cannot_mark_is_refused(stand_ins):
    from scale.models.families import load_processor
    from scale.train.collate import ChatTemplateError, training_chat_template

    processor = load_processor(stand_ins["qwen2_5_vl"])
    processor.chat_template = processor.chat_template.replace("helpful", "useful")
    with pytest.raises(ChatTemplateError, match="generation"):
        training_chat_template(processor)


def test_a_global_batch_without_target_tokens_stops_training(stand_ins, synthetic_dir, tmp_path):
    from scale.data.records import read_items
    from scale.models.families import load_model, load_processor
    from scale.prompts import training_messages
    from scale.train import runs
    from scale.train.collate import SegmentCollator
    from scale.train.driver import sft_config
    from scale.train.sft import NoTargetTokensError, ScaleSFTTrainer

    items = read_items(synthetic_dir / "scienceqa" / "train.jsonl")[:4]
    processor = load_processor(stand_ins["gemma3"])
    dataset = runs.conversation_dataset([r for r, _ in items], runs.load_images(items), training_messages)
    collator = SegmentCollator(processor=processor, assistant_only_loss=True)  # the stock template, unmarked
    args = sft_config(tmp_path / "run", {"max_steps": 1, "per_device_train_batch_size": 2, "disable_tqdm": True}, 0)
    trainer = ScaleSFTTrainer(model=load_model(stand_ins["gemma3"], dtype=torch.float32), args=args,
                              train_dataset=dataset, processing_class=processor, data_collator=collator)
    with pytest.raises(NoTargetTokensError, match="no response token carries a label"):
        trainer.train()


# --- training prompts match test prompts ----------------------------------------------------------

def test_a_training_and_a_test_record_of_one_question_render_one_prompt(tmp_path):
    import json

    from PIL import Image

    from scale.data.records import read_records
    from scale.data.test_sets import convert_test_set
    from scale.data.visionr1 import filter_visionr1
    from scale.prompts import prompt_messages

    image = Image.new("RGB", (8, 8), "red")
    (tmp_path / "llava_cot_images" / "sqa").mkdir(parents=True)
    image.save(tmp_path / "llava_cot_images" / "sqa" / "1.png")
    response = "<think>Juneau is the capital of Alaska.</think> <answer> Final Answer:B </answer>"
    rows = [{"id": "1", "image": "sqa/1.png", "conversations": [
        {"from": "human", "value": "<image>\nWhat is the capital of Alaska?\nContext: Alaska is a state.\n"
                                   "Options: (A) Seattle (B) Juneau (C) Boise"},
        {"from": "gpt", "value": response}]}]
    (tmp_path / "vision_r1_llava_cot_full.json").write_text(json.dumps(rows))  # its path lacks llava_cot_images/
    filter_visionr1(tmp_path, {"scienceqa": ["sqa"]}, annotation_files=["vision_r1_llava_cot_full.json"],
                    out_dirs={"scienceqa": tmp_path / "train"})
    convert_test_set("scienceqa", [{"image": image, "question": "What is the capital of Alaska?",
                                    "choices": ["Seattle", "Juneau", "Boise"], "answer": 1,
                                    "hint": "Alaska is a state."}], tmp_path / "test")
    trained = read_records(tmp_path / "train" / "train.jsonl")[0]
    tested = read_records(tmp_path / "test" / "test.jsonl")[0]
    assert prompt_messages(trained) == prompt_messages(tested)
    assert (trained["answer"], trained["qtype"]) == (tested["answer"], tested["qtype"]) == ("B", "multiple_choice")


@pytest.mark.parametrize("question,stem,choices", [
    ("<image>\nWhich is iron?\nOptions:\nA. wood\nB. iron", "Which is iron?", ["wood", "iron"]),
    ("Capital?\nContext: N/A\nOptions: (A) Seattle (B) Juneau", "Capital?", ["Seattle", "Juneau"]),
    ("Which?\nContext: A hint.\nOptions: (A) x (B) y (C) z", "Context: A hint.\nWhich?", ["x", "y", "z"]),
    ("Bus colour?\nA. blue\nB. green\nAnswer with the option's letter from the given choices directly.",
     "Bus colour?", ["blue", "green"]),
    ("Which?\n(A) x\n(B) y", "Which?", ["x", "y"]),
    ("How many?", "How many?", None),
    ("Steps:\nA. first", "Steps:\nA. first", None),
])
def test_every_option_layout_of_the_corpus_is_read(question, stem, choices):
    from scale.data.visionr1 import split_question

    assert split_question(question) == (stem, choices)


def test_a_bare_final_answer_is_wrapped_and_counted(tmp_path):
    from scale.data.visionr1 import canonical_response

    assert canonical_response("<think>x</think>\nFinal Answer:option B") == (
        "<think>x</think>\n<answer>Final Answer:option B</answer>", True)
    assert canonical_response("<think>x</think> <answer> Final Answer:B </answer>")[1] is False
    assert canonical_response("<think>x</think> B")[1] is False  # no final answer: left to be dropped


def test_the_grid_enumerates_each_run_once():
    from scale.grid import all_metrics, tables, trained_cells

    config = load_config(REPO / "configs" / "paper.yaml")
    cells = trained_cells(config)
    # 4 variants x 3 models + the FW pair + the online-weighted pair + Table 5's two losses (Qwen2.5-VL), 2 datasets
    assert len(cells) == len(set(cells)) == (4 * 3 + 2 + 2 + 2) * 2
    assert tables(config) == ["table1", "table2", "table3", "table4", "table5"]
    assert len(all_metrics(config)) == len(cells) + 3 * 2
