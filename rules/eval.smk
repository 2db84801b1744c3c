# Evaluation: greedy generation on the test set, then scoring into metrics.json.


rule evaluate_base:
    input:
        model=base_model_input,
        test=test_file,
    output:
        f"{R}/eval/{{model}}/{{dataset}}/base/predictions.jsonl",
    log:
        f"{R}/logs/evaluate/{{model}}-{{dataset}}-base.log",
    benchmark:
        f"{R}/benchmarks/evaluate/{{model}}-{{dataset}}-base.tsv"
    conda:
        "../envs/eval.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        settings=eval_settings,
        env=software_env("eval"),
    shell:
        "{params.env}OMP_NUM_THREADS={threads} scale evaluate --model-dir {input.model} --test {input.test} "
        "--spec {params.settings:q} --out {output} > {log} 2>&1"


rule evaluate_trained:
    input:
        model=trained_model,
        test=test_file,
    output:
        f"{R}/eval/{{model}}/{{dataset}}/{{variant}}/seed{{seed}}/predictions.jsonl",
    log:
        f"{R}/logs/evaluate/{{model}}-{{dataset}}-{{variant}}-seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate/{{model}}-{{dataset}}-{{variant}}-seed{{seed}}.tsv"
    conda:
        "../envs/eval.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        settings=eval_settings,
        env=software_env("eval"),
    shell:
        "{params.env}OMP_NUM_THREADS={threads} scale evaluate --model-dir {input.model} --test {input.test} "
        "--spec {params.settings:q} --out {output} > {log} 2>&1"


rule score:
    input:
        f"{R}/eval/{{cell}}/predictions.jsonl",
    output:
        f"{R}/eval/{{cell}}/metrics.json",
    log:
        f"{R}/logs/score/{{cell}}.log",
    conda:
        "../envs/report.yaml"
    params:
        bootstrap=scale_config.eval_spec(config)["bootstrap"],
    shell:
        "scale score --predictions {input} --bootstrap {params.bootstrap} --out {output} > {log} 2>&1"


rule chance_level:
    input:
        test_file,
    output:
        f"{R}/data/{{dataset}}/chance.json",
    log:
        f"{R}/logs/chance/{{dataset}}.log",
    conda:
        "../envs/report.yaml"
    shell:
        "scale chance --test {input} --out {output} > {log} 2>&1"
