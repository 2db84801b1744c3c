# Training runs: SFT variants from the base model, GRPO variants from their SFT variant's model. One rule's
# shape: the GRPO rule changes only its names, the model it starts from and its environment.


rule train_sft:
    input:
        start=base_model_input,
        train=train_file,
    output:
        **run_outputs("sft_variant"),
    log:
        run_log("sft", "sft_variant"),
    benchmark:
        run_timing("sft_variant")
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=6000,
    params:
        stage="sft",
        settings=sft_settings,
        run_dir=output_dir,
        launcher=launcher("sft"),
        env=software_env("sft"),
    shell:
        "{params.env}OMP_NUM_THREADS={threads} {params.launcher} train-{params.stage} --model-dir {input.start} "
        "--train {input.train} --spec {params.settings:q} --seed {wildcards.seed} --out {params.run_dir} > {log} 2>&1"


use rule train_sft as train_grpo with:
    input:
        start=grpo_init_model,
        train=train_file,
    output:
        **run_outputs("grpo_variant"),
    log:
        run_log("grpo", "grpo_variant"),
    benchmark:
        run_timing("grpo_variant")
    conda:
        "../envs/grpo.yaml"
    params:
        stage="grpo",
        settings=grpo_settings,
        run_dir=output_dir,
        launcher=launcher("grpo"),
        env=software_env("grpo"),
