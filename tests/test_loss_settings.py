"""scale.loss_settings: SCALe's settings travel as one dataclass from the config to the trainer, each default and
each rule written once, so config validation and the trainer refuse the same settings with the same words."""

import dataclasses

import pytest

from scale.config import schema, sft_spec
from scale.loss_settings import LossSettingError, LossSettings
from scale.settings import SettingError, check_settings
from scale.variants import SFT_VARIANTS

BAD = [
    ({"loss": "segment"}, "loss", "loss must be one of"),
    ({"loss": "fixed", "w_think": {"start": 2.0, "end": 1.0}}, "w_think", "the fixed-weight loss needs constant"),
    ({"loss": "scale", "w_answer": -1.0}, "w_answer", "finite number >= 0"),
    ({"loss": "scale", "w_think": {"start": "2"}}, "w_think/start", "is not a number"),
    ({"loss": "ce", "weighting": {"rule": "dwa"}}, "weighting", "needs loss: scale"),
    ({"loss": "scale", "weighting": {"rule": "dwa", "temperature": -1.0}}, "weighting", "temperature must be"),
]


@pytest.mark.parametrize("settings, key, message", BAD, ids=[b[1] + "-" + b[2][:12] for b in BAD])
def test_validation_and_the_trainer_refuse_the_same_settings_by_one_check(settings, key, message):
    from scale.train.sft import ScaleSFTConfig

    with pytest.raises(LossSettingError, match=message) as raised:
        LossSettings(**settings)
    assert raised.value.key == key
    config = {"sft": {"training": {}}, "grpo": {"training": {}}, "variants": {"scale_sft": settings}}
    with pytest.raises(SettingError, match=f"config error at variants/scale_sft/{key}: .*{message}"):
        check_settings(config)
    with pytest.raises(ValueError, match=message):
        ScaleSFTConfig(output_dir="unused", use_cpu=True, bf16=False, report_to="none", **settings)


def test_the_trainer_config_is_the_settings_with_trls_fields():
    from trl import SFTConfig

    from scale.train.sft import ScaleSFTConfig

    args = ScaleSFTConfig(output_dir="unused", use_cpu=True, bf16=False, report_to="none", loss="scale",
                          w_think={"start": 2.0, "end": 1.0, "kind": "cosine"})
    assert isinstance(args, SFTConfig) and isinstance(args, LossSettings)
    assert {f.name for f in dataclasses.fields(LossSettings)} <= {f.name for f in dataclasses.fields(args)}
    assert args.answer_schedule.kind == "constant" and args.w_answer == LossSettings().w_answer


def test_a_runs_spec_is_the_trainers_keyword_arguments_with_the_settings_defaults():
    """What a rule passes the job: the variant's settings over the dataclass's defaults (written nowhere else),
    then the stage's training and LoRA; an online weighting only where a variant sets one."""
    config = {"sft": {"training": {"max_steps": 2}}, "variants": {"sft": {"loss": "ce"}}}
    spec = sft_spec(config, "sft")
    defaults = LossSettings()
    assert spec == {"loss": "ce", "w_think": defaults.w_think, "w_answer": defaults.w_answer,
                    "training": {"max_steps": 2}, "lora": None}
    assert set(sft_spec(config, "auto_sft")) - set(spec) == {"weighting"}


def test_the_schema_takes_an_sft_variants_keys_from_the_settings():
    patterns = schema()["properties"]["variants"]["patternProperties"]
    sft = next(spec for pattern, spec in patterns.items() if set(pattern.strip("^()$").split("|")) == set(SFT_VARIANTS))
    assert set(sft["properties"]) == {*LossSettings.names(), "training"}
    assert sft["properties"]["loss"]["enum"] == list(LossSettings.schema_properties()["loss"]["enum"])
