# Base models: tiny offline builds, warmed up on direct answers; or hub checkpoints, fetched on the
# login node (the rehearsal builds hub-shaped stand-ins there instead); or real weights an installed
# package holds, converted once into the folder a download would fill.


localrules:
    fetch_checkpoint,


rule fetch_checkpoint:
    input:
        vocabulary=stand_in_vocabulary,
    output:
        directory(layout.checkpoint_dir(R, "{model}")),
    log:
        layout.log_file(R, "download", "checkpoint-{model}"),
    wildcard_constraints:
        model=one_of(DOWNLOADED),
    conda:
        "../envs/train.yaml"
    params:
        checkpoint=model_checkpoint,
        family=model_family,
        stand_in=stand_in("models"),
    shell:
        "hub_online scale fetch-checkpoint --checkpoint {params.checkpoint} --family {params.family} "
        "--stand-in {params.stand_in:q} --out {output} > {log} 2>&1"


rule convert_checkpoint:
    input:
        gguf=packaged_gguf,
    output:
        directory(layout.checkpoint_dir(R, "{model}")),
    log:
        layout.log_file(R, "convert", "checkpoint-{model}"),
    benchmark:
        layout.timing_file(R, "convert", "checkpoint-{model}")
    wildcard_constraints:
        model=one_of(PACKAGED),
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        checkpoint=model_checkpoint,
        spec=packaged_spec,
    shell:
        "OMP_NUM_THREADS={threads} scale convert-checkpoint --gguf {input.gguf} --checkpoint {params.checkpoint} "
        "--spec {params.spec:q} --out {output} > {log} 2>&1"


rule build_tiny_model:
    input:
        corpus=corpus_files,
    output:
        directory(layout.init_model_dir(R, "{model}")),
    log:
        layout.log_file(R, "build_tiny", "{model}"),
    benchmark:
        layout.timing_file(R, "build_tiny", "{model}")
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
        init=layout.init_model_dir(R, "{model}"),
        train=warmup_files,
    output:
        model=directory(layout.base_model_dir(R, "{model}")),
        log_jsonl=layout.train_log(layout.base_run_dir(R, "{model}")),
        summary=layout.run_summary(layout.base_run_dir(R, "{model}")),
    log:
        layout.log_file(R, "warmup", "{model}"),
    benchmark:
        layout.timing_file(R, "warmup", "{model}")
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        settings=as_json(config.get("base", {}).get("warmup", {})),
        run_dir=output_dir,
    shell:
        "OMP_NUM_THREADS={threads} scale warmup --model-dir {input.init} --train {input.train} "
        "--spec {params.settings:q} --out {params.run_dir} > {log} 2>&1"
