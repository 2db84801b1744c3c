# Datasets: synthetic splits (embedded default), or the Vision-R1 subsets and the real
# test sets (paper scale). Downloads run on the login node (compute nodes may be offline).


if TINY:

    rule synthesize_split:
        output:
            records=f"{R}/data/{{dataset}}/{{split}}.jsonl",
            images=directory(f"{R}/data/{{dataset}}/images/{{split}}"),
        log:
            f"{R}/logs/synthesize/{{dataset}}-{{split}}.log",
        benchmark:
            f"{R}/benchmarks/synthesize/{{dataset}}-{{split}}.tsv"
        conda:
            "../envs/train.yaml"
        params:
            settings=dataset_settings,
            dataset_dir=f"{R}/data/{{dataset}}",
        shell:
            "scale synth --dataset {wildcards.dataset} --split {wildcards.split} "
            "--settings {params.settings:q} --out {params.dataset_dir} > {log} 2>&1"

else:

    localrules:
        download_visionr1,
        fetch_test_set,

    rule download_visionr1:
        output:
            annotations=visionr1_annotation_files(),
        log:
            f"{R}/logs/download/visionr1.log",
        conda:
            "../envs/train.yaml"
        params:
            repo_id=config["data"]["visionr1"].get("repo_id", "Osilly/Vision-R1-cold"),
            root=output_dir,
            stand_in=stand_in("visionr1"),
        shell:
            "HF_HUB_OFFLINE=0 HF_DATASETS_OFFLINE=0 scale download-visionr1 --repo-id {params.repo_id} --stand-in {params.stand_in:q} "
            "--out {params.root} > {log} 2>&1"

    rule fetch_test_set:
        output:
            directory(f"{R}/hub/test_sets/{{dataset}}"),
        log:
            f"{R}/logs/download/test_set-{{dataset}}.log",
        conda:
            "../envs/train.yaml"
        params:
            settings=test_source_settings,
            stand_in=stand_in("test_sets"),
        shell:
            "HF_HUB_OFFLINE=0 HF_DATASETS_OFFLINE=0 scale fetch-test-set --dataset {wildcards.dataset} --spec {params.settings:q} "
            "--stand-in {params.stand_in:q} --out {output} > {log} 2>&1"

    rule prepare_train_set:
        input:
            annotations=visionr1_annotation_files(),
        output:
            records=f"{R}/data/{{dataset}}/train.jsonl",
            images=directory(f"{R}/data/{{dataset}}/images/train"),
            report=f"{R}/data/{{dataset}}/filter_report.json",
        log:
            f"{R}/logs/prepare_train/{{dataset}}.log",
        benchmark:
            f"{R}/benchmarks/prepare_train/{{dataset}}.tsv"
        conda:
            "../envs/train.yaml"
        resources:
            mem_mb=16000,
        params:
            settings=visionr1_settings,
            dataset_dir=f"{R}/data/{{dataset}}",
        shell:
            "scale prepare-visionr1 --dataset {wildcards.dataset} --spec {params.settings:q} "
            "--out {params.dataset_dir} > {log} 2>&1"

    rule prepare_test_set:
        input:
            fetched_test_set,
        output:
            records=f"{R}/data/{{dataset}}/test.jsonl",
            images=directory(f"{R}/data/{{dataset}}/images/test"),
        log:
            f"{R}/logs/prepare_test/{{dataset}}.log",
        conda:
            "../envs/train.yaml"
        params:
            dataset_dir=f"{R}/data/{{dataset}}",
        shell:
            "scale prepare-test --dataset {wildcards.dataset} --source {input} "
            "--out {params.dataset_dir} > {log} 2>&1"


rule token_stats:
    input:
        train=train_file,
        tokenizer=base_model_input,
    output:
        f"{R}/data/{{dataset}}/stats/{{model}}.json",
    log:
        f"{R}/logs/stats/{{dataset}}-{{model}}.log",
    conda:
        "../envs/train.yaml"
    shell:
        "scale stats --train {input.train} --tokenizer {input.tokenizer} --out {output} > {log} 2>&1"
