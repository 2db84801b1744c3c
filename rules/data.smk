# Datasets: synthetic splits (embedded defaults), or the Vision-R1 subsets (VLM paper config) or
# OpenR1-Math (text paper config) and the real test sets. Downloads run on the login node (compute
# nodes may be offline).


if SYNTHETIC_DATA:

    rule synthesize_split:
        output:
            records=layout.data_file(R, "{dataset}", "{split}"),
            images=directory(layout.images_dir(R, "{dataset}", "{split}")),
        log:
            layout.log_file(R, "synthesize", "{dataset}-{split}"),
        benchmark:
            layout.timing_file(R, "synthesize", "{dataset}-{split}")
        conda:
            "../envs/train.yaml"
        params:
            settings=dataset_settings,
            dataset_dir=output_dir,
        shell:
            "scale synth --dataset {wildcards.dataset} --split {wildcards.split} "
            "--settings {params.settings:q} --out {params.dataset_dir} > {log} 2>&1"

else:

    localrules:
        fetch_test_set,

    rule fetch_test_set:
        output:
            directory(layout.test_source_dir(R, "{dataset}")),
        log:
            layout.log_file(R, "download", "test_set-{dataset}"),
        conda:
            "../envs/train.yaml"
        params:
            settings=test_source_settings,
            stand_in=stand_in("test_sets"),
        shell:
            "hub_online scale fetch-test-set --dataset {wildcards.dataset} --spec {params.settings:q} "
            "--stand-in {params.stand_in:q} --out {output} > {log} 2>&1"

    rule prepare_test_set:
        input:
            fetched_test_set,
        output:
            records=layout.data_file(R, "{dataset}", "test"),
            images=directory(layout.images_dir(R, "{dataset}", "test")),
        log:
            layout.log_file(R, "prepare_test", "{dataset}"),
        conda:
            "../envs/train.yaml"
        params:
            dataset_dir=output_dir,
        shell:
            "scale prepare-test --dataset {wildcards.dataset} --source {input} "
            "--out {params.dataset_dir} > {log} 2>&1"

    # a paper config's training set: its corpus (downloaded below) filtered to the dataset's subsets
    rule prepare_train_set:
        input:
            corpus=corpus_download,
        output:
            records=layout.data_file(R, "{dataset}", "train"),
            images=directory(layout.images_dir(R, "{dataset}", "train")),
            report=layout.filter_report(R, "{dataset}"),
        log:
            layout.log_file(R, "prepare_train", "{dataset}"),
        benchmark:
            layout.timing_file(R, "prepare_train", "{dataset}")
        conda:
            "../envs/train.yaml"
        resources:
            mem_mb=16000,
        params:
            corpus=DATA_SOURCE,
            settings=corpus_settings,
            dataset_dir=output_dir,
        shell:
            "scale prepare-{params.corpus} --dataset {wildcards.dataset} --spec {params.settings:q} "
            "--out {params.dataset_dir} > {log} 2>&1"


if DATA_SOURCE == "visionr1":

    localrules:
        download_visionr1,

    rule download_visionr1:
        output:
            annotations=scale_config.visionr1_annotation_files(config),
        log:
            layout.log_file(R, "download", "visionr1"),
        conda:
            "../envs/train.yaml"
        params:
            repo_id=config["data"]["visionr1"].get("repo_id", "Osilly/Vision-R1-cold"),
            root=output_dir,
            stand_in=stand_in("visionr1"),
        shell:
            "hub_online scale download-visionr1 --repo-id {params.repo_id} --stand-in {params.stand_in:q} "
            "--out {params.root} > {log} 2>&1"


if DATA_SOURCE == "openr1":

    localrules:
        download_openr1,

    rule download_openr1:
        output:
            directory(config["data"]["openr1"]["root"]),
        log:
            layout.log_file(R, "download", "openr1"),
        conda:
            "../envs/train.yaml"
        params:
            repo_id=config["data"]["openr1"].get("repo_id", "open-r1/OpenR1-Math-220k"),
            name=config["data"]["openr1"].get("name", "default"),
            split=config["data"]["openr1"].get("split", "train"),
            stand_in=stand_in("openr1"),
        shell:
            "hub_online scale download-openr1 --repo-id {params.repo_id} --name {params.name} "
            "--split {params.split} --stand-in {params.stand_in:q} --out {output} > {log} 2>&1"


rule token_stats:
    input:
        train=train_file,
        tokenizer=base_model_input,
    output:
        layout.stats_file(R, "{dataset}", "{model}"),
    log:
        layout.log_file(R, "stats", "{dataset}-{model}"),
    conda:
        "../envs/train.yaml"
    shell:
        "scale stats --train {input.train} --tokenizer {input.tokenizer} --out {output} > {log} 2>&1"
