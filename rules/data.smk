# Datasets: synthetic splits (embedded default) or Vision-R1 and the real test sets (paper scale).


rule synthesize_split:
    output:
        records=f"{R}/data/{{dataset}}/{{split}}.jsonl",
        images=directory(f"{R}/data/{{dataset}}/images/{{split}}"),
    params:
        settings=dataset_settings,
        dataset_dir=f"{R}/data/{{dataset}}",
    log:
        f"{R}/logs/synthesize/{{dataset}}-{{split}}.log",
    benchmark:
        f"{R}/benchmarks/synthesize/{{dataset}}-{{split}}.tsv"
    conda:
        "../envs/train.yaml"
    shell:
        "scale synth --dataset {wildcards.dataset} --split {wildcards.split} "
        "--settings {params.settings:q} --out {params.dataset_dir} > {log} 2>&1"
