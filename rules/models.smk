# Base models: tiny offline builds, warmed up on direct answers; or hub checkpoints, fetched on the
# login node (the rehearsal builds hub-shaped stand-ins there instead); or real weights an installed
# package holds, converted once into the folder a download would fill.


localrules:
    fetch_checkpoint,


rule fetch_checkpoint:
    input:
        vocabulary=stand_in_vocabulary,
    output:
        directory(fetched_checkpoint("{model}")),
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


# a rehearsal's stand-in, warmed up on the paper's response format (a real checkpoint brings it from pretraining)
rule warm_up_stand_in:
    input:
        layout.stand_in_dir(R, "{model}"),
    output:
        directory(layout.checkpoint_dir(R, "{model}")),
    log:
        layout.log_file(R, "stand_in", "{model}"),
    benchmark:
        layout.timing_file(R, "stand_in", "{model}")
    wildcard_constraints:
        model=one_of(DOWNLOADED if STAND_IN_WARMUP else []),
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        spec=as_json(STAND_IN_WARMUP),
    shell:
        "OMP_NUM_THREADS={threads} scale warm-up-stand-in --model-dir {input} --spec {params.spec:q} "
        "--out {output} > {log} 2>&1"


# No input: the GGUF file is named by its package, version and sha256 (params.spec, which the conversion checks),
# never by its path or time, which change with every environment it is installed in and would rerun the
# conversion and everything after it for the same bytes. A missing package stops the dry run (PACKAGED).
rule convert_checkpoint:
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
        "OMP_NUM_THREADS={threads} scale convert-checkpoint --checkpoint {params.checkpoint} "
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
    wildcard_constraints:
        model=one_of(TINY),
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
    wildcard_constraints:
        model=one_of(TINY),
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


# An assembled VLM (models/{model}/assemble): SmolVLM's architecture around the converted language model,
# a seeded tower, then the alignment stage on described pictures, the language model frozen: that is Base.
rule describe_pictures:
    output:
        layout.captions_file(R, "{model}", "{caption_split}"),
    log:
        layout.log_file(R, "captions", "{model}-{caption_split}"),
    wildcard_constraints:
        model=one_of(ASSEMBLED),
        caption_split="align|probe",
    conda:
        "../envs/train.yaml"
    params:
        n=lambda w: assembly(w)["captions"][w.caption_split],
        seed=lambda w: assembly(w)["captions"]["seed"],
        image_size=lambda w: assembly(w)["vision"]["image_size"],
        out=output_dir,
    shell:
        "scale captions --split {wildcards.caption_split} --n {params.n} --seed {params.seed} "
        "--image-size {params.image_size} --out {params.out} > {log} 2>&1"


rule assemble_vlm:
    input:
        language_model=layout.checkpoint_dir(R, "{model}"),
    output:
        directory(layout.init_model_dir(R, "{model}")),
    log:
        layout.log_file(R, "assemble", "{model}"),
    benchmark:
        layout.timing_file(R, "assemble", "{model}")
    wildcard_constraints:
        model=one_of(ASSEMBLED),
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        vision=lambda w: as_json(assembly(w)["vision"]),
        seed=lambda w: assembly(w)["seed"],
    shell:
        "OMP_NUM_THREADS={threads} scale assemble-vlm --language-model {input.language_model} "
        "--vision {params.vision:q} --seed {params.seed} --out {output} > {log} 2>&1"


rule align_vlm:
    input:
        init=layout.init_model_dir(R, "{model}"),
        train=layout.captions_file(R, "{model}", "align"),
    output:
        model=directory(layout.base_model_dir(R, "{model}")),
        log_jsonl=layout.train_log(layout.base_run_dir(R, "{model}")),
        summary=layout.run_summary(layout.base_run_dir(R, "{model}")),
    log:
        layout.log_file(R, "align", "{model}"),
    benchmark:
        layout.timing_file(R, "align", "{model}")
    wildcard_constraints:
        model=one_of(ASSEMBLED),
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=6000,
    params:
        settings=lambda w: as_json(assembly(w)["align"]),
        run_dir=output_dir,
    shell:
        "OMP_NUM_THREADS={threads} scale align-vlm --model-dir {input.init} --train {input.train} "
        "--spec {params.settings:q} --out {params.run_dir} > {log} 2>&1"


rule probe_perception:
    input:
        model=layout.base_model_dir(R, "{model}"),
        probe=layout.captions_file(R, "{model}", "probe"),
    output:
        layout.perception_file(R, "{model}"),
    log:
        layout.log_file(R, "perception", "{model}"),
    benchmark:
        layout.timing_file(R, "perception", "{model}")
    wildcard_constraints:
        model=one_of(ASSEMBLED),
    conda:
        "../envs/eval.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    shell:
        "OMP_NUM_THREADS={threads} scale perception --model-dir {input.model} --probe {input.probe} "
        "--out {output} > {log} 2>&1"
