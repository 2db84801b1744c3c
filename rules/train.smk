# Training runs: SFT variants from the base model, GRPO variants from their SFT variant's model.


rule train_sft:
    input:
        base=base_model_input,
        train=train_file,
    output:
        model=directory(
            layout.run_model_dir(R, "{model}", "{dataset}", "{sft_variant}", "{seed}")
        ),
        log_jsonl=layout.train_log(
            layout.run_dir(R, "{model}", "{dataset}", "{sft_variant}", "{seed}")
        ),
        summary=layout.run_summary(
            layout.run_dir(R, "{model}", "{dataset}", "{sft_variant}", "{seed}")
        ),
    log:
        layout.log_file(
            R,
            "train_sft",
            layout.run_name("{model}", "{dataset}", "{sft_variant}", "{seed}"),
        ),
    benchmark:
        layout.timing_file(
            R,
            "train",
            layout.run_name("{model}", "{dataset}", "{sft_variant}", "{seed}"),
        )
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=6000,
    params:
        settings=sft_settings,
        run_dir=output_dir,
        launcher=launcher("sft"),
    shell:
        "OMP_NUM_THREADS={threads} {params.launcher} train-sft --model-dir {input.base} --train {input.train} "
        "--spec {params.settings:q} --seed {wildcards.seed} --out {params.run_dir} > {log} 2>&1"


rule train_grpo:
    input:
        init=grpo_init_model,
        train=train_file,
    output:
        model=directory(
            layout.run_model_dir(R, "{model}", "{dataset}", "{grpo_variant}", "{seed}")
        ),
        log_jsonl=layout.train_log(
            layout.run_dir(R, "{model}", "{dataset}", "{grpo_variant}", "{seed}")
        ),
        summary=layout.run_summary(
            layout.run_dir(R, "{model}", "{dataset}", "{grpo_variant}", "{seed}")
        ),
    log:
        layout.log_file(
            R,
            "train_grpo",
            layout.run_name("{model}", "{dataset}", "{grpo_variant}", "{seed}"),
        ),
    benchmark:
        layout.timing_file(
            R,
            "train",
            layout.run_name("{model}", "{dataset}", "{grpo_variant}", "{seed}"),
        )
    conda:
        "../envs/grpo.yaml"
    threads: 1
    resources:
        mem_mb=6000,
    params:
        settings=grpo_settings,
        run_dir=output_dir,
        launcher=launcher("grpo"),
        env=software_env("grpo"),
    shell:
        "{params.env}OMP_NUM_THREADS={threads} {params.launcher} train-grpo --model-dir {input.init} --train {input.train} "
        "--spec {params.settings:q} --seed {wildcards.seed} --out {params.run_dir} > {log} 2>&1"
