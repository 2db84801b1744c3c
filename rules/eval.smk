# Evaluation: greedy generation on the test set, then scoring into metrics.json.


rule evaluate_base:
    input:
        model=base_model_input,
        test=test_file,
    output:
        layout.predictions_file(R, "{model}", "{dataset}", "base"),
    log:
        layout.log_file(R, "evaluate", "{model}-{dataset}-base"),
    benchmark:
        layout.timing_file(R, "evaluate", "{model}-{dataset}-base")
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


use rule evaluate_base as evaluate_trained with:
    input:
        model=trained_model,
        test=test_file,
    output:
        layout.predictions_file(R, "{model}", "{dataset}", "{variant}", "{seed}"),
    log:
        layout.log_file(
            R,
            "evaluate",
            layout.run_name("{model}", "{dataset}", "{variant}", "{seed}"),
        ),
    benchmark:
        layout.timing_file(
            R,
            "evaluate",
            layout.run_name("{model}", "{dataset}", "{variant}", "{seed}"),
        )


rule score:
    input:
        layout.cell_file(R, "{cell}", "predictions.jsonl"),
    output:
        layout.cell_file(R, "{cell}", "metrics.json"),
    log:
        layout.log_file(R, "score", "{cell}"),
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
        layout.chance_file(R, "{dataset}"),
    log:
        layout.log_file(R, "chance", "{dataset}"),
    conda:
        "../envs/report.yaml"
    shell:
        "scale chance --test {input} --out {output} > {log} 2>&1"
