# Training runs: SFT variants from the base model, GRPO variants from their SFT variant's model.


rule train_sft:
    input:
        base=base_model_input,
        train=train_file,
    output:
        model=directory(
            f"{R}/runs/{{model}}/{{dataset}}/{{sft_variant}}/seed{{seed}}/model"
        ),
        log_jsonl=f"{R}/runs/{{model}}/{{dataset}}/{{sft_variant}}/seed{{seed}}/train_log.jsonl",
        summary=f"{R}/runs/{{model}}/{{dataset}}/{{sft_variant}}/seed{{seed}}/run.json",
    log:
        f"{R}/logs/train_sft/{{model}}-{{dataset}}-{{sft_variant}}-seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{model}}-{{dataset}}-{{sft_variant}}-seed{{seed}}.tsv"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=6000,
    params:
        settings=sft_settings,
        run_dir=f"{R}/runs/{{model}}/{{dataset}}/{{sft_variant}}/seed{{seed}}",
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
            f"{R}/runs/{{model}}/{{dataset}}/{{grpo_variant}}/seed{{seed}}/model"
        ),
        log_jsonl=f"{R}/runs/{{model}}/{{dataset}}/{{grpo_variant}}/seed{{seed}}/train_log.jsonl",
        summary=f"{R}/runs/{{model}}/{{dataset}}/{{grpo_variant}}/seed{{seed}}/run.json",
    log:
        f"{R}/logs/train_grpo/{{model}}-{{dataset}}-{{grpo_variant}}-seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{model}}-{{dataset}}-{{grpo_variant}}-seed{{seed}}.tsv"
    conda:
        "../envs/grpo.yaml"
    threads: 1
    resources:
        mem_mb=6000,
    params:
        settings=grpo_settings,
        run_dir=f"{R}/runs/{{model}}/{{dataset}}/{{grpo_variant}}/seed{{seed}}",
        launcher=launcher("grpo"),
        env=software_env("grpo"),
    shell:
        "{params.env}OMP_NUM_THREADS={threads} {params.launcher} train-grpo --model-dir {input.init} --train {input.train} "
        "--spec {params.settings:q} --seed {wildcards.seed} --out {params.run_dir} > {log} 2>&1"
