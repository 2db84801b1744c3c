# Base models: tiny offline builds, warmed up on direct answers; or hub checkpoints, fetched on the
# login node (the rehearsal builds hub-shaped stand-ins there instead).


localrules:
    fetch_checkpoint,


rule fetch_checkpoint:
    output:
        directory(f"{R}/hub/checkpoints/{{model}}"),
    log:
        f"{R}/logs/download/checkpoint-{{model}}.log",
    conda:
        "../envs/train.yaml"
    params:
        checkpoint=model_checkpoint,
        family=model_family,
        stand_in=stand_in("models"),
    shell:
        "HF_HUB_OFFLINE=0 HF_DATASETS_OFFLINE=0 scale fetch-checkpoint --checkpoint {params.checkpoint} --family {params.family} "
        "--stand-in {params.stand_in:q} --out {output} > {log} 2>&1"


rule build_tiny_model:
    input:
        corpus=corpus_files,
    output:
        directory(f"{R}/models/{{model}}/init"),
    log:
        f"{R}/logs/build_tiny/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/build_tiny/{{model}}.tsv"
    conda:
        "../envs/train.yaml"
    params:
        family=model_family,
        sizes=tiny_sizes,
    shell:
        "scale build-tiny --family {params.family} --corpus {input.corpus} "
        "--sizes {params.sizes:q} --out {output} > {log} 2>&1"


rule warmup_base_model:
    input:
        init=f"{R}/models/{{model}}/init",
        train=warmup_files,
    output:
        model=directory(f"{R}/models/{{model}}/base/model"),
        log_jsonl=f"{R}/models/{{model}}/base/train_log.jsonl",
        summary=f"{R}/models/{{model}}/base/run.json",
    log:
        f"{R}/logs/warmup/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/warmup/{{model}}.tsv"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        settings=as_json(config.get("base", {}).get("warmup", {})),
        run_dir=f"{R}/models/{{model}}/base",
    shell:
        "OMP_NUM_THREADS={threads} scale warmup --model-dir {input.init} --train {input.train} "
        "--spec {params.settings:q} --out {params.run_dir} > {log} 2>&1"
