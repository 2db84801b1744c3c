"""Run by ``tests/test_vllm.py`` with the vLLM environment's Python: GRPO with vLLM colocated, then every
weight vLLM holds one to one is read back and compared with the trained policy's.

    python tests/vllm_sync_check.py MODEL_DIR TRAIN_JSONL OUT_DIR   → one JSON line on stdout
"""

import json
import sys


def main(model_dir: str, train: str, out: str) -> None:
    import torch

    from scale.models.families import load_model
    from scale.models.stored_layout import StoredNames
    from scale.rewards import completion_text
    from scale.train import grpo

    # a stand-in's completions barely differ in the paper's rewards: reward their lengths, so weights move
    grpo.format_reward_func = lambda completions, **kw: [float(len(completion_text(c)) % 5) for c in completions]
    trainers = []
    trainer_class = grpo.grpo_trainer_class

    def recording_trainer_class():
        class Recording(trainer_class()):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                trainers.append(self)

        return Recording

    grpo.grpo_trainer_class = recording_trainer_class
    training = {"max_steps": 2, "per_device_train_batch_size": 4, "num_generations": 4, "max_completion_length": 8,
                "learning_rate": 1e-2, "logging_steps": 1, "save_steps": 1000, "disable_tqdm": True, "bf16": False}
    summary = grpo.train_grpo(model_dir, train, out, training=training, use_vllm=True, seed=0)
    trainer = trainers[0]
    trainer.vllm_generation.sync_weights()  # what every step's generation starts with: the policy as it is now
    engine_model = trainer.vllm_generation.llm.llm_engine.model_executor.driver_worker.model_runner.model
    held = dict(engine_model.named_parameters())
    stored, start = StoredNames(trainer.model), dict(load_model(model_dir).named_parameters())
    compared, moved, different = [], [], []
    for name, weight in trainer.model.named_parameters():
        engine_name = engine_model.hf_to_vllm_mapper._map_name(stored(name))
        if engine_name not in held or held[engine_name].shape != weight.shape:
            continue  # fused in vLLM (q/k/v, gate/up): no one-to-one counterpart
        compared.append(engine_name)
        # vLLM holds them in its own dtype (bf16 on a CPU: TRL leaves vLLM's choice): the policy's, cast
        if not torch.equal(held[engine_name].detach(), weight.detach().to(held[engine_name].dtype)):
            gap = (held[engine_name].detach().float() - weight.detach().float()).abs().max().item()
            different.append(f"{engine_name} ({held[engine_name].dtype}, max difference {gap:.3g})")
        if not torch.equal(start[name], weight.detach()):
            moved.append(engine_name)
    print(json.dumps({"weights_moved": summary["weights_moved"], "compared": compared, "moved": moved,
                      "different": different}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
